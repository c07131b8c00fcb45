//! RFC 6238 time-based one-time passwords (HMAC-SHA1, 30 s, 6 digits), the
//! second factor of staff sign-in (STAFF-1), with base32 secrets as
//! authenticator apps expect them.

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha1::Sha1;

pub const STEP: i64 = 30;
const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

pub fn generate_secret() -> Vec<u8> {
    let mut secret = vec![0u8; 20];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    secret
}

pub fn base32(bytes: &[u8]) -> String {
    let mut out = String::new();
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// HOTP (RFC 4226) for one counter value.
pub fn hotp(secret: &[u8], counter: u64) -> u32 {
    let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(secret).unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = (digest[19] & 0x0f) as usize;
    let value = u32::from_be_bytes([digest[offset] & 0x7f, digest[offset + 1], digest[offset + 2], digest[offset + 3]]);
    value % 1_000_000
}

pub fn code_at(secret: &[u8], unix: i64) -> String {
    format!("{:06}", hotp(secret, (unix.max(0) / STEP) as u64))
}

/// The time step a typed code belongs to, allowing one step of clock skew
/// either way; the caller refuses steps already used (replay).
pub fn verify(secret: &[u8], code: &str, unix: i64) -> Option<i64> {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = unix.max(0) / STEP;
    [now, now - 1, now + 1].into_iter().filter(|s| *s >= 0).find(|&step| {
        let expected = format!("{:06}", hotp(secret, step as u64));
        subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), code.as_bytes()).into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 rows (8 digits there; we keep the last 6).
    #[test]
    fn rfc6238_vectors() {
        let secret = b"12345678901234567890";
        for (t, expected) in [(59, "287082"), (1_111_111_109, "081804"), (1_234_567_890, "005924"), (2_000_000_000, "279037")] {
            assert_eq!(code_at(secret, t), expected, "t={t}");
        }
    }

    #[test]
    fn skew_and_format() {
        let secret = generate_secret();
        let now = 1_700_000_000;
        assert_eq!(verify(&secret, &code_at(&secret, now - 30), now), Some(now / 30 - 1));
        assert_eq!(verify(&secret, &code_at(&secret, now + 30), now), Some(now / 30 + 1));
        assert_eq!(verify(&secret, &code_at(&secret, now - 90), now), None);
        assert_eq!(verify(&secret, "12345", now), None);
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
    }
}
