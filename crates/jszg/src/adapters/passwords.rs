//! Password hashing with argon2id on the blocking pool. A semaphore bounds
//! how many hashes run at once: each one holds `memory_kib` of RAM, and a
//! burst of logins must not exhaust memory or starve the async workers.

use std::sync::Arc;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::config::Argon2Config;
use crate::error::{AppError, AppResult};

#[derive(Clone)]
pub struct Hasher {
    params: Params,
    permits: Arc<Semaphore>,
    /// A hash of a random password at the current parameters, verified
    /// against when the account does not exist so timing tells nothing.
    dummy: Arc<String>,
}

/// Outcome of checking a password against a stored hash.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Valid { rehash: bool },
    Invalid,
}

impl Hasher {
    pub fn new(config: &Argon2Config) -> Result<Self, String> {
        let params = Params::new(config.memory_kib, config.iterations, config.parallelism, None)
            .map_err(|e| format!("argon2 parameters: {e}"))?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
        let salt = SaltString::generate(&mut OsRng);
        let dummy = argon
            .hash_password(salt.as_str().as_bytes(), &salt)
            .map_err(|e| format!("argon2: {e}"))?
            .to_string();
        Ok(Self { params, permits: Arc::new(Semaphore::new(config.max_concurrent.max(1))), dummy: Arc::new(dummy) })
    }

    fn argon(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    pub async fn hash(&self, password: &str) -> AppResult<String> {
        let _permit = self.permits.acquire().await.map_err(AppError::internal)?;
        let argon = self.argon();
        let password = zeroize::Zeroizing::new(password.to_owned());
        tokio::task::spawn_blocking(move || {
            let salt = SaltString::generate(&mut OsRng);
            argon.hash_password(password.as_bytes(), &salt).map(|h| h.to_string())
        })
        .await?
        .map_err(AppError::internal)
    }

    /// Verify against `stored`, or against the dummy hash when there is no
    /// account (or no password), so both cases cost the same.
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> AppResult<Verdict> {
        let _permit = self.permits.acquire().await.map_err(AppError::internal)?;
        let argon = self.argon();
        let real = stored.is_some();
        let stored = stored.unwrap_or(&self.dummy).to_owned();
        let password = zeroize::Zeroizing::new(password.to_owned());
        let current = self.params.clone();
        tokio::task::spawn_blocking(move || {
            // Imported legacy accounts may carry bcrypt (modular crypt) or
            // PBKDF2 (PHC) hashes; they verify here and are upgraded (REC-4).
            if is_bcrypt(&stored) {
                let ok = bcrypt::verify(password.as_bytes(), &stored).unwrap_or(false);
                return if ok && real { Verdict::Valid { rehash: true } } else { Verdict::Invalid };
            }
            let Ok(parsed) = PasswordHash::new(&stored) else {
                return Verdict::Invalid;
            };
            let ok = if parsed.algorithm.as_str().starts_with("pbkdf2") {
                pbkdf2::Pbkdf2.verify_password(password.as_bytes(), &parsed).is_ok()
            } else {
                argon.verify_password(password.as_bytes(), &parsed).is_ok()
            };
            if !(ok && real) {
                return Verdict::Invalid;
            }
            let rehash = parsed.algorithm.as_str() != "argon2id"
                || Params::try_from(&parsed)
                    .map(|p| (p.m_cost(), p.t_cost(), p.p_cost()) != (current.m_cost(), current.t_cost(), current.p_cost()))
                    .unwrap_or(true);
            Verdict::Valid { rehash }
        })
        .await
        .map_err(AppError::from)
    }
}

fn is_bcrypt(hash: &str) -> bool {
    ["$2a$", "$2b$", "$2y$", "$2x$"].iter().any(|p| hash.starts_with(p))
}

/// Whether a stored hash is in a format this server can verify.
pub fn recognised(hash: &str) -> bool {
    if is_bcrypt(hash) {
        return hash.len() == 60;
    }
    match PasswordHash::new(hash) {
        Ok(parsed) => {
            let alg = parsed.algorithm.as_str();
            (alg.starts_with("argon2") || alg.starts_with("pbkdf2")) && parsed.hash.is_some()
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> Argon2Config {
        Argon2Config { memory_kib: 1024, iterations: 1, parallelism: 1, max_concurrent: 2 }
    }

    #[tokio::test]
    async fn hash_verify_and_upgrade() {
        let hasher = Hasher::new(&cheap()).unwrap();
        let hash = hasher.hash("Abc#12345").await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert_eq!(hasher.verify("Abc#12345", Some(&hash)).await.unwrap(), Verdict::Valid { rehash: false });
        assert_eq!(hasher.verify("Abc#12346", Some(&hash)).await.unwrap(), Verdict::Invalid);
        assert_eq!(hasher.verify("Abc#12345", None).await.unwrap(), Verdict::Invalid);
        assert_eq!(hasher.verify("Abc#12345", Some("garbage")).await.unwrap(), Verdict::Invalid);

        let stronger = Hasher::new(&Argon2Config { memory_kib: 2048, ..cheap() }).unwrap();
        assert_eq!(stronger.verify("Abc#12345", Some(&hash)).await.unwrap(), Verdict::Valid { rehash: true });
    }

    #[tokio::test]
    async fn legacy_formats_verify_and_ask_for_an_upgrade() {
        let hasher = Hasher::new(&cheap()).unwrap();
        let bcrypt = bcrypt::hash("Old#pass1", 4).unwrap();
        assert!(recognised(&bcrypt));
        assert_eq!(hasher.verify("Old#pass1", Some(&bcrypt)).await.unwrap(), Verdict::Valid { rehash: true });
        assert_eq!(hasher.verify("Old#pass2", Some(&bcrypt)).await.unwrap(), Verdict::Invalid);
        let salt = SaltString::generate(&mut OsRng);
        let pbkdf2 = pbkdf2::Pbkdf2
            .hash_password_customized(b"Old#pass1", None, None, pbkdf2::Params { rounds: 1000, output_length: 32 }, &salt)
            .unwrap()
            .to_string();
        assert!(recognised(&pbkdf2));
        assert_eq!(hasher.verify("Old#pass1", Some(&pbkdf2)).await.unwrap(), Verdict::Valid { rehash: true });
        assert_eq!(hasher.verify("nope", Some(&pbkdf2)).await.unwrap(), Verdict::Invalid);
        assert!(!recognised("md5:abcdef"));
        assert!(!recognised(""));
    }
}
