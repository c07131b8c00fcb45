//! The process's cache of parsed OpenID Connect signing keys. The keys
//! themselves live sealed in the database (`store::oidc`); this only spares a
//! request from unsealing and parsing them again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use jsonwebtoken::EncodingKey;

/// A parsed private key.
pub enum Parsed {
    Rsa(EncodingKey),
    Sm2(sm2::dsa::SigningKey),
}

/// Parsed keys by `kid`, so a request does not unseal and parse each time.
#[derive(Default)]
pub struct KeyCache {
    pub signing: Mutex<HashMap<String, Arc<Parsed>>>,
    /// Serialises the first generation within one process.
    pub creating: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyCache")
    }
}
