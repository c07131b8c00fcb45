//! 教育部账号登录 (LOGIN-5). The browser goes to the upstream provider with
//! a state kept in the database (any instance may receive the callback) and
//! bound to this browser by a cookie. At the callback the attempt is spent
//! once, the code exchanged, the ID token validated, and the identity
//! resolved: a linked (issuer, sub) signs in at once like a password login;
//! a number with a live account proves that account's password once and is
//! then linked; an unknown number goes to 注册 with its data locked, and the
//! link is made when the account is created. A failure leaves no link.

use jszg_domain::{DocNumber, DocType, LoginName, PasswordAttempt};
use serde::{Deserialize, Serialize};

use crate::adapters::oidc_rp::{OidcRp, RpError};
use crate::app::App;
use crate::crypto::random_token;
use crate::error::{ErrorCode, AppError, AppResult};
use crate::flows::applicant::Entry;
use crate::flows::login::{self, LoggedIn};
use crate::flows::quotas::Source;
use crate::flows::registration::{self, Registered, Registration, UpstreamLink};
use crate::store::{accounts, audit, upstream, Tx};
use crate::vault::Field;

/// An authorization attempt must come back within this many seconds.
pub const ATTEMPT_SECS: i64 = 10 * 60;
/// An identity waiting for its password or registration lasts this long
/// (a registration needs an SMS code, so longer than an attempt).
pub const PENDING_SECS: i64 = 30 * 60;

/// Cookie binding an attempt to the browser that started it (login CSRF).
pub const BROWSER_COOKIE: &str = "jszg_upstream_state";
/// Cookie naming the identity waiting for a password or a registration.
pub const PENDING_COOKIE: &str = "jszg_upstream";

#[derive(Serialize, Deserialize)]
struct Secrets {
    nonce: String,
    verifier: String,
}

/// The query of `GET /login/upstream/callback`, every field as it came.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CallbackQuery {
    pub code: Option<String>,
    pub state: Option<String>,
    pub iss: Option<String>,
    pub error: Option<String>,
}

// Built once per callback and matched at once: boxing the login would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum Outcome {
    /// Linked: signed in.
    SignedIn { logged_in: LoggedIn, entry: Entry },
    /// The number has an account: prove its password once (`token` goes in
    /// [`PENDING_COOKIE`]).
    NeedsPassword { token: String },
    /// No account: register with the upstream data locked.
    Register { token: String, entry: Entry },
}

/// The data a registration through 教育部账号登录 must keep.
pub struct PendingIdentity {
    pub doc_type: DocType,
    pub doc_number: String,
    pub name: String,
    pub entry: Entry,
    account_id: Option<i64>,
    subject_hash: Vec<u8>,
    token_hash: Vec<u8>,
}

fn rp(app: &App) -> AppResult<&OidcRp> {
    app.upstream.as_deref().ok_or_else(|| {
        AppError::new(ErrorCode::UpstreamNotConfigured, "本系统尚未配置教育部统一身份认证平台登录，请使用证件号码和密码登录。")
    })
}

fn hash(app: &App, scope: &[u8], value: &str) -> Vec<u8> {
    app.vault.mac(&[b"upstream", scope, value.as_bytes()])
}

pub fn state_invalid() -> AppError {
    AppError::new(
        ErrorCode::UpstreamStateInvalid,
        "登录请求无效或已使用过（可能是重复提交或从其他浏览器打开）。请返回登录页重新点击“教育部账号登录”。",
    )
}

fn expired() -> AppError {
    AppError::new(ErrorCode::UpstreamExpired, "教育部账号登录已超时（需在10分钟内完成）。请返回登录页重新点击“教育部账号登录”。")
}

fn pending_expired() -> AppError {
    AppError::new(ErrorCode::UpstreamExpired, "教育部账号登录已超时，请返回登录页重新点击“教育部账号登录”。")
}

fn unavailable() -> AppError {
    AppError::new(ErrorCode::UpstreamUnavailable, "教育部统一身份认证平台暂时无法访问，请稍后再试，或使用证件号码和密码登录。")
}

