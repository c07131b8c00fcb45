//! Development only: the two entries registered as clients of a stand-in
//! business system served under `/dev/rp/{entry}`, so `jszg serve` shows
//! single sign-on working without any real business system.

use crate::app::App;
use crate::config::{ClientConfig, ClientsConfig};
use crate::error::AppResult;
use crate::flows::applicant::Entry;
use crate::store::enrollments;

pub fn default_clients(public_url: &str) -> ClientsConfig {
    let one = |entry: &str| {
        let base = format!("{public_url}/dev/rp/{entry}");
        Some(ClientConfig {
            redirect_uris: vec![format!("{base}/callback")],
            post_logout_redirect_uris: vec![base.clone()],
            backchannel_logout_uri: Some(format!("{base}/backchannel")),
            initiate_login_uri: Some(format!("{base}/login")),
        })
    };
    ClientsConfig { certification: one("certification"), renewal: one("renewal") }
}

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
