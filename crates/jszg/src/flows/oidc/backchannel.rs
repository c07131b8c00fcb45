//! OpenID Back-Channel Logout 1.0: when a jszg session ends, every client
//! that signed in through it and registered a `backchannel_logout_uri` gets a
//! logout token through the outbox. Kept apart from the end-session endpoint
//! so that ending a session (flows::sessions) needs nothing above it.

use serde::Serialize;

use crate::app::App;
use crate::crypto::random_token;
use crate::error::AppResult;
use crate::flows::notify;
use crate::flows::oidc::clients::{client, subject};
use crate::flows::oidc::keys::{self, TOKEN_LIFETIME};
use crate::message::{Channel, Message};
use crate::store::oidc as store;

const BACKCHANNEL_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

#[derive(Serialize)]
struct LogoutToken {
    iss: String,
    sub: String,
    aud: String,
    iat: i64,
    exp: i64,
    jti: String,
    sid: String,
    events: serde_json::Value,
}

/// A session ended: forget which clients it signed into, revoke their
/// access tokens and queue a logout token for each client that asked for one.
pub async fn session_ended(app: &App, session_hash: &[u8]) -> AppResult<()> {
    let now = app.clock.unix();
    let logins = store::end_logins(&app.db, session_hash, now).await?;
    let mut queued = 0;
    let mut tx = None;
    for login in &logins {
        let Some((_, config)) = client(app, &login.client_id) else { continue };
        let Some(uri) = config.backchannel_logout_uri.as_deref() else { continue };
        let token = LogoutToken {
            iss: app.config.public_url(),
            sub: subject(app, login.account_id),
            aud: login.client_id.clone(),
            iat: now,
            exp: now + TOKEN_LIFETIME,
            jti: random_token(18),
            sid: login.sid.clone(),
            events: serde_json::json!({ BACKCHANNEL_EVENT: {} }),
        };
        let jwt = keys::sign(app, config.id_token_signed_response_alg, "logout+jwt", &token).await?;
        let message = Message {
            channel: Channel::Backchannel,
            to: uri.to_owned(),
            subject: Some(login.client_id.clone()),
            body: jwt,
            html: None,
            sms: None,
        };
        if tx.is_none() {
            tx = Some(app.db.begin().await?);
        }
        if let Some(tx) = tx.as_mut() {
            notify::queue(tx, app, &message).await?;
            queued += 1;
        }
    }
    if let Some(tx) = tx {
        tx.commit().await?;
        app.wake_outbox();
        tracing::info!(queued, "back-channel logout tokens queued");
    }
    Ok(())
}