fn from_rp(err: RpError) -> AppError {
    // The kind only: never a token or a code.
    tracing::warn!(error = %err, "upstream login failed");
    match err {
        RpError::Unavailable(_) => unavailable(),
        RpError::Refused(_) | RpError::InvalidToken(_) => AppError::new(
            ErrorCode::UpstreamInvalid,
            "未能通过教育部统一身份认证平台确认您的身份，请返回登录页重试，或使用证件号码和密码登录。",
        ),
    }
}

/// Start: the authorization URL, and the browser-binding cookie value.
pub async fn begin(app: &App, entry: Entry) -> AppResult<(String, String)> {
    let rp = rp(app)?;
    let auth = rp.authorize().await.map_err(from_rp)?;
    let browser = random_token(24);
    let secrets = serde_json::to_vec(&Secrets { nonce: auth.nonce, verifier: auth.pkce_verifier }).map_err(AppError::internal)?;
    upstream::insert_attempt(
        &app.db,
        upstream::NewAttempt {
            state_hash: &hash(app, b"state", &auth.state),
            browser_hash: &hash(app, b"browser", &browser),
            secrets_enc: &app.vault.seal(Field::Upstream, &secrets),
            entry: entry.as_str(),
            now: app.clock.unix(),
        },
    )
    .await?;
    Ok((auth.url, browser))
}

/// The entry an attempt was started from, for the way back on a failure
/// page; `None` when nothing is known.
pub struct Failed {
    pub error: AppError,
    pub entry: Entry,
}

/// The callback. Every input is untrusted; every failure is an [`AppError`]
/// with a Chinese message, and happens before anything is linked.
pub async fn callback(app: &App, q: &CallbackQuery, browser: Option<&str>) -> Result<Outcome, Failed> {
    let mut entry = Entry::Certification;
    match callback_inner(app, q, browser, &mut entry).await {
        Ok(outcome) => Ok(outcome),
        Err(error) => Err(Failed { error, entry }),
    }
}

