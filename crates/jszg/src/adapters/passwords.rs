//! Password hashing with argon2id on a fixed pool of worker threads. Each
//! worker owns one argon2 memory area (`memory_kib`) and reuses it for every
//! hash, so memory stays at workers × `memory_kib` however many logins
//! arrive, no page is faulted in twice, and the async workers never block.
//! The queue in front of the workers is bounded: past `queue_limit` waiting
//! jobs a request is refused at once with 503 `server_busy` (and
//! `Retry-After`), instead of waiting longer than any client would.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, PasswordHash, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use subtle::ConstantTimeEq;
use tokio::sync::oneshot;
use zeroize::Zeroizing;

use crate::config::Argon2Config;
use crate::error::{ErrorCode, AppError, AppResult};

#[derive(Clone)]
pub struct Hasher {
    params: Params,
    jobs: mpsc::SyncSender<Job>,
    /// A hash of a random password at the current parameters, verified
    /// against when the account does not exist so timing tells nothing.
    dummy: Arc<String>,
    /// Jobs accepted so far (hashes and verifications): what the pool has been asked to spend.
    accepted: Arc<std::sync::atomic::AtomicU64>,
}

/// Outcome of checking a password against a stored hash.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Valid { rehash: bool },
    Invalid,
}

enum Job {
    Hash { password: Zeroizing<String>, reply: oneshot::Sender<Result<String, String>> },
    Verify { password: Zeroizing<String>, stored: String, real: bool, reply: oneshot::Sender<Verdict> },
}

/// Stored argon2 hashes never ask for more than this (a corrupt row must
/// not make a worker allocate gigabytes).
const MAX_MEMORY_KIB: u32 = 1024 * 1024;

struct Worker {
    params: Params,
    memory: Vec<Block>,
}

impl Worker {
    fn blocks(&mut self, needed: usize) -> &mut [Block] {
        if self.memory.len() < needed {
            self.memory.resize(needed, Block::default());
        }
        &mut self.memory[..needed]
    }

    fn hash(&mut self, password: &[u8]) -> Result<String, String> {
        let salt = SaltString::generate(&mut OsRng);
        let mut salt_bytes = [0u8; 64];
        let salt_raw = salt.decode_b64(&mut salt_bytes).map_err(|e| e.to_string())?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone());
        let mut out = [0u8; 32];
        let blocks = self.params.block_count();
        argon.hash_password_into_with_memory(password, salt_raw, &mut out, self.blocks(blocks)).map_err(|e| e.to_string())?;
        let phc = PasswordHash {
            algorithm: argon2::ARGON2ID_IDENT,
            version: Some(Version::V0x13.into()),
            params: (&self.params).try_into().map_err(|e: argon2::password_hash::Error| e.to_string())?,
            salt: Some(salt.as_salt()),
            hash: Some(Output::new(&out).map_err(|e| e.to_string())?),
        };
        Ok(phc.to_string())
    }

    fn verify(&mut self, password: &[u8], stored: &str, real: bool) -> Verdict {
        // Imported legacy accounts may carry bcrypt (modular crypt) or
        // PBKDF2 (PHC) hashes; they verify here and are upgraded (REC-4).
        if is_bcrypt(stored) {
            let ok = bcrypt::verify(password, stored).unwrap_or(false);
            return if ok && real { Verdict::Valid { rehash: true } } else { Verdict::Invalid };
        }
        let Ok(parsed) = PasswordHash::new(stored) else {
            return Verdict::Invalid;
        };
        let algorithm = parsed.algorithm.as_str();
        let ok = if algorithm.starts_with("pbkdf2") {
            pbkdf2::Pbkdf2.verify_password(password, &parsed).is_ok()
        } else {
            self.verify_argon2(password, &parsed).unwrap_or(false)
        };
        if !(ok && real) {
            return Verdict::Invalid;
        }
        let current = &self.params;
        let rehash = algorithm != "argon2id"
            || Params::try_from(&parsed)
                .map(|p| (p.m_cost(), p.t_cost(), p.p_cost()) != (current.m_cost(), current.t_cost(), current.p_cost()))
                .unwrap_or(true);
        Verdict::Valid { rehash }
    }

    fn verify_argon2(&mut self, password: &[u8], parsed: &PasswordHash<'_>) -> Option<bool> {
        let algorithm = Algorithm::try_from(parsed.algorithm).ok()?;
        let version = match parsed.version {
            Some(v) => Version::try_from(v).ok()?,
            None => Version::default(),
        };
        let params = Params::try_from(parsed).ok()?;
        if params.m_cost() > MAX_MEMORY_KIB {
            return None;
        }
        let expected = parsed.hash?;
        let mut salt_bytes = [0u8; 64];
        let salt = parsed.salt?.decode_b64(&mut salt_bytes).ok()?;
        let mut out = vec![0u8; expected.len()];
        let blocks = params.block_count();
        Argon2::new(algorithm, version, params).hash_password_into_with_memory(password, salt, &mut out, self.blocks(blocks)).ok()?;
        Some(bool::from(out.ct_eq(expected.as_bytes())))
    }
}

