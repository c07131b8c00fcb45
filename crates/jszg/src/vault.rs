//! Personal data at rest (OPS-3, GM-1): authenticated envelopes carrying the id of the key that
//! sealed them, so keys can rotate, and keyed lookup hashes, so rows can be found without storing
//! the value in clear. Two suites, chosen by the key file (API.md "商用密码"):
//!
//! - `gm` (new key files): SM4-GCM envelopes (GB/T 32907, RFC 8998) and HMAC-SM3 lookups
//!   (GB/T 32905), the national algorithms a 密评 (GB/T 39786-2021) asks for;
//! - `intl` (files from before): AES-256-GCM and HMAC-SHA256.
//!
//! A data key says its own algorithm, so envelopes of both kinds open side by side while
//! `jszg keys rotate` moves a live system from one suite to the other; during that move the
//! previous index key still finds rows not yet rehashed.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use aes_gcm::aead::consts::U12;
use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, AesGcm, Nonce};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use sm3::Sm3;
use zeroize::Zeroizing;

const NONCE_LEN: usize = 12;
const HEADER_LEN: usize = 4 + NONCE_LEN;

/// SM4 in the generic GCM of the `aes-gcm` crate: 96-bit nonce, 128-bit tag (RFC 8998).
pub type Sm4Gcm = AesGcm<sm4::Sm4, U12>;

/// Which algorithms new values and lookups use (defined beside the other primitives' choices).
pub use crate::crypto::Suite;

/// A data key as the file writes it: a bare base64 string is an AES-256 key (files from
/// before), a table names its algorithm.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum DataKey {
    Aes256(String),
    Typed { alg: String, key: String },
}

impl DataKey {
    fn sm4(key: &[u8]) -> Self {
        DataKey::Typed { alg: "sm4-gcm".into(), key: B64.encode(key) }
    }

    fn to_toml(&self) -> String {
        match self {
            DataKey::Aes256(k) => format!("\"{k}\""),
            DataKey::Typed { alg, key } => format!("{{ alg = \"{alg}\", key = \"{key}\" }}"),
        }
    }
}

/// What operators write in the keys file or the `[keys]` table.
#[derive(Clone, Deserialize, Serialize, Default, PartialEq, Eq)]
pub struct KeyMaterial {
    /// `gm` or `intl`; a file without it is `intl`.
    #[serde(default)]
    pub suite: Suite,
    /// Key for lookup hashes (32 bytes). Changing it means rehashing every row (`keys rotate`).
    pub index_key: String,
    /// Id of the key that seals new values.
    pub current: u32,
    /// Data keys by id; old ids stay to open old rows.
    pub data_keys: BTreeMap<String, DataKey>,
    /// While `jszg keys rotate` rehashes after a change of suite: the index key and suite rows
    /// not yet rehashed were hashed with. Remove both once `jszg keys status` shows none left.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_index_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_suite: Option<Suite>,
    /// The key of the audit log's chain (GM-3), 32 bytes. Absent, it is derived from
    /// `index_key`; a change of suite writes the one in use, so the chain stays verifiable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_key: Option<String>,
}

impl fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyMaterial")
            .field("suite", &self.suite)
            .field("current", &self.current)
            .field("data_key_ids", &self.data_keys.keys().collect::<Vec<_>>())
            .field("previous_suite", &self.previous_suite)
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

fn random_key<const N: usize>() -> Zeroizing<[u8; N]> {
    let mut key = Zeroizing::new([0u8; N]);
    OsRng.fill_bytes(key.as_mut());
    key
}

impl KeyMaterial {
    /// A new key file: suite `gm`, an SM4 data key (GM-1).
    pub fn generate() -> Self {
        Self {
            suite: Suite::Gm,
            index_key: B64.encode(random_key::<32>().as_ref()),
            current: 1,
            data_keys: BTreeMap::from([("1".to_owned(), DataKey::sm4(random_key::<16>().as_ref()))]),
            ..Self::default()
        }
    }

    /// A key file as they were before suite `gm`: AES-256-GCM, HMAC-SHA256 (tests, and
    /// operators who must stay on them).
    pub fn generate_intl() -> Self {
        Self {
            suite: Suite::Intl,
            index_key: B64.encode(random_key::<32>().as_ref()),
            current: 1,
            data_keys: BTreeMap::from([("1".to_owned(), DataKey::Aes256(B64.encode(random_key::<32>().as_ref())))]),
            ..Self::default()
        }
    }

