//! Token signing keys, one current key per algorithm (GM-4):
//! - RS256: `rsa` (2048 bits) generates, `jsonwebtoken` (ring) signs;
//! - SM2: SM2 with SM3 (GM/T 0009, user id `1234567812345678`) from RustCrypto's
//!   `sm2`, the signature `r ‖ s` in base64url as API.md fixes it.
//!
//! Private keys are stored sealed in the database so every instance signs with
//! the same key and publishes the same JWKS. The newest live key of an
//! algorithm signs; a retired key stays in the JWKS until every token it signed
//! has expired.

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use serde::{Deserialize, Serialize};
use sm2::dsa::signature::{Signer as _, Verifier as _};
use sm2::elliptic_curve::sec1::ToEncodedPoint as _;

use crate::app::App;
use crate::config::SigningAlg;
use crate::error::{AppError, AppResult};
use crate::store::oidc::{self as store, SigningKey};
use crate::vault::Field;

/// The longest a token we sign stays valid (ID, logout and access tokens).
pub const TOKEN_LIFETIME: i64 = 600;

/// The SM2 distinguishing identifier (GM/T 0009's default user id).
pub const SM2_USER_ID: &str = "1234567812345678";

pub use crate::adapters::signing_keys::KeyCache;
use crate::adapters::signing_keys::Parsed;

/// A short name for a public key: a digest of its two public values.
fn kid_of(a: &str, b: &str) -> String {
    use sha2::{Digest, Sha256};
    B64URL.encode(&Sha256::digest(format!("{b}.{a}").as_bytes())[..12])
}

fn generate(app: &App, alg: SigningAlg) -> AppResult<SigningKey> {
    let mut rng = rand::rngs::OsRng;
    let (private, n, e) = match alg {
        SigningAlg::Rs256 => {
            let private = rsa::RsaPrivateKey::new(&mut rng, 2048).map_err(AppError::internal)?;
            let der = private.to_pkcs1_der().map_err(AppError::internal)?;
            let n = B64URL.encode(private.n().to_bytes_be());
            let e = B64URL.encode(private.e().to_bytes_be());
            (zeroize::Zeroizing::new(der.as_bytes().to_vec()), n, e)
        }
        SigningAlg::Sm2 => {
            let secret = sm2::SecretKey::random(&mut rng);
            let point = secret.public_key().to_encoded_point(false);
            let (Some(x), Some(y)) = (point.x(), point.y()) else {
                return Err(AppError::internal("SM2 public key without coordinates"));
            };
            (zeroize::Zeroizing::new(secret.to_bytes().to_vec()), B64URL.encode(x), B64URL.encode(y))
        }
    };
    Ok(SigningKey {
        kid: kid_of(&n, &e),
        alg: alg.as_str().to_owned(),
        private_enc: app.vault.seal(Field::SigningKey, &private),
        n,
        e,
        created_at: app.clock.unix(),
        retired_at: None,
    })
}

/// RSA key generation takes a while (prime search): off the async workers.
async fn generate_blocking(app: &App, alg: SigningAlg) -> AppResult<SigningKey> {
    let app = app.clone();
    tokio::task::spawn_blocking(move || generate(&app, alg)).await.map_err(AppError::internal)?
}

/// `jszg keys rotate-signing`: a new key of every algorithm signs from now on;
/// returns their kids.
pub async fn rotate(app: &App) -> AppResult<Vec<(SigningAlg, String)>> {
    let mut kids = Vec::new();
    for alg in SigningAlg::ALL {
        let key = generate_blocking(app, alg).await?;
        let mut tx = app.db.begin().await?;
        store::add_signing_key(&mut tx, &key).await?;
        tx.commit().await?;
        tracing::info!(kid = %key.kid, alg = alg.as_str(), "new signing key");
        kids.push((alg, key.kid));
    }
    Ok(kids)
}

/// The current key of `alg`, created on first use.
async fn current(app: &App, alg: SigningAlg) -> AppResult<SigningKey> {
    if let Some(key) = store::current_signing_key(&app.db, alg.as_str()).await? {
        return Ok(key);
    }
    let _guard = app.signing_keys.creating.lock().await;
    if let Some(key) = store::current_signing_key(&app.db, alg.as_str()).await? {
        return Ok(key);
    }
    let key = generate_blocking(app, alg).await?;
    let mut tx = app.db.begin().await?;
    store::add_signing_key(&mut tx, &key).await?;
    tx.commit().await?;
    tracing::info!(kid = %key.kid, alg = alg.as_str(), "created the first signing key");
    Ok(key)
}

