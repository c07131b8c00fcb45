//! RS256 signing keys. Generated with `rsa` (2048 bits), stored as sealed
//! PKCS#1 DER in the database so every instance signs with the same key and
//! publishes the same JWKS; signing itself goes through `jsonwebtoken`
//! (ring). The newest live key signs; a retired key stays in the JWKS until
//! every token it signed has expired.

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use serde::Serialize;

use crate::app::App;
use crate::error::{AppError, AppResult};
use crate::store::oidc::{self as store, SigningKey};
use crate::vault::Field;

/// The longest a token we sign stays valid (ID, logout and access tokens).
pub const TOKEN_LIFETIME: i64 = 600;

pub use crate::adapters::signing_keys::KeyCache;

fn generate(app: &App) -> AppResult<SigningKey> {
    let mut rng = rand::rngs::OsRng;
    let private = rsa::RsaPrivateKey::new(&mut rng, 2048).map_err(AppError::internal)?;
    let der = private.to_pkcs1_der().map_err(AppError::internal)?;
    let n = B64URL.encode(private.n().to_bytes_be());
    let e = B64URL.encode(private.e().to_bytes_be());
    // The kid names the public key: a thumbprint-like digest of n and e.
    let kid = {
        use sha2::{Digest, Sha256};
        B64URL.encode(&Sha256::digest(format!("{e}.{n}").as_bytes())[..12])
    };
    Ok(SigningKey {
        kid,
        private_enc: app.vault.seal(Field::SigningKey, der.as_bytes()),
        n,
        e,
        created_at: app.clock.unix(),
        retired_at: None,
    })
}

/// Key generation takes a while (prime search): off the async workers.
async fn generate_blocking(app: &App) -> AppResult<SigningKey> {
    let app = app.clone();
    tokio::task::spawn_blocking(move || generate(&app)).await.map_err(AppError::internal)?
}

/// `jszg keys rotate-signing`: a new key signs from now on; returns its kid.
pub async fn rotate(app: &App) -> AppResult<String> {
    let key = generate_blocking(app).await?;
    let mut tx = app.db.begin().await?;
    store::add_signing_key(&mut tx, &key).await?;
    tx.commit().await?;
    tracing::info!(kid = %key.kid, "new signing key");
    Ok(key.kid)
}

/// The current key, created on first use.
async fn current(app: &App) -> AppResult<SigningKey> {
    if let Some(key) = store::current_signing_key(&app.db).await? {
        return Ok(key);
    }
    let _guard = app.signing_keys.creating.lock().await;
    if let Some(key) = store::current_signing_key(&app.db).await? {
        return Ok(key);
    }
    let key = generate_blocking(app).await?;
    let mut tx = app.db.begin().await?;
    store::add_signing_key(&mut tx, &key).await?;
    tx.commit().await?;
    tracing::info!(kid = %key.kid, "created the first signing key");
    Ok(key)
}

/// Make sure a signing key exists (at start, so the first login does not wait).
pub async fn ensure(app: &App) -> AppResult<()> {
    current(app).await.map(|_| ())
}

fn encoding_key(app: &App, key: &SigningKey) -> AppResult<Arc<EncodingKey>> {
    let mut cache = app.signing_keys.signing.lock().map_err(|_| AppError::internal("key cache poisoned"))?;
    if let Some(found) = cache.get(&key.kid) {
        return Ok(found.clone());
    }
    let der = zeroize::Zeroizing::new(app.vault.open(Field::SigningKey, &key.private_enc)?);
    let parsed = Arc::new(EncodingKey::from_rsa_der(&der));
    cache.insert(key.kid.clone(), parsed.clone());
    Ok(parsed)
}

/// Sign claims as a JWT (RS256, with `kid`) of the given `typ`.
pub async fn sign<T: Serialize>(app: &App, typ: &str, claims: &T) -> AppResult<String> {
    let key = current(app).await?;
    let encoding = encoding_key(app, &key)?;
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(key.kid.clone());
    header.typ = Some(typ.to_owned());
    jsonwebtoken::encode(&header, claims, &encoding).map_err(AppError::internal)
}

#[derive(Serialize)]
pub struct Jwk {
    pub kty: &'static str,
    #[serde(rename = "use")]
    pub use_: &'static str,
    pub alg: &'static str,
    pub kid: String,
    pub n: String,
    pub e: String,
}

/// Every key a valid token may carry.
pub async fn published(app: &App) -> AppResult<Vec<SigningKey>> {
    current(app).await?;
    // Retired keys stay while a token they signed may be alive, plus a margin for clock skew.
    Ok(store::published_keys(&app.db, app.clock.unix() - TOKEN_LIFETIME - 60).await?)
}

pub async fn jwks(app: &App) -> AppResult<Vec<Jwk>> {
    Ok(published(app).await?.into_iter().map(|k| Jwk { kty: "RSA", use_: "sig", alg: "RS256", kid: k.kid, n: k.n, e: k.e }).collect())
}

/// Verify a token we signed (signature, issuer), allowing it to have
/// expired: RP-initiated logout accepts an expired `id_token_hint`.
pub async fn verify_ours<T: serde::de::DeserializeOwned>(app: &App, token: &str) -> Option<T> {
    let header = jsonwebtoken::decode_header(token).ok()?;
    let kid = header.kid?;
    let keys = published(app).await.ok()?;
    let key = keys.into_iter().find(|k| k.kid == kid)?;
    let decoding = DecodingKey::from_rsa_components(&key.n, &key.e).ok()?;
    let mut validation = jsonwebtoken::Validation::new(Algorithm::RS256);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    validation.set_issuer(&[app.config.public_url()]);
    jsonwebtoken::decode::<T>(token, &decoding, &validation).ok().map(|d| d.claims)
}