    /// The same keys moved to suite `to`: a new index key and a new data key of that suite,
    /// which seals from now on; the old index key stays as `previous_index_key` until `jszg keys
    /// rotate` has rehashed every row, and the audit chain keeps its key.
    pub fn move_to(&self, to: Suite) -> Result<Self, VaultError> {
        if to == self.suite {
            return Err(VaultError::Material(format!("the key file is already suite {}", to.as_str())));
        }
        if self.previous_index_key.is_some() {
            return Err(VaultError::Material("a change of suite is still under way: finish `jszg keys rotate` and remove previous_index_key first".into()));
        }
        let next = self.data_keys.keys().filter_map(|k| k.parse::<u32>().ok()).max().unwrap_or(0) + 1;
        let mut data_keys = self.data_keys.clone();
        data_keys.insert(
            next.to_string(),
            match to {
                Suite::Gm => DataKey::sm4(random_key::<16>().as_ref()),
                Suite::Intl => DataKey::Aes256(B64.encode(random_key::<32>().as_ref())),
            },
        );
        let audit_key = match &self.audit_key {
            Some(k) => k.clone(),
            None => B64.encode(derive(&decode_key(&self.index_key, "index_key", 32)?, AUDIT_LABEL)),
        };
        Ok(Self {
            suite: to,
            index_key: B64.encode(random_key::<32>().as_ref()),
            current: next,
            data_keys,
            previous_index_key: Some(self.index_key.clone()),
            previous_suite: Some(self.suite),
            audit_key: Some(audit_key),
        })
    }

    pub fn load(path: &Path) -> Result<Self, VaultError> {
        let text = std::fs::read_to_string(path).map_err(|e| VaultError::Material(format!("cannot read {}: {e}", path.display())))?;
        toml_from_str(&text)
    }

    pub fn to_toml(&self) -> String {
        let mut out = format!(
            "# jszg encryption keys. Keep them secret and back them up with the database:\n\
             # without them the personal data in it cannot be read.\n\
             suite = \"{}\"\nindex_key = \"{}\"\ncurrent = {}\n",
            self.suite.as_str(),
            self.index_key,
            self.current
        );
        if let (Some(key), Some(suite)) = (&self.previous_index_key, self.previous_suite) {
            out.push_str(&format!(
                "# Until `jszg keys status` shows nothing left to rehash; then remove these two lines.\n\
                 previous_index_key = \"{key}\"\nprevious_suite = \"{}\"\n",
                suite.as_str()
            ));
        }
        if let Some(key) = &self.audit_key {
            out.push_str(&format!("audit_key = \"{key}\"\n"));
        }
        out.push_str("\n[data_keys]\n");
        for (id, key) in &self.data_keys {
            out.push_str(&format!("{id} = {}\n", key.to_toml()));
        }
        out
    }

    /// Replace a key file by this one: the new file is written beside it first and renamed
    /// over it, and the old one is kept as `<file>.before-<unix time>` (it holds the only copy
    /// of nothing, but an operator may want to compare). Returns the backup's path.
    pub fn replace_file(&self, path: &Path, now: i64) -> Result<std::path::PathBuf, VaultError> {
        let fail = |what: &str, e: std::io::Error| VaultError::Material(format!("cannot {what} {}: {e}", path.display()));
        let mut fresh = path.as_os_str().to_owned();
        fresh.push(".new");
        let fresh = std::path::PathBuf::from(fresh);
        let _ = std::fs::remove_file(&fresh);
        write_private(&fresh, self.to_toml().as_bytes()).map_err(|e| fail("write beside", e))?;
        let mut backup = path.as_os_str().to_owned();
        backup.push(format!(".before-{now}"));
        let backup = std::path::PathBuf::from(backup);
        std::fs::copy(path, &backup).map_err(|e| fail("back up", e))?;
        std::fs::rename(&fresh, path).map_err(|e| fail("replace", e))?;
        Ok(backup)
    }