async fn callback_inner(app: &App, q: &CallbackQuery, browser: Option<&str>, entry_out: &mut Entry) -> AppResult<Outcome> {
    let rp = rp(app)?;
    let state = q.state.as_deref().filter(|s| !s.is_empty() && s.len() <= 512).ok_or_else(state_invalid)?;
    let now = app.clock.unix();
    let attempt = upstream::take_attempt(&app.db, &hash(app, b"state", state), now).await?.ok_or_else(state_invalid)?;
    let entry = Entry::parse(&attempt.entry).unwrap_or(Entry::Certification);
    *entry_out = entry;
    let bound = browser.filter(|b| b.len() <= 128).map(|b| hash(app, b"browser", b));
    if !bound.is_some_and(|b| subtle::ConstantTimeEq::ct_eq(b.as_slice(), attempt.browser_hash.as_slice()).into()) {
        return Err(state_invalid());
    }
    if now - attempt.created_at > ATTEMPT_SECS {
        return Err(expired());
    }
    if let Some(error) = q.error.as_deref() {
        // Only a known OAuth error code is logged, never free text from the query.
        let known = [
            "access_denied",
            "login_required",
            "consent_required",
            "interaction_required",
            "invalid_request",
            "invalid_scope",
            "unauthorized_client",
            "unsupported_response_type",
            "server_error",
            "temporarily_unavailable",
        ];
        tracing::info!(error = known.iter().find(|k| **k == error).copied().unwrap_or("other"), "upstream returned an error");
        return Err(if error == "access_denied" {
            AppError::new(
                ErrorCode::UpstreamDenied,
                "您在教育部统一身份认证平台取消了授权，未能登录。可返回登录页重试，或使用证件号码和密码登录。",
            )
        } else if error == "server_error" || error == "temporarily_unavailable" {
            unavailable()
        } else {
            AppError::new(
            ErrorCode::UpstreamInvalid,
                "教育部统一身份认证平台未能完成登录，请返回登录页重试，或使用证件号码和密码登录。",
            )
        });
    }
    let code = q.code.as_deref().filter(|c| !c.is_empty() && c.len() <= 4096).ok_or_else(state_invalid)?;
    rp.check_callback_issuer(q.iss.as_deref()).await.map_err(from_rp)?;
    let secrets = app.vault.open(Field::Upstream, &attempt.secrets_enc)?;
    let secrets: Secrets = serde_json::from_slice(&secrets).map_err(AppError::internal)?;
    let identity = rp.exchange(code, &secrets.verifier, &secrets.nonce, now).await.map_err(from_rp)?;

    let cfg = app.config.upstream.as_ref().ok_or_else(|| AppError::internal("upstream config vanished"))?;
    let text = |name: &str| identity.claims.get(name).and_then(|v| v.as_str()).map(str::trim).filter(|v| !v.is_empty());
    let doc_type = match text(&cfg.doc_type_claim) {
        None => DocType::ResidentId,
        Some(raw) => {
            raw.parse::<DocType>().map_err(|_| doc_refused("教育部账号提供的证件类型本系统不支持，请使用证件号码和密码登录或注册。"))?
        }
    };
    let number = text(&cfg.doc_number_claim)
        .ok_or_else(|| doc_refused("教育部账号未提供证件号码，无法登录本系统。请使用证件号码和密码登录或注册。"))?;
    let doc = DocNumber::parse(doc_type, number, app.clock.today()).map_err(|e| {
        doc_refused(format!(
            "教育部账号的证件号码不符合本系统的证件规则：{e}。请使用证件号码和密码登录，或联系教育部统一身份认证平台核对证件信息。"
        ))
    })?;
    let name = text(&cfg.name_claim).unwrap_or("").to_owned();
    let subject_parts: [&[u8]; 4] = [b"upstream_subject", identity.issuer.as_bytes(), b"\0", identity.subject.as_bytes()];
    let subject_hash = app.vault.mac(&subject_parts);
    // GM-1: a link made before a change of suite moves to the current hash on first use.
    if let Some(previous) = app.vault.previous_mac(&subject_parts) {
        crate::store::rehash::move_key(&app.db, crate::store::rehash::Keyed::UpstreamLinks, &previous, &subject_hash).await?;
    }

    if let Some(account_id) = upstream::linked_account(&app.db, &subject_hash).await? {
        if let Some(account) = accounts::find_by_id(&app.db, account_id).await? {
            return Ok(Outcome::SignedIn { logged_in: login::sign_in(app, account, entry, "upstream_login").await?, entry });
        }
    }
    let account = accounts::find_live(&app.db, &app.vault.lookups(Field::DocNumber, doc.as_str())).await?;
    if let Some(account) = &account {
        if upstream::is_linked(&app.db, account.id).await? {
            return Err(AppError::new(
                ErrorCode::UpstreamLinkConflict,
                "该证件号码的账号已关联另一个教育部账号。请使用证件号码和密码登录，在个人信息中心解除原关联后再试。",
            ));
        }
    }
    let token = random_token(32);
    upstream::insert_pending(
        &app.db,
        upstream::NewPending {
            token_hash: &hash(app, b"pending", &token),
            subject_hash: &subject_hash,
            doc_type: doc_type.as_str(),
            doc_number_enc: &app.vault.seal_str(Field::DocNumber, doc.as_str()),
            name: &name,
            entry: entry.as_str(),
            account_id: account.as_ref().map(|a| a.id),
            now,
        },
    )
    .await?;
    Ok(match account {
        Some(_) => Outcome::NeedsPassword { token },
        None => Outcome::Register { token, entry },
    })
}

fn doc_refused(message: impl Into<std::borrow::Cow<'static, str>>) -> AppError {
    AppError::invalid(ErrorCode::UpstreamDocInvalid, "doc_number", message)
}

/// The identity waiting behind a [`PENDING_COOKIE`] value, if live.
pub async fn pending(app: &App, token: Option<&str>) -> AppResult<Option<PendingIdentity>> {
    let Some(token) = token.filter(|t| !t.is_empty() && t.len() <= 128) else { return Ok(None) };
    let token_hash = hash(app, b"pending", token);
    let Some(row) = upstream::find_pending(&app.db, &token_hash, app.clock.unix() - PENDING_SECS).await? else { return Ok(None) };
    let Ok(doc_type) = row.doc_type.parse::<DocType>() else { return Ok(None) };
    Ok(Some(PendingIdentity {
        doc_type,
        doc_number: app.vault.open_str(Field::DocNumber, &row.doc_number_enc)?,
        name: row.name,
        entry: Entry::parse(&row.entry).unwrap_or(Entry::Certification),
        account_id: row.account_id,
        subject_hash: row.subject_hash,
        token_hash,
    }))
}