/// Make sure a key of every algorithm exists (at start, so the first login does not wait).
pub async fn ensure(app: &App) -> AppResult<()> {
    for alg in SigningAlg::ALL {
        current(app, alg).await?;
    }
    Ok(())
}

fn parsed(app: &App, key: &SigningKey) -> AppResult<Arc<Parsed>> {
    let mut cache = app.signing_keys.signing.lock().map_err(|_| AppError::internal("key cache poisoned"))?;
    if let Some(found) = cache.get(&key.kid) {
        return Ok(found.clone());
    }
    let der = zeroize::Zeroizing::new(app.vault.open(Field::SigningKey, &key.private_enc)?);
    let parsed = Arc::new(match key.alg.as_str() {
        "SM2" => Parsed::Sm2(sm2::dsa::SigningKey::from_slice(SM2_USER_ID, &der).map_err(AppError::internal)?),
        _ => Parsed::Rsa(EncodingKey::from_rsa_der(&der)),
    });
    cache.insert(key.kid.clone(), parsed.clone());
    Ok(parsed)
}

#[derive(Serialize)]
struct Sm2Header<'a> {
    alg: &'static str,
    kid: &'a str,
    typ: &'a str,
}

/// Sign claims as a JWT of the given `typ` with the current key of `alg` (with `kid`).
pub async fn sign<T: Serialize>(app: &App, alg: SigningAlg, typ: &str, claims: &T) -> AppResult<String> {
    let key = current(app, alg).await?;
    match &*parsed(app, &key)? {
        Parsed::Rsa(encoding) => {
            let mut header = Header::new(Algorithm::RS256);
            header.kid = Some(key.kid.clone());
            header.typ = Some(typ.to_owned());
            jsonwebtoken::encode(&header, claims, encoding).map_err(AppError::internal)
        }
        Parsed::Sm2(signing) => {
            let header = serde_json::to_vec(&Sm2Header { alg: "SM2", kid: &key.kid, typ }).map_err(AppError::internal)?;
            let payload = serde_json::to_vec(claims).map_err(AppError::internal)?;
            let input = format!("{}.{}", B64URL.encode(header), B64URL.encode(payload));
            let signature: sm2::dsa::Signature = signing.try_sign(input.as_bytes()).map_err(AppError::internal)?;
            Ok(format!("{input}.{}", B64URL.encode(signature.to_bytes())))
        }
    }
}

/// A published key, as RFC 7517 and API.md's SM2 shape write it.
#[derive(Serialize)]
#[serde(untagged)]
pub enum Jwk {
    Rsa {
        kty: &'static str,
        #[serde(rename = "use")]
        use_: &'static str,
        alg: &'static str,
        kid: String,
        n: String,
        e: String,
    },
    Sm2 {
        kty: &'static str,
        crv: &'static str,
        #[serde(rename = "use")]
        use_: &'static str,
        alg: &'static str,
        kid: String,
        x: String,
        y: String,
    },
}

/// Every key a valid token may carry.
pub async fn published(app: &App) -> AppResult<Vec<SigningKey>> {
    ensure(app).await?;
    // Retired keys stay while a token they signed may be alive, plus a margin for clock skew.
    Ok(store::published_keys(&app.db, app.clock.unix() - TOKEN_LIFETIME - 60).await?)
}

pub async fn jwks(app: &App) -> AppResult<Vec<Jwk>> {
    Ok(published(app)
        .await?
        .into_iter()
        .map(|k| match k.alg.as_str() {
            "SM2" => Jwk::Sm2 { kty: "EC", crv: "SM2", use_: "sig", alg: "SM2", kid: k.kid, x: k.n, y: k.e },
            _ => Jwk::Rsa { kty: "RSA", use_: "sig", alg: "RS256", kid: k.kid, n: k.n, e: k.e },
        })
        .collect())
}

#[derive(Deserialize)]
struct AnyHeader {
    alg: String,
    kid: Option<String>,
}

#[derive(Deserialize)]
struct Issued {
    iss: String,
}

/// The header of a compact JWS, read without trusting it.
fn header_of(token: &str) -> Option<AnyHeader> {
    let first = token.split('.').next()?;
    serde_json::from_slice(&B64URL.decode(first).ok()?).ok()
}

