//! Signatures and 安全模式 (WX-1).
//!
//! Every callback carries `signature = sha1(sort(token, timestamp, nonce))`; in safe mode the body
//! is an envelope whose `Encrypt` is AES-256-CBC of `random(16) ‖ len(4, BE) ‖ xml ‖ app_id`,
//! signed by `msg_signature = sha1(sort(token, timestamp, nonce, encrypt))`.
//!
//! Two traps, both covered by tests: the platform pads PKCS#7 to a 32-byte block (a 16-byte unpad
//! refuses every message whose padding is over 16, about half of them), and the 43-character
//! EncodingAESKey usually has non-zero trailing bits, which a strict base64 decoder refuses.

use aes::cipher::{block_padding::NoPadding, BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use base64::alphabet::STANDARD as ALPHABET;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD as B64};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use sha1::{Digest, Sha1};
use subtle::ConstantTimeEq;

type Decryptor = cbc::Decryptor<aes::Aes256>;
type Encryptor = cbc::Encryptor<aes::Aes256>;

/// The platform's padding block, not AES's.
const PAD_BLOCK: usize = 32;

/// `sha1` of the parts sorted and joined, in lowercase hex.
pub fn signature(parts: &[&str]) -> String {
    let mut sorted = parts.to_vec();
    sorted.sort_unstable();
    hex::encode(Sha1::digest(sorted.concat().as_bytes()))
}

/// Whether `given` is the signature of `parts`, compared in constant time.
pub fn signature_ok(given: &str, parts: &[&str]) -> bool {
    let expected = signature(parts);
    given.len() == expected.len() && bool::from(given.to_ascii_lowercase().as_bytes().ct_eq(expected.as_bytes()))
}

/// Why an encrypted message was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("not base64")]
    Base64,
    #[error("not a whole number of AES blocks")]
    Length,
    #[error("bad padding")]
    Padding,
    #[error("the length prefix points outside the message")]
    Frame,
    #[error("sealed for another app id")]
    AppId,
    #[error("not UTF-8")]
    Utf8,
}

/// The key and app id of one service account in safe mode.
#[derive(Clone)]
pub struct SafeMode {
    key: [u8; 32],
    app_id: String,
}

impl std::fmt::Debug for SafeMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SafeMode").field("app_id", &self.app_id).finish_non_exhaustive()
    }
}