    /// Write a new key file readable by the owner only.
    pub fn write_new(&self, path: &Path) -> Result<(), VaultError> {
        write_private(path, self.to_toml().as_bytes()).map_err(|e| VaultError::Material(format!("cannot write {}: {e}", path.display())))
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

/// An AEAD of either suite.
enum Cipher {
    Aes(Box<Aes256Gcm>),
    Sm4(Box<Sm4Gcm>),
}

impl Cipher {
    fn encrypt(&self, nonce: &[u8], payload: Payload<'_, '_>) -> Vec<u8> {
        // GCM only refuses plaintexts of many gigabytes; nothing we seal comes near.
        match self {
            Cipher::Aes(c) => c.encrypt(Nonce::from_slice(nonce), payload).unwrap_or_default(),
            Cipher::Sm4(c) => c.encrypt(Nonce::from_slice(nonce), payload).unwrap_or_default(),
        }
    }

    fn decrypt(&self, nonce: &[u8], payload: Payload<'_, '_>) -> Result<Vec<u8>, VaultError> {
        match self {
            Cipher::Aes(c) => c.decrypt(Nonce::from_slice(nonce), payload),
            Cipher::Sm4(c) => c.decrypt(Nonce::from_slice(nonce), payload),
        }
        .map_err(|_| VaultError::Tampered)
    }

    fn is_sm4(&self) -> bool {
        matches!(self, Cipher::Sm4(_))
    }
}

/// A keyed MAC of either suite, already keyed; cloned per use.
#[derive(Clone)]
pub enum Index {
    Sha256(Hmac<Sha256>),
    Sm3(Hmac<Sm3>),
}

impl Index {
    fn new(suite: Suite, key: &[u8]) -> Result<Self, VaultError> {
        let bad = |_| VaultError::Material("bad index key".into());
        Ok(match suite {
            Suite::Intl => Index::Sha256(<Hmac<Sha256> as Mac>::new_from_slice(key).map_err(bad)?),
            Suite::Gm => Index::Sm3(<Hmac<Sm3> as Mac>::new_from_slice(key).map_err(bad)?),
        })
    }

    /// HMAC over length-prefixed parts: `u64be(len) ‖ part` for each (API.md's lookup hash).
    pub fn mac(&self, parts: &[&[u8]]) -> Vec<u8> {
        fn run<M: Mac + Clone>(mac: &M, parts: &[&[u8]]) -> Vec<u8> {
            let mut mac = mac.clone();
            for part in parts {
                mac.update(&(part.len() as u64).to_be_bytes());
                mac.update(part);
            }
            mac.finalize().into_bytes().to_vec()
        }
        match self {
            Index::Sha256(m) => run(m, parts),
            Index::Sm3(m) => run(m, parts),
        }
    }
}

/// HMAC-SM3(key, label): a key for one purpose derived from a key of the file.
fn derive(key: &[u8], label: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sm3> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(label);
    mac.finalize().into_bytes().into()
}

const AUDIT_LABEL: &[u8] = b"jszg audit chain v1";
const PASSWORD_TAG_LABEL: &[u8] = b"jszg password hash tag v1";

pub struct Vault {
    suite: Suite,
    current: u32,
    keys: BTreeMap<u32, Cipher>,
    /// Lookups and token hashes of the current suite.
    index: Index,
    /// While rows are rehashed after a change of suite: what they were hashed with.
    previous: Option<Index>,
    /// HMAC-SM3 of the audit chain (GM-3) and of password-hash tags (GM-2).
    audit: Index,
    password_tag: Index,
    previous_password_tag: Option<Index>,
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vault").field("suite", &self.suite).field("current", &self.current).finish_non_exhaustive()
    }
}

impl Vault {
    pub fn new(material: &KeyMaterial) -> Result<Self, VaultError> {
        let index_key = Zeroizing::new(decode_key(&material.index_key, "index_key", 32)?);
        let mut keys = BTreeMap::new();
        for (id, key) in &material.data_keys {
            let id: u32 = id.parse().map_err(|_| VaultError::Material(format!("key id {id:?} is not a number")))?;
            let cipher = match key {
                DataKey::Aes256(b64) => aes(&decode_key(b64, "data key", 32)?)?,
                DataKey::Typed { alg, key } => match alg.as_str() {
                    "aes-256-gcm" => aes(&decode_key(key, "data key", 32)?)?,
                    "sm4-gcm" => {
                        let key = Zeroizing::new(decode_key(key, "sm4-gcm data key", 16)?);
                        Cipher::Sm4(Box::new(Sm4Gcm::new_from_slice(&key).map_err(|_| VaultError::Material("bad sm4 key".into()))?))
                    }
                    other => return Err(VaultError::Material(format!("data key {id}: unknown alg {other:?} (sm4-gcm or aes-256-gcm)"))),
                },
            };
            keys.insert(id, cipher);
        }
        let Some(current) = keys.get(&material.current) else {
            return Err(VaultError::Material(format!("current key {} is not among data_keys", material.current)));
        };
        if (material.suite == Suite::Gm) != current.is_sm4() {
            return Err(VaultError::Material(format!(
                "suite {} needs a current data key of its own algorithm ({})",
                material.suite.as_str(),
                if material.suite == Suite::Gm { "sm4-gcm" } else { "aes-256-gcm" }
            )));
        }
        let previous_key = match &material.previous_index_key {
            Some(k) => Some(Zeroizing::new(decode_key(k, "previous_index_key", 32)?)),
            None => None,
        };
        let previous = match (&previous_key, material.previous_suite) {
            (Some(k), Some(suite)) => Some(Index::new(suite, k)?),
            (None, None) => None,
            _ => return Err(VaultError::Material("previous_index_key and previous_suite go together".into())),
        };
        let audit_key = match &material.audit_key {
            Some(k) => Zeroizing::new(decode_key(k, "audit_key", 32)?),
            None => Zeroizing::new(derive(&index_key, AUDIT_LABEL).to_vec()),
        };
        Ok(Self {
            suite: material.suite,
            current: material.current,
            keys,
            index: Index::new(material.suite, &index_key)?,
            previous,
            audit: Index::new(Suite::Gm, &audit_key)?,
            password_tag: Index::new(Suite::Gm, &derive(&index_key, PASSWORD_TAG_LABEL))?,
            previous_password_tag: previous_key.map(|k| Index::new(Suite::Gm, &derive(&k, PASSWORD_TAG_LABEL))).transpose()?,
        })
    }

