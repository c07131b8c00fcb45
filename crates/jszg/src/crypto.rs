//! Small cryptographic helpers shared by flows and adapters: random tokens
//! and the HMAC signature of outgoing requests.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// A URL-safe random string of `bytes` bytes of entropy.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    B64URL.encode(buf)
}

/// Which algorithms new values, lookups and request signatures use: the key file's `suite`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Suite {
    /// AES-256-GCM and HMAC-SHA256: key files from before the 商用密码 work.
    #[default]
    Intl,
    /// SM4-GCM and HMAC-SM3.
    Gm,
}

impl Suite {
    pub fn as_str(self) -> &'static str {
        match self {
            Suite::Intl => "intl",
            Suite::Gm => "gm",
        }
    }
}

/// `hex(HMAC(secret, timestamp "\n" body))`: the signature on calls to the
/// identity authority and on webhooks to the business systems. The hash
/// follows the key file's suite (GM-4): SM3 under `gm`, SHA-256 under `intl`,
/// named in `X-Jszg-Signature-Alg` so a receiver never has to guess.
pub fn sign(suite: Suite, secret: &str, timestamp: &str, body: &[u8]) -> String {
    fn mac<M: Mac + hmac::digest::KeyInit>(secret: &str, timestamp: &str, body: &[u8]) -> String {
        let mut mac = <M as Mac>::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(timestamp.as_bytes());
        mac.update(b"\n");
        mac.update(body);
        hex::encode(mac.finalize().into_bytes())
    }
    match suite {
        Suite::Intl => mac::<Hmac<Sha256>>(secret, timestamp, body),
        Suite::Gm => mac::<Hmac<sm3::Sm3>>(secret, timestamp, body),
    }
}

/// The value of `X-Jszg-Signature-Alg` beside [`sign`]'s signature.
pub fn signature_alg(suite: Suite) -> &'static str {
    match suite {
        Suite::Intl => "hmac-sha256",
        Suite::Gm => "hmac-sm3",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_follows_the_suite() {
        let intl = sign(Suite::Intl, "k", "1700000000", b"{}");
        let gm = sign(Suite::Gm, "k", "1700000000", b"{}");
        assert_eq!(intl.len(), 64);
        assert_eq!(gm.len(), 64);
        assert_ne!(intl, gm);
        assert_eq!(signature_alg(Suite::Gm), "hmac-sm3");
    }
}
