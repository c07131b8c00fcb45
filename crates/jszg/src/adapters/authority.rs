//! The identity authority (RN-4) behind a trait: the reference registry (a
//! table, filled from a CSV file and the development endpoint) and an HTTP
//! provider for a real verification service.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use jszg_domain::{DocNumber, PersonName};

use crate::crypto::sign;
use crate::store::{identities, Db};
use crate::vault::{Field, Vault};

/// What the authority says about a name for a document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    Match,
    Mismatch,
}

/// The authority could not answer: nothing was judged, so no attempt is spent.
#[derive(Debug, thiserror::Error)]
#[error("identity authority unavailable: {0}")]
pub struct Unavailable(pub String);

pub type Verdict<'a> = Pin<Box<dyn Future<Output = Result<Answer, Unavailable>> + Send + 'a>>;

pub trait IdentityAuthority: Send + Sync {
    /// Check `name` against the record for `doc`. `request_id` is the same
    /// for retries of one attempt, so a provider can charge it once.
    fn verify<'a>(&'a self, doc: &'a DocNumber, name: &'a PersonName, request_id: &'a str) -> Verdict<'a>;
}

/// The built-in reference registry: the default in development and tests.
pub struct ReferenceRegistry {
    db: Db,
    vault: std::sync::Arc<Vault>,
}

impl ReferenceRegistry {
    pub fn new(db: Db, vault: std::sync::Arc<Vault>) -> Self {
        Self { db, vault }
    }

    /// Load `doc_type,doc_number,name` rows (a header line is allowed).
    /// Returns how many were loaded; bad rows are reported and skipped.
    pub async fn load_csv(&self, path: &std::path::Path, now: i64, today: time::Date) -> Result<usize, String> {
        let mut reader =
            csv::ReaderBuilder::new().has_headers(false).flexible(true).from_path(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut loaded = 0;
        for (line, record) in reader.records().enumerate() {
            let Ok(record) = record else { continue };
            let field = |i: usize| record.get(i).unwrap_or("").trim().to_owned();
            let Ok(doc_type) = field(0).parse::<jszg_domain::DocType>() else {
                if line > 0 {
                    tracing::warn!(line = line + 1, "registry row skipped: unknown document type");
                }
                continue;
            };
            let (Ok(doc), Ok(name)) = (DocNumber::parse(doc_type, &field(1), today), PersonName::parse(doc_type, &field(2))) else {
                tracing::warn!(line = line + 1, "registry row skipped: invalid number or name");
                continue;
            };
            let hash = self.vault.lookup(Field::DocNumber, doc.as_str());
            identities::upsert(&self.db, &hash, doc_type.as_str(), name.as_str(), now).await.map_err(|e| e.to_string())?;
            loaded += 1;
        }
        Ok(loaded)
    }
}

impl IdentityAuthority for ReferenceRegistry {
    fn verify<'a>(&'a self, doc: &'a DocNumber, name: &'a PersonName, _request_id: &'a str) -> Verdict<'a> {
        Box::pin(async move {
            let hashes = self.vault.lookups(Field::DocNumber, doc.as_str());
            let mut recorded = identities::name_of(&self.db, &hashes.current, doc.doc_type().as_str()).await.map_err(|e| Unavailable(e.to_string()))?;
            // GM-1: an entry loaded before a change of suite moves to the current hash on first use.
            if recorded.is_none() && hashes.previous != hashes.current {
                let db_error = |e: sqlx::Error| Unavailable(e.to_string());
                if crate::store::rehash::move_key(&self.db, crate::store::rehash::Keyed::ReferenceIdentities, &hashes.previous, &hashes.current)
                    .await
                    .map_err(db_error)?
                {
                    recorded = identities::name_of(&self.db, &hashes.current, doc.doc_type().as_str()).await.map_err(db_error)?;
                }
            }
            let matches = recorded.and_then(|n| PersonName::parse(doc.doc_type(), &n).ok()).is_some_and(|n| n.matches(name));
            Ok(if matches { Answer::Match } else { Answer::Mismatch })
        })
    }
}

/// A verification service over HTTPS: JSON requests signed with a shared
/// secret (`X-Jszg-Signature: hex(HMAC(secret, timestamp "\n" body))`, SM3 or
/// SHA-256 by the key file's suite and named in `X-Jszg-Signature-Alg`),
/// bounded timeouts, and retries of the same request id on transport
/// failures and 5xx answers only.
pub struct HttpAuthority {
    url: String,
    secret: String,
    http: reqwest::Client,
    retries: u32,
    suite: crate::vault::Suite,
}

#[derive(Serialize)]
struct Request<'a> {
    request_id: &'a str,
    doc_type: &'a str,
    doc_number: &'a str,
    name: &'a str,
}

#[derive(Deserialize)]
struct Response {
    result: String,
}

impl HttpAuthority {
    pub fn new(url: &str, secret: &str, timeout: Duration, retries: u32, suite: crate::vault::Suite) -> Result<Self, String> {
        let http =
            reqwest::Client::builder().timeout(timeout).connect_timeout(timeout).build().map_err(|e| format!("authority client: {e}"))?;
        Ok(Self { url: url.to_owned(), secret: secret.to_owned(), http, retries, suite })
    }

    async fn once(&self, body: &[u8]) -> Result<Option<Answer>, String> {
        // The provider checks freshness against its own clock: real time.
        #[allow(clippy::disallowed_methods)]
        let timestamp = time::OffsetDateTime::now_utc().unix_timestamp().to_string();
        let response = self
            .http
            .post(&self.url)
            .header("Content-Type", "application/json")
            .header("X-Jszg-Timestamp", &timestamp)
            .header("X-Jszg-Signature", sign(self.suite, &self.secret, &timestamp, body))
            .header("X-Jszg-Signature-Alg", crate::crypto::signature_alg(self.suite))
            .body(body.to_vec())
            .send()
            .await
            .map_err(|e| format!("transport: {e}"))?;
        let status = response.status();
        if status.is_server_error() {
            return Err(format!("provider answered {status}"));
        }
        if !status.is_success() {
            // A refusal of the request itself is not a verdict on the person.
            return Ok(None);
        }
        let parsed: Response = response.json().await.map_err(|e| format!("unreadable answer: {e}"))?;
        Ok(match parsed.result.as_str() {
            "match" => Some(Answer::Match),
            "mismatch" => Some(Answer::Mismatch),
            _ => None,
        })
    }
}

impl IdentityAuthority for HttpAuthority {
    fn verify<'a>(&'a self, doc: &'a DocNumber, name: &'a PersonName, request_id: &'a str) -> Verdict<'a> {
        Box::pin(async move {
            let body = serde_json::to_vec(&Request {
                request_id,
                doc_type: doc.doc_type().as_str(),
                doc_number: doc.as_str(),
                name: name.as_str(),
            })
            .map_err(|e| Unavailable(e.to_string()))?;
            let mut last = String::new();
            for attempt in 0..=self.retries {
                if attempt > 0 {
                    tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
                }
                match self.once(&body).await {
                    Ok(Some(answer)) => return Ok(answer),
                    Ok(None) => return Err(Unavailable("provider refused the request".into())),
                    Err(err) => {
                        tracing::warn!(attempt, error = %err, "identity authority call failed");
                        last = err;
                    }
                }
            }
            Err(Unavailable(last))
        })
    }
}
