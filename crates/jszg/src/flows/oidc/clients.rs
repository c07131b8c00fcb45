//! The registered clients and the subject identifier they see.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;

use crate::app::App;
use crate::config::ClientConfig;
use crate::flows::applicant::Entry;

/// A registered client: one of the two entries, configured in `[clients]`.
pub fn client<'a>(app: &'a App, client_id: &str) -> Option<(Entry, &'a ClientConfig)> {
    let entry = Entry::parse(client_id).filter(|e| e.as_str() == client_id)?;
    Some((entry, app.config.clients.get(client_id)?))
}

/// `sub`: opaque and stable per account, the same for both entries.
pub fn subject(app: &App, account_id: i64) -> String {
    B64URL.encode(&app.vault.mac(&[b"oidc_sub", &account_id.to_be_bytes()])[..18])
}