impl PendingIdentity {
    pub fn needs_password(&self) -> bool {
        self.account_id.is_some()
    }
}

/// `POST /api/v1/sessions/upstream-link`: the account's password, once;
/// then the link. The password check is the login's (throttles, lockout,
/// same answer for every failure).
pub async fn link_with_password(app: &App, token: Option<&str>, password: &PasswordAttempt, source: &Source) -> AppResult<(LoggedIn, Entry)> {
    let pending = pending(app, token).await?.filter(PendingIdentity::needs_password).ok_or_else(pending_expired)?;
    // Stored with its type by the callback: no need to guess the type again.
    let name = LoginName::from(&DocNumber::from_storage(pending.doc_type, pending.doc_number.clone()));
    let logged_in = login::login(app, &name, password, pending.entry, source).await?;
    if Some(logged_in.applicant.id()) != pending.account_id || !make_link(app, &pending, logged_in.applicant.id()).await? {
        // Not the account the identity was matched to (replaced meanwhile) or
        // linked elsewhere meanwhile: end the new session, link nothing.
        crate::flows::sessions::end(app, &logged_in.token).await?;
        return Err(AppError::new(
            ErrorCode::UpstreamLinkConflict,
            "该账号已关联另一个教育部账号，或账号已变更。请使用证件号码和密码登录，在个人信息中心解除原关联后再试。",
        ));
    }
    Ok((logged_in, pending.entry))
}

/// After a registration through 教育部账号登录: link the new account.
async fn make_link(app: &App, pending: &PendingIdentity, account_id: i64) -> AppResult<bool> {
    let mut tx = app.db.begin().await?;
    if !link_in(&mut tx, app, pending, account_id, app.clock.unix()).await? {
        tx.rollback().await?;
        return Ok(false);
    }
    tx.commit().await?;
    Ok(true)
}

/// Link the pending identity to `account_id`; false (and nothing written) when the identity or
/// the account is linked already.
async fn link_in(tx: &mut Tx, app: &App, pending: &PendingIdentity, account_id: i64, now: i64) -> AppResult<bool> {
    if !upstream::link(tx, &pending.subject_hash, account_id, now).await? {
        return Ok(false);
    }
    upstream::delete_pending(tx, &pending.token_hash).await?;
    audit::append(tx, &app.vault, audit::Entry::by_applicant(now, account_id, "upstream_link", "")).await?;
    tracing::info!(account_id, "upstream identity linked");
    Ok(true)
}

/// 注册 (`POST /api/v1/accounts`): after 教育部账号登录 without an account, the identity waiting in
/// the cookie `pending_cookie` is linked to the new account in the registration's transaction, and
/// its type, number and name are the ones the form must carry; without one, a plain registration.
pub async fn register(app: &App, reg: Registration, source: &Source, pending_cookie: Option<&str>) -> AppResult<Registered> {
    let pending = pending(app, pending_cookie).await?.filter(|p| !p.needs_password());
    let link = pending.as_ref().map(|p| UpstreamLink {
        doc_type: p.doc_type,
        doc_number: &p.doc_number,
        name: &p.name,
        subject_hash: &p.subject_hash,
        pending_token_hash: &p.token_hash,
    });
    registration::register(app, reg, source, link.as_ref()).await
}

/// 个人信息中心: remove the link.
pub async fn unlink(app: &App, account_id: i64) -> AppResult<()> {
    let mut tx = app.db.begin().await?;
    if upstream::unlink(&mut tx, account_id).await? {
        audit::append(&mut tx, &app.vault, audit::Entry::by_applicant(app.clock.unix(), account_id, "upstream_unlink", "")).await?;
    }
    tx.commit().await?;
    Ok(())
}

pub async fn is_linked(app: &App, account_id: i64) -> AppResult<bool> {
    Ok(upstream::is_linked(&app.db, account_id).await?)
}
