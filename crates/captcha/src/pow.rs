//! Proof of work bound to a challenge (API.md "Captcha"): a decimal nonce such that SHA-256 of
//! `challenge` followed by `nonce` starts with at least `difficulty` zero bits. Costs a script
//! farm CPU per attempt even when it solves the picture; verifying is one hash.

use sha2::{Digest, Sha256};

/// Longest nonce accepted: any u64 in decimal.
pub const MAX_NONCE_LEN: usize = 20;
/// Above this no browser finishes within the challenge's two minutes.
pub const MAX_DIFFICULTY: u32 = 32;

/// Whether `nonce` (decimal digits only) solves `challenge` at `difficulty`.
pub fn verify(challenge: &str, nonce: &str, difficulty: u32) -> bool {
    if nonce.is_empty() || nonce.len() > MAX_NONCE_LEN || !nonce.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let hash = Sha256::new().chain_update(challenge.as_bytes()).chain_update(nonce.as_bytes()).finalize();
    leading_zero_bits(&hash) >= difficulty.min(MAX_DIFFICULTY)
}

/// Zero bits at the start of `bytes`, most significant bit first.
pub fn leading_zero_bits(bytes: &[u8]) -> u32 {
    let mut bits = 0;
    for b in bytes {
        if *b != 0 {
            return bits + b.leading_zeros();
        }
        bits += 8;
    }
    bits
}

/// The smallest nonce that solves the puzzle, trying at most `limit` nonces. Test and benchmark
/// support (the browser does this in a Web Worker).
pub fn solve(challenge: &str, difficulty: u32, limit: u64) -> Option<u64> {
    let prefix = Sha256::new().chain_update(challenge.as_bytes());
    let mut buf = itoa_buf();
    (0..limit).find(|n| {
        let digits = write_decimal(*n, &mut buf);
        leading_zero_bits(&prefix.clone().chain_update(digits).finalize()) >= difficulty
    })
}

fn itoa_buf() -> [u8; MAX_NONCE_LEN] {
    [0; MAX_NONCE_LEN]
}

fn write_decimal(mut n: u64, buf: &mut [u8; MAX_NONCE_LEN]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[i..];
        }
    }
}

/// Difficulty for a source with `address_failures` recent failures from its own address and
/// `network_failures` from its /24 (IPv4) or /64 (IPv6): one bit more per doubling of failures,
/// so a person who misses once or twice never notices, while a farm pays twice the work for each
/// doubling. A network counts a quarter, since many people share one.
pub fn difficulty(base: u32, max: u32, address_failures: i64, network_failures: i64) -> u32 {
    let worst = address_failures.max(network_failures / 4).max(1);
    (base + worst.ilog2()).min(max.max(base)).min(MAX_DIFFICULTY)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_vector() {
        // SHA-256("abc") = ba7816bf…: no leading zero bit.
        assert_eq!(leading_zero_bits(&Sha256::digest(b"abc")), 0);
        assert_eq!(leading_zero_bits(&[0, 0, 0x10, 0xff]), 19);
        assert_eq!(leading_zero_bits(&[0; 4]), 32);
    }

    #[test]
    fn solutions_verify_and_others_do_not() {
        for (i, d) in [0u32, 4, 8, 12].into_iter().enumerate() {
            let challenge = format!("challenge-{i}");
            let Some(n) = solve(&challenge, d, 1 << 24) else {
                panic!("no solution at {d}");
            };
            assert!(verify(&challenge, &n.to_string(), d));
            // solve returns the smallest: every nonce before it fails.
            assert!((0..n).all(|m| !verify(&challenge, &m.to_string(), d)), "difficulty {d}");
        }
        // Leading zeros in the nonce are another string, so another hash; accepted if it solves.
        let n = solve("abc", 12, 1 << 24).unwrap_or(0);
        assert!(verify("abc", &n.to_string(), 12) && !verify("abc", &n.to_string(), 32));
    }

    #[test]
    fn malformed_nonces_fail() {
        for nonce in ["", "-1", "1e3", " 12", "12 ", "0x10", "123456789012345678901", "١٢"] {
            assert!(!verify("c", nonce, 0), "{nonce:?}");
        }
        assert!(verify("c", "0", 0));
    }

    #[test]
    fn difficulty_rises_by_doubling_and_stays_bounded() {
        assert_eq!(difficulty(14, 22, 0, 0), 14);
        assert_eq!(difficulty(14, 22, 1, 3), 14);
        assert_eq!(difficulty(14, 22, 2, 0), 15);
        assert_eq!(difficulty(14, 22, 8, 0), 17);
        assert_eq!(difficulty(14, 22, 0, 32), 17);
        assert_eq!(difficulty(14, 22, i64::MAX, i64::MAX), 22);
        assert_eq!(difficulty(14, 10, 100, 0), 14);
        assert_eq!(difficulty(40, 50, 0, 0), MAX_DIFFICULTY);
    }

    proptest! {
        #[test]
        fn verify_is_total(challenge in ".{0,64}", nonce in ".{0,40}", d in any::<u32>()) {
            let _ = verify(&challenge, &nonce, d);
        }

        #[test]
        fn difficulty_is_monotone(base in 0u32..24, a in 0i64..1_000_000, b in 0i64..1_000_000) {
            prop_assert!(difficulty(base, 24, a, b) <= difficulty(base, 24, a + 1, b + 4));
        }
    }
}