impl Hasher {
    pub fn new(config: &Argon2Config) -> Result<Self, String> {
        let params =
            Params::new(config.memory_kib, config.iterations, config.parallelism, None).map_err(|e| format!("argon2 parameters: {e}"))?;
        let (jobs, rx) = mpsc::sync_channel::<Job>(config.queue_limit.max(1));
        let rx = Arc::new(Mutex::new(rx));
        for n in 0..config.max_concurrent.max(1) {
            let rx = rx.clone();
            let mut worker = Worker { params: params.clone(), memory: Vec::new() };
            std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || loop {
                    let job = match rx.lock() {
                        Ok(guard) => guard.recv(),
                        Err(_) => return,
                    };
                    match job {
                        Ok(Job::Hash { password, reply }) => {
                            let _ = reply.send(worker.hash(password.as_bytes()));
                        }
                        Ok(Job::Verify { password, stored, real, reply }) => {
                            let _ = reply.send(worker.verify(password.as_bytes(), &stored, real));
                        }
                        Err(_) => return, // every Hasher is gone
                    }
                })
                .map_err(|e| format!("argon2 worker: {e}"))?;
        }
        let mut hasher = Self { params, jobs, dummy: Arc::new(String::new()), accepted: Arc::default() };
        let mut worker = Worker { params: hasher.params.clone(), memory: Vec::new() };
        hasher.dummy = Arc::new(worker.hash(random_password().as_bytes())?);
        Ok(hasher)
    }

    pub async fn hash(&self, password: &str) -> AppResult<String> {
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Hash { password: Zeroizing::new(password.to_owned()), reply })?;
        answer.await.map_err(|_| AppError::internal("argon2 worker dropped a job"))?.map_err(AppError::internal)
    }

    /// Hashes and verifications accepted since start (tests of the order of checks).
    pub fn jobs_accepted(&self) -> u64 {
        self.accepted.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Verify against `stored`, or against the dummy hash when there is no
    /// account (or no password), so both cases cost the same.
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> AppResult<Verdict> {
        let (reply, answer) = oneshot::channel();
        let job = Job::Verify {
            password: Zeroizing::new(password.to_owned()),
            stored: stored.unwrap_or(&self.dummy).to_owned(),
            real: stored.is_some(),
            reply,
        };
        self.submit(job)?;
        answer.await.map_err(|_| AppError::internal("argon2 worker dropped a job"))
    }

    /// Queue a job without waiting for room: a full queue means the workers are
    /// seconds behind, and the client is better told to come back.
    fn submit(&self, job: Job) -> AppResult<()> {
        match self.jobs.try_send(job) {
            Ok(()) => {
                self.accepted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                Ok(())
            }
            Err(mpsc::TrySendError::Full(_)) => Err(busy()),
            Err(mpsc::TrySendError::Disconnected(_)) => Err(AppError::internal("argon2 workers stopped")),
        }
    }
}

/// 503 with `Retry-After: 1`: every password worker is busy and the queue is full.
fn busy() -> AppError {
    AppError::new(ErrorCode::ServerBusy, "当前访问人数较多，请稍后重试。").with("retry_after", 1)
}

fn random_password() -> String {
    SaltString::generate(&mut OsRng).as_str().to_owned()
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
        Argon2Config { memory_kib: 1024, iterations: 1, parallelism: 1, max_concurrent: 2, queue_limit: 64 }
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
    async fn hashes_are_standard_phc_strings() {
        use argon2::password_hash::PasswordHasher;
        let hasher = Hasher::new(&cheap()).unwrap();
        // Ours verify with the reference implementation…
        let ours = hasher.hash("Abc#12345").await.unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default().verify_password(b"Abc#12345", &parsed).is_ok());
        assert!(Argon2::default().verify_password(b"Abc#12346", &parsed).is_err());
        // …and the reference implementation's verify with ours.
        let params = Params::new(1024, 1, 1, None).unwrap();
        let salt = SaltString::generate(&mut OsRng);
        let reference = Argon2::new(Algorithm::Argon2id, Version::V0x13, params).hash_password(b"Ref#12345", &salt).unwrap().to_string();
        assert_eq!(hasher.verify("Ref#12345", Some(&reference)).await.unwrap(), Verdict::Valid { rehash: false });
        // A different-sized earlier hash (argon2i, more memory) still verifies, then asks for an upgrade.
        let older = Argon2::new(Algorithm::Argon2i, Version::V0x13, Params::new(2048, 1, 1, None).unwrap())
            .hash_password(b"Old#12345", &salt)
            .unwrap()
            .to_string();
        assert_eq!(hasher.verify("Old#12345", Some(&older)).await.unwrap(), Verdict::Valid { rehash: true });
    }

    #[tokio::test]
    async fn a_full_queue_refuses_at_once_and_drains() {
        // One slow worker, room for one waiting job: of ten submitted together, most are refused.
        let hasher = Hasher::new(&Argon2Config { memory_kib: 8 * 1024, iterations: 3, parallelism: 1, max_concurrent: 1, queue_limit: 1 }).unwrap();
        let results = futures::future::join_all((0..10).map(|_| hasher.verify("Abc#12345", None))).await;
        let refused = results.iter().filter(|r| matches!(r, Err(e) if e.code == ErrorCode::ServerBusy)).count();
        let judged = results.iter().filter(|r| matches!(r, Ok(Verdict::Invalid))).count();
        assert_eq!(refused + judged, 10);
        assert!((1..=3).contains(&judged) && refused >= 7, "judged {judged}, refused {refused}");
        // Nothing is left waiting: the next one is judged.
        assert_eq!(hasher.verify("Abc#12345", None).await.unwrap(), Verdict::Invalid);
    }

    #[tokio::test]
    async fn legacy_formats_verify_and_ask_for_an_upgrade() {
        use argon2::password_hash::PasswordHasher;
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
