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

/// How the difficulty follows a source's recent volume (ABUSE-2): the base for its first few
/// challenges, then `bits_per_doubling` more zero bits each time its count doubles beyond the
/// free allowance (rounded up), up to `max` (a `max` at or below the base keeps it at the base). The address
/// and its network each have an allowance; the harder of the two applies. At two bits per
/// doubling the work grows with the square of the volume, so a source's total cost grows with
/// its cube while one person's first puzzles stay at the base.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Curve {
    pub base: u32,
    pub max: u32,
    pub free_per_address: i64,
    pub free_per_network: i64,
    pub bits_per_doubling: u32,
}

impl Curve {
    /// The difficulty of a challenge that is the `by_address`-th from its address and the
    /// `by_network`-th from its network in the current window.
    pub fn difficulty(&self, by_address: i64, by_network: i64) -> u32 {
        let extra = |count: i64, free: i64| -> u32 {
            let free = free.max(1);
            if count <= free {
                return 0;
            }
            // log2 of the ratio in f64 (exact at powers of two, total for any i64), rounded up:
            // any step past the allowance costs at least a bit.
            let bits = f64::from(self.bits_per_doubling) * (count as f64 / free as f64).log2();
            bits.ceil().clamp(0.0, f64::from(MAX_DIFFICULTY)) as u32
        };
        let worst = extra(by_address, self.free_per_address).max(extra(by_network, self.free_per_network));
        let ceiling = self.max.max(self.base).min(MAX_DIFFICULTY);
        self.base.saturating_add(worst).min(ceiling)
    }
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

    const CURVE: Curve = Curve { base: 14, max: 28, free_per_address: 4, free_per_network: 64, bits_per_doubling: 2 };

    #[test]
    fn difficulty_rises_by_doubling_and_stays_bounded() {
        let d = |a, n| CURVE.difficulty(a, n);
        // The first four from an address, and the first 64 from its network, cost the base.
        assert_eq!([d(0, 0), d(1, 1), d(4, 4), d(4, 64)], [14, 14, 14, 14]);
        // Two bits per doubling beyond the allowance, and at least one for any step past it.
        assert_eq!([d(5, 5), d(8, 8), d(16, 16), d(32, 32), d(64, 64)], [15, 16, 18, 20, 22]);
        // The 10th, 100th and 1,000th of an hour (docs/captcha.md's cost curve): 2^24 hashes is
        // over a CPU-second natively.
        assert_eq!([d(10, 10), d(100, 100), d(1000, 1000)], [17, 24, 28]);
        // The network's count weighs against its own, larger allowance.
        assert_eq!([d(1, 128), d(1, 256), d(1, 1024)], [16, 18, 22]);
        assert_eq!(d(i64::MAX, i64::MAX), 28);
        assert_eq!(d(i64::MIN, i64::MIN), 14);
        // A cap at or below the base (a test harness's) keeps the base.
        assert_eq!(Curve { max: 10, ..CURVE }.difficulty(1000, 1000), 14);
        assert_eq!(Curve { base: 40, max: 50, ..CURVE }.difficulty(0, 0), MAX_DIFFICULTY);
        assert_eq!(Curve { bits_per_doubling: 1, ..CURVE }.difficulty(100, 0), 19);
        assert_eq!(Curve { free_per_address: 0, ..CURVE }.difficulty(2, 0), 16);
    }

    proptest! {
        #[test]
        fn verify_is_total(challenge in ".{0,64}", nonce in ".{0,40}", d in any::<u32>()) {
            let _ = verify(&challenge, &nonce, d);
        }

        #[test]
        fn difficulty_is_monotone(base in 0u32..24, a in 0i64..1_000_000, b in 0i64..1_000_000, bits in 1u32..4) {
            let curve = Curve { base, max: 30, bits_per_doubling: bits, ..CURVE };
            prop_assert!(curve.difficulty(a, b) <= curve.difficulty(a + 1, b + 1));
            prop_assert!(curve.difficulty(a, b) <= 30 && curve.difficulty(a, b) >= base);
        }
    }
}
