//! Personal data at rest (OPS-3): AES-256-GCM envelopes carrying the id of
//! the key that sealed them, so keys can rotate, and HMAC-SHA256 lookup
//! hashes, so rows can be found without storing the value in clear.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::Zeroizing;

const NONCE_LEN: usize = 12;
const HEADER_LEN: usize = 4 + NONCE_LEN;

/// What operators write in the keys file or the `[keys]` table.
#[derive(Clone, Deserialize, Serialize, Default, PartialEq, Eq)]
pub struct KeyMaterial {
    /// Key for lookup hashes. It cannot rotate without rehashing every row.
    pub index_key: String,
    /// Id of the key that seals new values.
    pub current: u32,
    /// Base64 32-byte AES keys by id; old ids stay to open old rows.
    pub data_keys: BTreeMap<String, String>,
}

impl fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyMaterial")
            .field("current", &self.current)
            .field("data_key_ids", &self.data_keys.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("key material: {0}")]
    Material(String),
    #[error("sealed value is malformed")]
    Malformed,
    #[error("no key with id {0}")]
    UnknownKey(u32),
    #[error("sealed value failed authentication")]
    Tampered,
}

impl KeyMaterial {
    pub fn generate() -> Self {
        let mut index = Zeroizing::new([0u8; 32]);
        let mut data = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(index.as_mut());
        OsRng.fill_bytes(data.as_mut());
        Self { index_key: B64.encode(index.as_ref()), current: 1, data_keys: BTreeMap::from([("1".to_owned(), B64.encode(data.as_ref()))]) }
    }

    pub fn load(path: &Path) -> Result<Self, VaultError> {
        let text = std::fs::read_to_string(path).map_err(|e| VaultError::Material(format!("cannot read {}: {e}", path.display())))?;
        toml_from_str(&text)
    }

    /// Write a new key file readable by the owner only.
    pub fn write_new(&self, path: &Path) -> Result<(), VaultError> {
        let body = format!(
            "# jszg encryption keys. Keep them secret and back them up with the database:\n\
             # without them the personal data in it cannot be read.\n\
             index_key = \"{}\"\ncurrent = {}\n\n[data_keys]\n{}",
            self.index_key,
            self.current,
            self.data_keys.iter().map(|(id, k)| format!("{id} = \"{k}\"\n")).collect::<String>()
        );
        write_private(path, body.as_bytes()).map_err(|e| VaultError::Material(format!("cannot write {}: {e}", path.display())))
    }
}

fn toml_from_str(text: &str) -> Result<KeyMaterial, VaultError> {
    use figment::providers::{Format, Toml};
    figment::Figment::from(Toml::string(text)).extract().map_err(|e| VaultError::Material(e.to_string()))
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

/// Which column a value belongs to. Bound into the envelope as associated
/// data, so a sealed phone cannot be replayed as a sealed email.
#[derive(Clone, Copy, Debug)]
pub enum Field {
    DocNumber,
    Phone,
    Email,
    LocalIdNumber,
    PermitNumber,
    Outbox,
    Photo,
    Contact,
    Totp,
    Upstream,
    SigningKey,
    /// A WeChat openid.
    Wechat,
}

impl Field {
    fn label(self) -> &'static [u8] {
        match self {
            Field::DocNumber => b"doc_number",
            Field::Phone => b"phone",
            Field::Email => b"email",
            Field::LocalIdNumber => b"local_id_number",
            Field::PermitNumber => b"permit_number",
            Field::Outbox => b"outbox",
            Field::Photo => b"photo",
            Field::Contact => b"contact",
            Field::Totp => b"totp",
            Field::Upstream => b"upstream",
            Field::SigningKey => b"signing_key",
            Field::Wechat => b"wechat_openid",
        }
    }
}

pub struct Vault {
    current: u32,
    keys: BTreeMap<u32, Aes256Gcm>,
    /// HMAC already keyed with the index key; cloned per hash.
    index: Hmac<Sha256>,
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vault").field("current", &self.current).finish_non_exhaustive()
    }
}

impl Vault {
    pub fn new(material: &KeyMaterial) -> Result<Self, VaultError> {
        let index_key = Zeroizing::new(decode_key(&material.index_key, "index_key")?);
        let index = <Hmac<Sha256> as Mac>::new_from_slice(&index_key).map_err(|_| VaultError::Material("bad index key".into()))?;
        let mut keys = BTreeMap::new();
        for (id, key) in &material.data_keys {
            let id: u32 = id.parse().map_err(|_| VaultError::Material(format!("key id {id:?} is not a number")))?;
            let key = Zeroizing::new(decode_key(key, "data key")?);
            let cipher = Aes256Gcm::new_from_slice(&key).map_err(|_| VaultError::Material("bad data key".into()))?;
            keys.insert(id, cipher);
        }
        if !keys.contains_key(&material.current) {
            return Err(VaultError::Material(format!("current key {} is not among data_keys", material.current)));
        }
        Ok(Self { current: material.current, keys, index })
    }