    pub fn suite(&self) -> Suite {
        self.suite
    }

    pub fn seal(&self, field: Field, plaintext: &[u8]) -> Vec<u8> {
        let Some(cipher) = self.keys.get(&self.current) else {
            // `new` guarantees the current key exists.
            return Vec::new();
        };
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let aad = self.aad(self.current, field);
        let ciphertext = cipher.encrypt(&nonce, Payload { msg: plaintext, aad: &aad });
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
        cipher.decrypt(nonce, Payload { msg: ciphertext, aad: &aad })
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

    /// Keyed lookup hash of a normalised value (API.md: `HMAC(index_key, u64be(len(label)) ‖
    /// label ‖ u64be(len(value)) ‖ value)`). `field` separates domains so equal strings in
    /// different columns do not hash alike.
    pub fn lookup(&self, field: Field, value: &str) -> Vec<u8> {
        self.mac(&[field.label(), value.as_bytes()])
    }

    /// HMAC over length-prefixed parts, for codes and tokens bound to context.
    pub fn mac(&self, parts: &[&[u8]]) -> Vec<u8> {
        self.index.mac(parts)
    }

    /// The hashes a stored row may carry for these parts: the current one, then, while a change
    /// of suite is being rehashed, the previous one. Lookups of lasting rows ask for both.
    pub fn macs(&self, parts: &[&[u8]]) -> Hashes {
        let current = self.index.mac(parts);
        let previous = self.previous.as_ref().map(|p| p.mac(parts)).unwrap_or_else(|| current.clone());
        Hashes { current, previous }
    }

    pub fn lookups(&self, field: Field, value: &str) -> Hashes {
        self.macs(&[field.label(), value.as_bytes()])
    }

    /// The previous hash of these parts, when a change of suite is under way.
    pub fn previous_mac(&self, parts: &[&[u8]]) -> Option<Vec<u8>> {
        self.previous.as_ref().map(|p| p.mac(parts))
    }

    /// The previous lookup hash of a value, when a change of suite is under way.
    pub fn previous_lookup(&self, field: Field, value: &str) -> Option<Vec<u8>> {
        self.previous_mac(&[field.label(), value.as_bytes()])
    }

    /// Whether rows may still carry hashes of the previous suite.
    pub fn rehashing(&self) -> bool {
        self.previous.is_some()
    }

    /// The audit chain's MAC (GM-3), HMAC-SM3 whatever the suite.
    pub fn audit_mac(&self, parts: &[&[u8]]) -> Vec<u8> {
        self.audit.mac(parts)
    }

    /// The integrity tag of a stored password hash (GM-2): HMAC-SM3 over whose it is (`account`
    /// or `staff`, and the id) and the hash, under a key derived from the index key.
    pub fn password_tag(&self, kind: Holder, id: i64, hash: &str) -> Vec<u8> {
        self.password_tag.mac(&[kind.label(), &id.to_be_bytes(), b"hash", hash.as_bytes()])
    }

    /// Whether `tag` is the tag of this hash under the current or (during a change of suite)
    /// the previous key.
    pub fn password_tag_ok(&self, kind: Holder, id: i64, hash: &str, tag: &[u8]) -> bool {
        self.password_tag_age(kind, id, hash, tag).is_some()
    }

    /// `Some(true)` when the tag is under the current key, `Some(false)` under the previous one.
    pub fn password_tag_age(&self, kind: Holder, id: i64, hash: &str, tag: &[u8]) -> Option<bool> {
        use subtle::ConstantTimeEq;
        let parts: [&[u8]; 4] = [kind.label(), &id.to_be_bytes(), b"hash", hash.as_bytes()];
        let ok = |index: &Index| bool::from(index.mac(&parts).ct_eq(tag));
        if ok(&self.password_tag) {
            Some(true)
        } else if self.previous_password_tag.as_ref().is_some_and(ok) {
            Some(false)
        } else {
            None
        }
    }

    fn aad(&self, kid: u32, field: Field) -> Vec<u8> {
        let mut aad = kid.to_be_bytes().to_vec();
        aad.extend_from_slice(field.label());
        aad
    }
}

/// Whose password hash a tag covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Holder {
    Account,
    Staff,
}

impl Holder {
    fn label(self) -> &'static [u8] {
        match self {
            Holder::Account => b"account",
            Holder::Staff => b"staff",
        }
    }
}

