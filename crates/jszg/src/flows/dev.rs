//! Development only: the two entries registered as clients of a stand-in
//! business system served under `/dev/rp/{entry}`, so `jszg serve` shows
//! single sign-on working without any real business system.

use crate::app::App;
use crate::error::AppResult;
use crate::flows::applicant::Entry;
use crate::store::enrollments;

/// The stand-in's client secret: derived from the deployment's keys, so the
/// stand-in knows it without a file. Set at start when the entry has none.
pub fn dev_secret(app: &App, entry: Entry) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&app.vault.mac(&[b"dev_standin_secret", entry.as_str().as_bytes()])[..24])
}

pub async fn ensure_dev_secrets(app: &App) -> AppResult<()> {
    for entry in [Entry::Certification, Entry::Renewal] {
        if enrollments::client_secret_hash(&app.db, entry.as_str()).await?.is_none() {
            crate::flows::enrollment::set_secret(app, entry, &dev_secret(app, entry)).await?;
        }
    }
    Ok(())
}