/// Check an SM2 JWS against a published key; the payload on success.
fn verify_sm2(key: &SigningKey, token: &str) -> Option<Vec<u8>> {
    let (input, signature) = token.rsplit_once('.')?;
    let (_, payload) = input.split_once('.')?;
    let mut point = vec![0x04];
    point.extend(B64URL.decode(&key.n).ok()?);
    point.extend(B64URL.decode(&key.e).ok()?);
    let verifying = sm2::dsa::VerifyingKey::from_sec1_bytes(SM2_USER_ID, &point).ok()?;
    let signature = sm2::dsa::Signature::from_slice(&B64URL.decode(signature).ok()?).ok()?;
    verifying.verify(input.as_bytes(), &signature).ok()?;
    B64URL.decode(payload).ok()
}

/// Verify a token we signed (signature, issuer), allowing it to have
/// expired: RP-initiated logout accepts an expired `id_token_hint`.
pub async fn verify_ours<T: serde::de::DeserializeOwned>(app: &App, token: &str) -> Option<T> {
    let header = header_of(token)?;
    let kid = header.kid?;
    let keys = published(app).await.ok()?;
    let key = keys.into_iter().find(|k| k.kid == kid && k.alg == header.alg)?;
    if key.alg == "SM2" {
        let payload = verify_sm2(&key, token)?;
        let issued: Issued = serde_json::from_slice(&payload).ok()?;
        if issued.iss != app.config.public_url() {
            return None;
        }
        return serde_json::from_slice(&payload).ok();
    }
    let decoding = DecodingKey::from_rsa_components(&key.n, &key.e).ok()?;
    let mut validation = jsonwebtoken::Validation::new(Algorithm::RS256);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    validation.set_issuer(&[app.config.public_url()]);
    jsonwebtoken::decode::<T>(token, &decoding, &validation).ok().map(|d| d.claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sm2_key() -> (SigningKey, sm2::dsa::SigningKey) {
        let secret = sm2::SecretKey::random(&mut rand::rngs::OsRng);
        let point = secret.public_key().to_encoded_point(false);
        let (x, y) = (B64URL.encode(point.x().unwrap()), B64URL.encode(point.y().unwrap()));
        let key = SigningKey {
            kid: kid_of(&x, &y),
            alg: "SM2".into(),
            private_enc: Vec::new(),
            n: x,
            e: y,
            created_at: 0,
            retired_at: None,
        };
        (key, sm2::dsa::SigningKey::new(SM2_USER_ID, &secret).unwrap())
    }

    fn jws(signing: &sm2::dsa::SigningKey, payload: &str) -> String {
        let input = format!("{}.{}", B64URL.encode(br#"{"alg":"SM2"}"#), B64URL.encode(payload));
        let signature: sm2::dsa::Signature = signing.sign(input.as_bytes());
        format!("{input}.{}", B64URL.encode(signature.to_bytes()))
    }

    #[test]
    fn an_sm2_jws_verifies_under_its_key_and_no_other() {
        let (key, signing) = sm2_key();
        let token = jws(&signing, r#"{"iss":"x"}"#);
        assert_eq!(token.rsplit('.').next().map(|s| B64URL.decode(s).unwrap().len()), Some(64), "r ‖ s");
        assert_eq!(verify_sm2(&key, &token).as_deref(), Some(&br#"{"iss":"x"}"#[..]));
        let (other, _) = sm2_key();
        assert!(verify_sm2(&other, &token).is_none());
        let tampered = token.replacen(&B64URL.encode(r#"{"iss":"x"}"#), &B64URL.encode(r#"{"iss":"y"}"#), 1);
        assert!(verify_sm2(&key, &tampered).is_none());
    }

    #[test]
    fn the_signature_is_over_za_and_the_signing_input() {
        // GM/T 0009 hashes Z_A (from the user id and the key) before the message: the same
        // signature checked under another user id fails.
        let (key, signing) = sm2_key();
        let token = jws(&signing, "{}");
        let (input, sig) = token.rsplit_once('.').unwrap();
        let mut point = vec![0x04];
        point.extend(B64URL.decode(&key.n).unwrap());
        point.extend(B64URL.decode(&key.e).unwrap());
        let other_id = sm2::dsa::VerifyingKey::from_sec1_bytes("ALICE123@YAHOO.COM", &point).unwrap();
        let signature = sm2::dsa::Signature::from_slice(&B64URL.decode(sig).unwrap()).unwrap();
        assert!(other_id.verify(input.as_bytes(), &signature).is_err());
    }
}