/// The current hash of a value and the one a row not yet rehashed carries (the same when no
/// change of suite is under way).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hashes {
    pub current: Vec<u8>,
    pub previous: Vec<u8>,
}

fn aes(key: &[u8]) -> Result<Cipher, VaultError> {
    let key = Zeroizing::new(key.to_vec());
    Ok(Cipher::Aes(Box::new(Aes256Gcm::new_from_slice(&key).map_err(|_| VaultError::Material("bad aes key".into()))?)))
}

fn decode_key(text: &str, what: &str, len: usize) -> Result<Vec<u8>, VaultError> {
    let bytes = B64.decode(text.trim()).map_err(|_| VaultError::Material(format!("{what} is not base64")))?;
    if bytes.len() != len {
        return Err(VaultError::Material(format!("{what} must be {len} bytes, is {}", bytes.len())));
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

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    /// GM-6: the standards' own vectors.
    #[test]
    fn sm3_sm4_and_sm4_gcm_match_the_standards() {
        use sm3::Digest;
        // GB/T 32905-2016 A.1 and A.2.
        assert_eq!(hex(&Sm3::digest(b"abc")), "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0");
        assert_eq!(hex(&Sm3::digest("abcd".repeat(16).as_bytes())), "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732");
        // GB/T 32907-2016 A.1: one block.
        use sm4::cipher::{BlockEncrypt, KeyInit as _};
        let cipher = sm4::Sm4::new_from_slice(&unhex("0123456789abcdeffedcba9876543210")).unwrap();
        let mut block = sm4::cipher::generic_array::GenericArray::clone_from_slice(&unhex("0123456789abcdeffedcba9876543210"));
        cipher.encrypt_block(&mut block);
        assert_eq!(hex(&block), "681edf34d206965e86b3e94f536e4246");
        // A.2: the same block encrypted 1,000,000 times.
        let mut block = sm4::cipher::generic_array::GenericArray::clone_from_slice(&unhex("0123456789abcdeffedcba9876543210"));
        for _ in 0..1_000_000 {
            cipher.encrypt_block(&mut block);
        }
        assert_eq!(hex(&block), "595298c7c6fd271f0402f804c33d3f66");
        // RFC 8998 A.1: SM4-GCM.
        let gcm = Sm4Gcm::new_from_slice(&unhex("0123456789abcdeffedcba9876543210")).unwrap();
        let plaintext = unhex(&["aa", "bb", "cc", "dd", "ee", "ff", "ee", "aa"].iter().map(|b| b.repeat(8)).collect::<String>());
        let out = gcm
            .encrypt(
                Nonce::from_slice(&unhex("00001234567800000000abcd")),
                Payload { msg: &plaintext, aad: &unhex("feedfacedeadbeeffeedfacedeadbeefabaddad2") },
            )
            .unwrap();
        let (ct, tag) = out.split_at(out.len() - 16);
        assert_eq!(
            hex(ct),
            "17f399f08c67d5ee19d0dc9969c4bb7d5fd46fd3756489069157b282bb200735d82710ca5c22f0ccfa7cbf93d496ac15a56834cbcf98c397b4024a2691233b8d"
        );
        assert_eq!(hex(tag), "83de3541e4c2b58177e065a9bf7b62ec");
    }

    /// API.md: the envelope layout and the lookup construction, recomputed by hand.
    #[test]
    fn gm_envelopes_and_lookups_are_as_documented() {
        let material = KeyMaterial::generate();
        assert_eq!(material.suite, Suite::Gm);
        let v = Vault::new(&material).unwrap();
        let sealed = v.seal_str(Field::DocNumber, "11010519491231002X");
        assert_eq!(&sealed[..4], &1u32.to_be_bytes());
        let DataKey::Typed { alg, key } = &material.data_keys["1"] else { panic!("typed key") };
        assert_eq!(alg, "sm4-gcm");
        let gcm = Sm4Gcm::new_from_slice(&B64.decode(key).unwrap()).unwrap();
        let mut aad = 1u32.to_be_bytes().to_vec();
        aad.extend_from_slice(b"doc_number");
        let opened = gcm.decrypt(Nonce::from_slice(&sealed[4..16]), Payload { msg: &sealed[16..], aad: &aad }).unwrap();
        assert_eq!(opened, b"11010519491231002X");
        let mut mac = <Hmac<Sm3> as Mac>::new_from_slice(&B64.decode(&material.index_key).unwrap()).unwrap();
        for part in [&b"doc_number"[..], b"11010519491231002X"] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        assert_eq!(v.lookup(Field::DocNumber, "11010519491231002X"), mac.finalize().into_bytes().to_vec());
        // The key file says so and reads back the same.
        let text = material.to_toml();
        assert!(text.contains("suite = \"gm\"") && text.contains("alg = \"sm4-gcm\""), "{text}");
        assert_eq!(toml_from_str(&text).unwrap(), material);
    }

    /// A file from before (no `suite`, bare AES keys) keeps working unchanged.
    #[test]
    fn intl_files_from_before_keep_working() {
        let text = format!(
            "index_key = \"{}\"\ncurrent = 1\n[data_keys]\n1 = \"{}\"\n",
            B64.encode([7u8; 32]),
            B64.encode([9u8; 32])
        );
        let material = toml_from_str(&text).unwrap();
        assert_eq!(material.suite, Suite::Intl);
        let v = Vault::new(&material).unwrap();
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&[7u8; 32]).unwrap();
        for part in [&b"phone"[..], b"15800000011"] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        assert_eq!(v.lookup(Field::Phone, "15800000011"), mac.finalize().into_bytes().to_vec());
        assert_eq!(v.open_str(Field::Phone, &v.seal_str(Field::Phone, "1")).unwrap(), "1");
        // A gm suite with an AES current key is refused, and the reverse.
        let mut wrong = material.clone();
        wrong.suite = Suite::Gm;
        assert!(Vault::new(&wrong).is_err());
    }

    /// `move_to(gm)`: old envelopes still open, new ones are SM4, and lookups find rows hashed
    /// either way until the rehash is done; the audit chain keeps its key.
    #[test]
    fn moving_from_intl_to_gm_keeps_old_rows_reachable() {
        let intl = KeyMaterial::generate_intl();
        let old = Vault::new(&intl).unwrap();
        let sealed = old.seal_str(Field::Email, "a@example.com");
        let old_hash = old.lookup(Field::Email, "a@example.com");
        let gm = intl.move_to(Suite::Gm).unwrap();
        assert!(intl.move_to(Suite::Intl).is_err());
        assert!(gm.move_to(Suite::Intl).is_err(), "one change of suite at a time");
        let new = Vault::new(&gm).unwrap();
        assert_eq!(new.suite(), Suite::Gm);
        assert!(new.rehashing());
        assert_eq!(new.open_str(Field::Email, &sealed).unwrap(), "a@example.com");
        assert!(new.is_stale(&sealed));
        let hashes = new.lookups(Field::Email, "a@example.com");
        assert_eq!(hashes.previous, old_hash);
        assert_ne!(hashes.current, old_hash);
        assert_eq!(new.audit_mac(&[b"x"]), old.audit_mac(&[b"x"]), "the chain's key survives the move");
        // Password tags computed before the move still check during it.
        let tag = old.password_tag(Holder::Account, 7, "$argon2id$x");
        assert!(new.password_tag_ok(Holder::Account, 7, "$argon2id$x", &tag));
        assert!(!new.password_tag_ok(Holder::Account, 8, "$argon2id$x", &tag));
        let text = gm.to_toml();
        assert!(text.contains("previous_index_key") && text.contains("previous_suite = \"intl\""), "{text}");
        assert_eq!(toml_from_str(&text).unwrap(), gm);
    }
}