    pub fn seal(&self, field: Field, plaintext: &[u8]) -> Vec<u8> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let Some(cipher) = self.keys.get(&self.current) else {
            // `new` guarantees the current key exists.
            return Vec::new();
        };
        let aad = self.aad(self.current, field);
        // AES-GCM only refuses plaintexts of many gigabytes; nothing we seal comes near.
        let ciphertext = cipher.encrypt(&nonce, Payload { msg: plaintext, aad: &aad }).unwrap_or_default();
        let mut out = Vec::with_capacity(HEADER_LEN + ciphertext.len());
        out.extend_from_slice(&self.current.to_be_bytes());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        out
    }

    pub fn open(&self, field: Field, envelope: &[u8]) -> Result<Vec<u8>, VaultError> {
        if envelope.len() < HEADER_LEN + 16 {
            return Err(VaultError::Malformed);
        }
        let (header, ciphertext) = envelope.split_at(HEADER_LEN);
        let (kid, nonce) = header.split_at(4);
        let kid = u32::from_be_bytes([kid[0], kid[1], kid[2], kid[3]]);
        let cipher = self.keys.get(&kid).ok_or(VaultError::UnknownKey(kid))?;
        let aad = self.aad(kid, field);
        cipher.decrypt(Nonce::from_slice(nonce), Payload { msg: ciphertext, aad: &aad }).map_err(|_| VaultError::Tampered)
    }

    pub fn seal_str(&self, field: Field, value: &str) -> Vec<u8> {
        self.seal(field, value.as_bytes())
    }

    pub fn open_str(&self, field: Field, envelope: &[u8]) -> Result<String, VaultError> {
        String::from_utf8(self.open(field, envelope)?).map_err(|_| VaultError::Malformed)
    }

    /// Id of the key that seals new values.
    pub fn current_id(&self) -> u32 {
        self.current
    }

    /// Ids of every data key this vault can open.
    pub fn key_ids(&self) -> Vec<u32> {
        self.keys.keys().copied().collect()
    }

    /// The id of the key an envelope was sealed with (its first four bytes).
    pub fn key_id_of(envelope: &[u8]) -> Option<u32> {
        envelope.get(..4).map(|kid| u32::from_be_bytes([kid[0], kid[1], kid[2], kid[3]]))
    }

    /// Open with whichever key sealed it and seal again under the current key.
    pub fn reseal(&self, field: Field, envelope: &[u8]) -> Result<Vec<u8>, VaultError> {
        let plain = Zeroizing::new(self.open(field, envelope)?);
        Ok(self.seal(field, &plain))
    }

    /// Whether a value was sealed with an older key and should be resealed.
    pub fn is_stale(&self, envelope: &[u8]) -> bool {
        envelope.get(..4).is_some_and(|kid| kid != self.current.to_be_bytes())
    }

    /// Keyed lookup hash of a normalised value. `field` separates domains so
    /// equal strings in different columns do not hash alike.
    pub fn lookup(&self, field: Field, value: &str) -> Vec<u8> {
        self.mac(&[field.label(), value.as_bytes()])
    }

    /// HMAC over length-prefixed parts, for codes and tokens bound to context.
    pub fn mac(&self, parts: &[&[u8]]) -> Vec<u8> {
        let mut mac = self.index.clone();
        for part in parts {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac.finalize().into_bytes().to_vec()
    }

    fn aad(&self, kid: u32, field: Field) -> Vec<u8> {
        let mut aad = kid.to_be_bytes().to_vec();
        aad.extend_from_slice(field.label());
        aad
    }
}

fn decode_key(text: &str, what: &str) -> Result<Vec<u8>, VaultError> {
    let bytes = B64.decode(text.trim()).map_err(|_| VaultError::Material(format!("{what} is not base64")))?;
    if bytes.len() != 32 {
        return Err(VaultError::Material(format!("{what} must be 32 bytes, is {}", bytes.len())));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vault() -> Vault {
        Vault::new(&KeyMaterial::generate()).unwrap()
    }

    #[test]
    fn round_trip_and_binding() {
        let v = vault();
        let sealed = v.seal_str(Field::Phone, "15800000011");
        assert_eq!(v.open_str(Field::Phone, &sealed).unwrap(), "15800000011");
        assert!(!sealed.windows(11).any(|w| w == b"15800000011"));
        // Sealed for another column: refused.
        assert!(matches!(v.open(Field::Email, &sealed), Err(VaultError::Tampered)));
        let mut flipped = sealed.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert!(matches!(v.open(Field::Phone, &flipped), Err(VaultError::Tampered)));
        assert!(matches!(v.open(Field::Phone, &sealed[..10]), Err(VaultError::Malformed)));
    }

    #[test]
    fn rotation_keeps_old_rows_readable() {
        let mut material = KeyMaterial::generate();
        let old = Vault::new(&material).unwrap();
        let sealed = old.seal_str(Field::Email, "a@example.com");
        material.data_keys.insert("2".into(), KeyMaterial::generate().data_keys["1"].clone());
        material.current = 2;
        let new = Vault::new(&material).unwrap();
        assert!(new.is_stale(&sealed));
        assert_eq!(new.open_str(Field::Email, &sealed).unwrap(), "a@example.com");
        assert!(!new.is_stale(&new.seal_str(Field::Email, "x")));
        // Lookups do not depend on the data key.
        assert_eq!(old.lookup(Field::Email, "a@example.com"), new.lookup(Field::Email, "a@example.com"));
    }

    #[test]
    fn lookup_separates_fields() {
        let v = vault();
        assert_ne!(v.lookup(Field::Phone, "1"), v.lookup(Field::Email, "1"));
        assert_eq!(v.lookup(Field::Phone, "1"), v.lookup(Field::Phone, "1"));
    }

    #[test]
    fn key_file_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.keys");
        let material = KeyMaterial::generate();
        material.write_new(&path).unwrap();
        assert_eq!(KeyMaterial::load(&path).unwrap(), material);
        assert!(material.write_new(&path).is_err(), "never overwrite a key file");
    }
}
