//! Sessions (LOGIN-4): created at login with a fresh id, ended by logout,
//! by idle and absolute timeouts on the injected clock, and by password
//! changes and resets.

use crate::app::App;
use crate::crypto::random_token;
use crate::error::AppResult;
use crate::flows::applicant::{Applicant, Entry};
use crate::flows::realname;
use crate::store::rehash::{self, Keyed};
use crate::store::{sessions, Tx};

pub const COOKIE: &str = "jszg_session";

/// Refresh `last_seen_at` at most this often, so reads stay reads.
const TOUCH_EVERY: i64 = 60;

pub struct Current {
    pub id_hash: Vec<u8>,
    pub applicant: Applicant,
    pub entry: Entry,
}

pub fn id_hash(app: &App, token: &str) -> Vec<u8> {
    app.vault.mac(&[b"session", token.as_bytes()])
}

/// Start a session inside the caller's transaction; returns the cookie value.
pub async fn start(tx: &mut Tx, app: &App, account_id: i64, entry: Entry) -> AppResult<String> {
    let token = random_token(32);
    let now = app.clock.unix();
    sessions::insert(
        tx,
        sessions::NewSession {
            id_hash: &id_hash(app, &token),
            account_id,
            entry: entry.as_str(),
            now,
            expires_at: now + app.config.sessions.absolute_secs,
        },
    )
    .await?;
    Ok(token)
}

/// The live session for a cookie value, if any. Expired ones are removed.
pub async fn resolve(app: &App, token: &str) -> AppResult<Option<Current>> {
    let Some(hash) = presented_hash(app, token) else { return Ok(None) };
    match resolve_by_hash(app, &hash).await? {
        None if moved_from_previous(app, token, &hash).await? => resolve_by_hash(app, &hash).await,
        found => Ok(found),
    }
}

/// The hash to look a cookie value up by; `None` for a value no session can have.
fn presented_hash(app: &App, token: &str) -> Option<Vec<u8>> {
    (!token.is_empty() && token.len() <= 128).then(|| id_hash(app, token))
}

pub async fn resolve_by_hash(app: &App, hash: &[u8]) -> AppResult<Option<Current>> {
    let found = sessions::find(&app.db, hash).await?;
    live(app, hash, found).await
}

/// GM-1: a cookie issued before a change of suite is still hashed the previous way; move its
/// session to the current hash on first sight. Whether there was one.
async fn moved_from_previous(app: &App, token: &str, current: &[u8]) -> AppResult<bool> {
    match app.vault.previous_mac(&[b"session", token.as_bytes()]) {
        Some(previous) => Ok(rehash::move_key(&app.db, Keyed::Sessions, &previous, current).await?),
        None => Ok(false),
    }
}

/// The live session for a cookie value and the applicant's real-name
/// standing, in one query: `GET /api/v1/me`, the most frequent request.
pub async fn resolve_with_standing(app: &App, token: &str) -> AppResult<Option<(Current, realname::Standing)>> {
    let Some(hash) = presented_hash(app, token) else {
        return Ok(None);
    };
    let k = realname::StandingKeys::today(app);
    let mut found = sessions::find_with_standing(&app.db, &hash, &k.day, &k.period_key, k.kind).await?;
    if found.is_none() && moved_from_previous(app, token, &hash).await? {
        found = sessions::find_with_standing(&app.db, &hash, &k.day, &k.period_key, k.kind).await?;
    }
    let Some(found) = found else {
        return Ok(None);
    };
    let standing = realname::Standing::from(found.standing);
    Ok(live(app, &hash, Some(found.session)).await?.map(|current| (current, standing)))
}

/// The session found for `hash`, unless it has expired (then it is removed).
async fn live(app: &App, hash: &[u8], found: Option<sessions::SessionAccount>) -> AppResult<Option<Current>> {
    let Some(found) = found else {
        return Ok(None);
    };
    let now = app.clock.unix();
    if now >= found.expires_at || now - found.last_seen_at >= app.config.sessions.idle_secs {
        sessions::delete(&app.db, hash).await?;
        return Ok(None);
    }
    if now - found.last_seen_at >= TOUCH_EVERY {
        sessions::touch(&app.db, hash, now).await?;
    }
    let entry = Entry::parse(&found.entry).unwrap_or(Entry::Certification);
    Ok(Some(Current { id_hash: hash.to_vec(), applicant: Applicant::open(app, found.account)?, entry }))
}

pub async fn end(app: &App, token: &str) -> AppResult<()> {
    let hash = id_hash(app, token);
    crate::flows::oidc::backchannel::session_ended(app, &hash).await?;
    sessions::delete(&app.db, &hash).await?;
    Ok(())
}

/// The synchronizer token for HTML forms of this session.
pub fn form_token(app: &App, id_hash: &[u8]) -> String {
    use base64::Engine;
    let mac = app.vault.mac(&[b"form_token", id_hash]);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&mac[..24])
}

pub fn form_token_ok(app: &App, id_hash: &[u8], presented: &str) -> bool {
    use subtle::ConstantTimeEq;
    let expected = form_token(app, id_hash);
    expected.as_bytes().ct_eq(presented.as_bytes()).into()
}