impl SafeMode {
    /// From the console's 43-character EncodingAESKey (base64 of 32 bytes, without the `=`).
    pub fn new(encoding_aes_key: &str, app_id: &str) -> Result<Self, String> {
        let lenient =
            GeneralPurpose::new(&ALPHABET, GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true).with_decode_padding_mode(DecodePaddingMode::Indifferent));
        let bytes = match encoding_aes_key.len() {
            43 => lenient.decode(encoding_aes_key).ok(),
            _ => None,
        };
        let key: [u8; 32] = bytes
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| "wechat.encoding_aes_key must be the 43 characters shown in the platform's console".to_owned())?;
        Ok(Self { key, app_id: app_id.to_owned() })
    }

    /// Open an `Encrypt` value: the inner XML.
    pub fn decrypt(&self, encrypt: &str) -> Result<String, Refused> {
        let mut data = B64.decode(encrypt.trim()).map_err(|_| Refused::Base64)?;
        if data.is_empty() || data.len() % PAD_BLOCK != 0 {
            return Err(Refused::Length);
        }
        let plain = Decryptor::new(&self.key.into(), self.key[..16].into())
            .decrypt_padded_mut::<NoPadding>(&mut data)
            .map_err(|_| Refused::Length)?;
        let pad = usize::from(*plain.last().ok_or(Refused::Padding)?);
        if !(1..=PAD_BLOCK).contains(&pad) || plain[plain.len() - pad..].iter().any(|b| usize::from(*b) != pad) {
            return Err(Refused::Padding);
        }
        let body = plain.get(16..plain.len() - pad).ok_or(Refused::Frame)?;
        let (len, rest) = body.split_first_chunk::<4>().ok_or(Refused::Frame)?;
        let len = usize::try_from(u32::from_be_bytes(*len)).map_err(|_| Refused::Frame)?;
        if len > rest.len() {
            return Err(Refused::Frame);
        }
        let (xml, app_id) = rest.split_at(len);
        if app_id != self.app_id.as_bytes() {
            return Err(Refused::AppId);
        }
        String::from_utf8(xml.to_vec()).map_err(|_| Refused::Utf8)
    }

    /// Seal `xml` for the platform; `random` is the 16-byte prefix.
    pub fn encrypt(&self, xml: &str, random: [u8; 16]) -> String {
        let body_len = u32::try_from(xml.len()).unwrap_or(u32::MAX);
        let mut plain = Vec::with_capacity(16 + 4 + xml.len() + self.app_id.len() + PAD_BLOCK);
        plain.extend_from_slice(&random);
        plain.extend_from_slice(&body_len.to_be_bytes());
        plain.extend_from_slice(xml.as_bytes());
        plain.extend_from_slice(self.app_id.as_bytes());
        let pad = PAD_BLOCK - plain.len() % PAD_BLOCK;
        plain.resize(plain.len() + pad, pad as u8);
        let len = plain.len();
        let sealed = Encryptor::new(&self.key.into(), self.key[..16].into())
            .encrypt_padded_mut::<NoPadding>(&mut plain, len)
            .map(<[u8]>::to_vec)
            .unwrap_or_default();
        B64.encode(sealed)
    }

    /// The envelope of a passive reply in safe mode.
    pub fn reply(&self, token: &str, xml: &str, timestamp: &str, nonce: &str, random: [u8; 16]) -> String {
        let encrypt = self.encrypt(xml, random);
        let signature = signature(&[token, timestamp, nonce, &encrypt]);
        format!(
            "<xml>\n<Encrypt><![CDATA[{encrypt}]]></Encrypt>\n<MsgSignature><![CDATA[{signature}]]></MsgSignature>\n<TimeStamp>{timestamp}</TimeStamp>\n<Nonce><![CDATA[{nonce}]]></Nonce>\n</xml>",
            nonce = super::wire::cdata_safe(nonce),
            timestamp = super::wire::escape_text(timestamp),
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    // wechatpy's tests/test_crypto.py (the enterprise account uses the same envelope).
    const TOKEN: &str = "123456";
    const KEY: &str = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR";
    const APP_ID: &str = "wx49f0ab532d5d035a";
    const ENCRYPTED: &str = "RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6IHCrsTyeDXzF6Bv283dGymzxh6ydJRvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTdaXpXaG4+BiYyolBug/gYNx410cvkKR2/nPwBiT+P4hIiOAQqGp/TywZBtDh1yCF2KOd0gpiMZ5jSw3e29mTvmUHzkVQiMS6td7vXUaWOMZnYZlF3So2SjHnwh4jYFxdgpkHHqIrH/54SNdshoQgWYEvccTKe7FS709/5t6NMxuGhcUGAPOQipvWTT4dShyqio7mlsl5noTrb++x6En749zCpQVhDpbV6GDnTbcX2e8K9QaNWHp91eBdCRxthuL0=";

    #[test]
    fn the_plain_signature_of_wechatpy() {
        assert!(signature_ok("f21891de399b4e33a1a93c9a7b8a8fffb5a443ff", &["test", "1410685589", "test"]));
        assert!(!signature_ok("f21891de399b4e33a1a93c9a7b8a8fffb5a443fe", &["test", "1410685589", "test"]));
        assert!(!signature_ok("", &["test", "1410685589", "test"]));
    }

    #[test]
    fn a_key_with_trailing_bits_is_accepted() {
        // 'R' leaves the bits 01 after the 256th: a strict decoder refuses it.
        assert!(base64::engine::general_purpose::STANDARD_NO_PAD.decode(KEY).is_err());
        SafeMode::new(KEY, APP_ID).unwrap();
        assert!(SafeMode::new(&KEY[..42], APP_ID).is_err());
        assert!(SafeMode::new("!".repeat(43).as_str(), APP_ID).is_err());
    }

    #[test]
    fn decrypts_wechatpys_message_and_checks_its_signature() {
        assert!(signature_ok("74d92dfeb87ba7c714f89d98870ae5eb62dff26d", &[TOKEN, "1411525903", "461056294", ENCRYPTED]));
        let xml = SafeMode::new(KEY, APP_ID).unwrap().decrypt(ENCRYPTED).unwrap();
        assert!(xml.contains("<Content><![CDATA[test]]></Content>"), "{xml}");
        assert!(xml.contains("<FromUserName><![CDATA[messense]]></FromUserName>"), "{xml}");
        assert_eq!(SafeMode::new(KEY, "wx0000000000000000").unwrap().decrypt(ENCRYPTED), Err(Refused::AppId));
    }

    #[test]
    fn encrypts_as_wechatpy_does() {
        let reply = "<xml>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[test]]></Content>\n<FromUserName><![CDATA[wx49f0ab532d5d035a]]></FromUserName>\n<ToUserName><![CDATA[messense]]></ToUserName>\n<AgentID>1</AgentID>\n<CreateTime>1411525903</CreateTime>\n</xml>";
        let expected = "<xml>\n<Encrypt><![CDATA[9s4gMv99m88kKTh/H8IdkOiMg6bisoy3ypwy9H4hvSPe9nsGaqyw5hhSjdYbcrKk+j3nba4HMOTzHrluLBYqxgNcBqGsL8GqxlhZgURnAtObvesEl5nZ+uBE8bviY0LWke8Zy9V/QYKxNV2FqllNXcfmstttyIkMKCCmVbCFM2JTF5wY0nFhHZSjPUL2Q1qvSUCUld+/WIXrx0oyKQmpB6o8NRrrNrsDf03oxI1p9FxUgMnwKKZeOA/uu+2IEvEBtb7muXsVbwbgX05UPPJvFurDXafG0RQyPR+mf1nDnAtQmmNOuiR5MIkdQ39xn1vWwi1O5oazPoQJz0nTYjxxEE8kv3kFxtAGVRe3ypD3WeK2XeFYFMNMpatF9XiKzHo3]]></Encrypt>\n<MsgSignature><![CDATA[407518b7649e86ef23978113f92d27afa9296533]]></MsgSignature>\n<TimeStamp>1411525903</TimeStamp>\n<Nonce><![CDATA[461056294]]></Nonce>\n</xml>";
        let safe = SafeMode::new(KEY, APP_ID).unwrap();
        assert_eq!(safe.reply(TOKEN, reply, "1411525903", "461056294", *b"1234567890123456"), expected);
    }

    #[test]
    fn padding_over_sixteen_bytes_round_trips() {
        let safe = SafeMode::new(KEY, APP_ID).unwrap();
        let mut long_pads = 0;
        for len in 0..64 {
            let xml = "x".repeat(len);
            let sealed = safe.encrypt(&xml, [7; 16]);
            let pad = PAD_BLOCK - (16 + 4 + len + APP_ID.len()) % PAD_BLOCK;
            long_pads += usize::from(pad > 16);
            assert_eq!(safe.decrypt(&sealed).unwrap(), xml, "length {len}, padding {pad}");
        }
        assert_eq!(long_pads, 32, "half the lengths pad over 16 bytes");
    }

    #[test]
    fn tampering_is_refused_not_panicked_on() {
        let safe = SafeMode::new(KEY, APP_ID).unwrap();
        assert_eq!(safe.decrypt("not base64!"), Err(Refused::Base64));
        assert_eq!(safe.decrypt(&B64.encode([0u8; 16])), Err(Refused::Length));
        assert_eq!(safe.decrypt(""), Err(Refused::Length));
        let mut bytes = B64.decode(ENCRYPTED).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        assert!(safe.decrypt(&B64.encode(&bytes)).is_err());
        // A length prefix pointing past the end.
        let mut plain = vec![0u8; 16];
        plain.extend_from_slice(&u32::MAX.to_be_bytes());
        plain.resize(64, 12);
        plain[52..].fill(12);
        let len = plain.len();
        let sealed = Encryptor::new(&safe.key.into(), safe.key[..16].into()).encrypt_padded_mut::<NoPadding>(&mut plain, len).unwrap().to_vec();
        assert_eq!(safe.decrypt(&B64.encode(sealed)), Err(Refused::Frame));
    }
}
