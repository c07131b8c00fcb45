//! jszg as the OpenID Connect provider of the two business entries (SSO-1,
//! SSO-2): the authorization code flow with PKCE S256 only, RS256 ID tokens,
//! userinfo and logout. The HTTP layer turns the outcomes here into
//! redirects, pages and the OAuth JSON errors.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::app::App;
use crate::crypto::random_token;
use crate::error::{AppError, AppResult};
use crate::flows::applicant::{Applicant, Entry, Next};
use crate::flows::enrollment;
use crate::flows::sessions::Current;
use crate::store::{accounts, audit, oidc as store};

pub mod backchannel;
pub mod clients;
pub mod keys;
pub mod logout;
pub mod standin;

pub use clients::{client, subject};
pub use keys::TOKEN_LIFETIME;

/// Codes live at most this long (SSO-1).
pub const CODE_LIFETIME: i64 = 60;
/// An authorization waiting for login, profile or real name survives this long.
pub const PENDING_LIFETIME: i64 = 30 * 60;
/// The cookie that refers to the pending authorization.
pub const PENDING_COOKIE: &str = "jszg_authz";

/// The scopes jszg answers; any other value in a request is ignored (Core 3.1.2.1, SSO-4).
pub const SCOPES: [&str; 5] = ["openid", "profile", "identity", "email", "phone"];

/// A validated authorization request.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AuthRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    /// PKCE S256; absent only for a client registered with `require_pkce = false`.
    #[serde(default)]
    pub code_challenge: Option<String>,
}

/// Why an authorization request is refused.
#[derive(Debug)]
pub enum Refusal {
    /// Client or redirect URI unknown: shown as a page, never redirected to.
    Page(&'static str),
    /// Told to the client at its (verified) redirect URI.
    Redirect { redirect_uri: String, state: Option<String>, error: &'static str, description: &'static str },
}

/// What the authorization endpoint does next.
pub enum Step {
    /// Back to the client with a code (or an error): the full URL.
    Redirect(String),
    /// Sign in first at this entry's login page; the pending id goes in a cookie.
    Login { entry: Entry, pending: String },
    /// Signed in, but the entry gate (profile, real name) comes first.
    Gate { entry: Entry, pending: String },
}

/// `redirect_uri` with query parameters added.
pub fn with_params(uri: &str, params: &[(&str, &str)]) -> String {
    let query = serde_urlencoded::to_string(params).unwrap_or_default();
    let sep = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{sep}{query}")
}

fn error_redirect(app: &App, redirect_uri: &str, state: Option<&str>, error: &str, description: &str) -> String {
    let iss = app.config.public_url();
    let mut params = vec![("error", error), ("error_description", description), ("iss", iss.as_str())];
    if let Some(state) = state {
        params.push(("state", state));
    }
    with_params(redirect_uri, &params)
}

impl Refusal {
    pub fn into_url(self, app: &App) -> Result<String, &'static str> {
        match self {
            Refusal::Page(message) => Err(message),
            Refusal::Redirect { redirect_uri, state, error, description } => {
                Ok(error_redirect(app, &redirect_uri, state.as_deref(), error, description))
            }
        }
    }
}

/// A parameter given more than once.
#[derive(Debug)]
pub struct Repeated;

/// The request's parameters; each at most once (RFC 6749 §3.1).
pub struct Params<'a>(pub &'a [(String, String)]);

impl Params<'_> {
    pub fn get(&self, name: &str) -> Result<Option<&str>, Repeated> {
        let mut found = self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let first = found.next();
        if found.next().is_some() {
            return Err(Repeated);
        }
        Ok(first.filter(|v| !v.is_empty()))
    }
}

fn pkce_value_ok(v: &str) -> bool {
    (43..=128).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

/// Check an authorization request as OpenID Connect Core §3.1.2 orders:
/// the client and redirect URI first (a page if wrong), then the rest
/// (an error at the redirect URI).
pub fn validate(app: &App, params: &Params<'_>) -> Result<(AuthRequest, Prompt), Refusal> {
    validate_against(|client_id| client(app, client_id).map(|(_, config)| (&config.redirect_uris[..], config.require_pkce)), params)
}

/// [`validate`] against what `client_of` gives for a client id: its registered redirect URIs and
/// whether it must use PKCE.
pub fn validate_against<'c>(
    client_of: impl Fn(&str) -> Option<(&'c [String], bool)>,
    params: &Params<'_>,
) -> Result<(AuthRequest, Prompt), Refusal> {
    let unknown = "该业务系统未在中国教师资格网登记，无法登录。请从业务系统的正式入口进入。";
    let client_id = params.get("client_id").map_err(|_| Refusal::Page(unknown))?.ok_or(Refusal::Page(unknown))?;
    let (registered, require_pkce) = client_of(client_id).ok_or(Refusal::Page(unknown))?;
    let bad_uri = "业务系统提供的回调地址未登记，无法登录。请从业务系统的正式入口进入。";
    let redirect_uri = params.get("redirect_uri").map_err(|_| Refusal::Page(bad_uri))?.ok_or(Refusal::Page(bad_uri))?;
    if !registered.iter().any(|u| u == redirect_uri) {
        return Err(Refusal::Page(bad_uri));
    }
    // From here on errors go back to the client.
    let raw_state = params.get("state").ok().flatten().map(str::to_owned);
    let refuse = |error: &'static str, description: &'static str| Refusal::Redirect {
        redirect_uri: redirect_uri.to_owned(),
        state: raw_state.clone().filter(|s| s.len() <= 1024),
        error,
        description,
    };
    let one = |name: &str| params.get(name).map_err(|_| refuse("invalid_request", "a parameter was given more than once"));
    let state = one("state")?;
    if state.is_some_and(|s| s.len() > 1024) {
        return Err(refuse("invalid_request", "state is too long"));
    }
    if one("request")?.is_some() {
        return Err(refuse("request_not_supported", "request objects are not supported"));
    }
    if one("request_uri")?.is_some() {
        return Err(refuse("request_uri_not_supported", "request_uri is not supported"));
    }
    match one("response_type")? {
        None => return Err(refuse("invalid_request", "response_type is required")),
        Some("code") => {}
        Some(_) => return Err(refuse("unsupported_response_type", "only response_type=code is supported")),
    }
    if let Some(mode) = one("response_mode")? {
        if mode != "query" {
            return Err(refuse("invalid_request", "only response_mode=query is supported"));
        }
    }
    let scope = one("scope")?.ok_or_else(|| refuse("invalid_scope", "scope must include openid"))?;
    let scopes: Vec<&str> = scope.split(' ').filter(|s| !s.is_empty()).collect();
    if !scopes.contains(&"openid") {
        return Err(refuse("invalid_scope", "scope must include openid"));
    }
    // Values jszg does not know (`address`, `offline_access`, a vendor's) are ignored, as Core
    // 3.1.2.1 says: a business system configured for `openid profile email` must not be refused.
    let normalised: Vec<&str> = SCOPES.iter().copied().filter(|s| scopes.contains(s)).collect();
    let challenge = match (one("code_challenge")?, require_pkce) {
        (None, true) => return Err(refuse("invalid_request", "code_challenge (PKCE S256) is required")),
        (None, false) => {
            if one("code_challenge_method")?.is_some() {
                return Err(refuse("invalid_request", "code_challenge_method without code_challenge"));
            }
            None
        }
        (Some(challenge), _) => {
            if one("code_challenge_method")? != Some("S256") {
                return Err(refuse("invalid_request", "code_challenge_method must be S256"));
            }
            if challenge.len() != 43 || !pkce_value_ok(challenge) {
                return Err(refuse("invalid_request", "code_challenge is not a S256 challenge"));
            }
            Some(challenge.to_owned())
        }
    };
    let nonce = one("nonce")?;
    if nonce.is_some_and(|n| n.len() > 512) {
        return Err(refuse("invalid_request", "nonce is too long"));
    }
    let prompt = match one("prompt")? {
        None => Prompt::Default,
        Some(p) => {
            let values: Vec<&str> = p.split(' ').filter(|s| !s.is_empty()).collect();
            if values.contains(&"none") && values.len() > 1 {
                return Err(refuse("invalid_request", "prompt=none cannot be combined"));
            }
            if values.iter().any(|v| !["none", "login", "consent", "select_account"].contains(v)) {
                return Err(refuse("invalid_request", "unknown prompt value"));
            }
            if values.contains(&"none") {
                Prompt::None
            } else if values.contains(&"login") || values.contains(&"select_account") {
                Prompt::Login
            } else {
                Prompt::Default
            }
        }
    };
    let max_age = match one("max_age")? {
        None => None,
        Some(raw) => Some(raw.parse::<u32>().map_err(|_| refuse("invalid_request", "max_age must be a number of seconds"))?),
    };
    let request = AuthRequest {
        client_id: client_id.to_owned(),
        redirect_uri: redirect_uri.to_owned(),
        scope: normalised.join(" "),
        state: state.map(str::to_owned),
        nonce: nonce.map(str::to_owned),
        code_challenge: challenge,
    };
    let prompt = match (prompt, max_age) {
        (Prompt::Default, Some(secs)) => Prompt::MaxAge(i64::from(secs)),
        (p, _) => p,
    };
    Ok((request, prompt))
}

/// The claims read from an `id_token_hint` (authorization and logout).
#[derive(serde::Deserialize)]
pub(crate) struct IdTokenHint {
    pub sub: String,
    pub aud: String,
    #[serde(default)]
    pub sid: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prompt {
    Default,
    None,
    Login,
    MaxAge(i64),
}

/// The authorization endpoint (SSO-1, SSO-2).
pub async fn authorize(app: &App, params: &Params<'_>, session: Option<&Current>) -> AppResult<Result<Step, Refusal>> {
    let (request, prompt) = match validate(app, params) {
        Ok(valid) => valid,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let now = app.clock.unix();
    let entry = Entry::parse(&request.client_id).unwrap_or(Entry::Certification);
    let fail = |error: &'static str, description: &'static str| {
        Ok(Ok(Step::Redirect(error_redirect(app, &request.redirect_uri, request.state.as_deref(), error, description))))
    };
    // Core 3.1.2.1: an `id_token_hint` names who the client expects. A hint we did not issue is
    // refused; a session of somebody else does not count (prompt=none: login_required).
    let hinted = match params.get("id_token_hint") {
        Ok(Some(token)) => match keys::verify_ours::<IdTokenHint>(app, token).await {
            Some(hint) => Some(hint.sub),
            None => return fail("invalid_request", "id_token_hint is not an ID token issued here"),
        },
        Ok(None) => None,
        Err(_) => return fail("invalid_request", "a parameter was given more than once"),
    };
    let session = match session {
        Some(current) if hinted.as_ref().is_some_and(|sub| *sub != subject(app, current.applicant.id())) => {
            tracing::info!("authorization hinted at another applicant than the session's");
            None
        }
        Some(current) => store::session_auth_time(&app.db, &current.id_hash).await?.map(|t| (current, t)),
        None => None,
    };
    let min_auth_time = match prompt {
        // A login after this request: sessions started in this very second do not count.
        Prompt::Login => now + 1,
        Prompt::MaxAge(secs) => now - secs,
        _ => 0,
    };
    let Some((current, auth_time)) = session.filter(|(_, t)| *t >= min_auth_time) else {
        if prompt == Prompt::None {
            return fail("login_required", "the applicant is not signed in");
        }
        let pending = park(app, &request, min_auth_time).await?;
        return Ok(Ok(Step::Login { entry, pending }));
    };
    if current.applicant.next() != Next::Business {
        if prompt == Prompt::None {
            return fail("interaction_required", "the applicant must complete the profile and real-name verification first");
        }
        let pending = park(app, &request, min_auth_time).await?;
        return Ok(Ok(Step::Gate { entry, pending }));
    }
    Ok(Ok(Step::Redirect(issue_code(app, &request, current, auth_time).await?)))
}

fn pending_hash(app: &App, id: &str) -> Vec<u8> {
    app.vault.mac(&[b"oidc_pending", id.as_bytes()])
}

async fn park(app: &App, request: &AuthRequest, min_auth_time: i64) -> AppResult<String> {
    let id = random_token(24);
    let now = app.clock.unix();
    let json = serde_json::to_string(request).map_err(AppError::internal)?;
    store::insert_pending(&app.db, &pending_hash(app, &id), &request.client_id, &json, min_auth_time, now, now + PENDING_LIFETIME).await?;
    Ok(id)
}

pub enum Resume {
    /// Back to the client: the URL with the code.
    Redirect(String),
    /// The pending request asks for a fresher login than this session's.
    Login,
    /// Nothing pending for this entry.
    Nothing,
}

/// After login and the entry gate: finish the pending authorization of
/// this entry, if there is one. The caller has checked the gate.
pub async fn resume(app: &App, pending: Option<&str>, entry: Entry, current: &Current) -> AppResult<Resume> {
    let Some(id) = pending.filter(|p| !p.is_empty() && p.len() <= 64) else { return Ok(Resume::Nothing) };
    let hash = pending_hash(app, id);
    let Some(found) = store::find_pending(&app.db, &hash, app.clock.unix()).await? else { return Ok(Resume::Nothing) };
    if found.client_id != entry.as_str() {
        return Ok(Resume::Nothing);
    }
    let Ok(request) = serde_json::from_str::<AuthRequest>(&found.request) else { return Ok(Resume::Nothing) };
    // The registration may have changed since the request was parked.
    if client(app, &request.client_id).is_none_or(|(_, c)| !c.redirect_uris.contains(&request.redirect_uri)) {
        return Ok(Resume::Nothing);
    }
    let auth_time = store::session_auth_time(&app.db, &current.id_hash).await?.unwrap_or(0);
    if auth_time < found.min_auth_time {
        return Ok(Resume::Login);
    }
    store::delete_pending(&app.db, &hash).await?;
    Ok(Resume::Redirect(issue_code(app, &request, current, auth_time).await?))
}

/// The session id published as `sid`: derived from the session's stored
/// hash, so it names the session without revealing the cookie.
pub fn sid(app: &App, session_hash: &[u8]) -> String {
    B64URL.encode(&app.vault.mac(&[b"oidc_sid", session_hash])[..18])
}

fn code_hash(app: &App, code: &str) -> Vec<u8> {
    app.vault.mac(&[b"oidc_code", code.as_bytes()])
}

fn token_hash(app: &App, token: &str) -> Vec<u8> {
    app.vault.mac(&[b"oidc_access_token", token.as_bytes()])
}

async fn issue_code(app: &App, request: &AuthRequest, current: &Current, auth_time: i64) -> AppResult<String> {
    let code = random_token(32);
    let now = app.clock.unix();
    let sid = sid(app, &current.id_hash);
    let mut tx = app.db.begin().await?;
    store::insert_code(
        &mut tx,
        &store::NewCode {
            code_hash: &code_hash(app, &code),
            client_id: &request.client_id,
            redirect_uri: &request.redirect_uri,
            code_challenge: request.code_challenge.as_deref().unwrap_or(""),
            nonce: request.nonce.as_deref(),
            scope: &request.scope,
            account_id: current.applicant.id(),
            sid: &sid,
            session_hash: &current.id_hash,
            auth_time,
            now,
            expires_at: now + CODE_LIFETIME,
        },
    )
    .await?;
    tx.commit().await?;
    tracing::info!(client_id = %request.client_id, account_id = current.applicant.id(), "authorization code issued");
    let iss = app.config.public_url();
    let mut params = vec![("code", code.as_str()), ("iss", iss.as_str())];
    if let Some(state) = &request.state {
        params.push(("state", state.as_str()));
    }
    Ok(with_params(&request.redirect_uri, &params))
}

/// A token-endpoint failure: the OAuth error code and a description.
#[derive(Debug)]
pub struct TokenError {
    pub error: &'static str,
    pub description: &'static str,
}

impl TokenError {
    fn new(error: &'static str, description: &'static str) -> Self {
        Self { error, description }
    }
}

/// How the client authenticated at the token endpoint.
pub struct ClientAuth<'a> {
    pub client_id: &'a str,
    pub secret: &'a str,
}

#[derive(Serialize)]
pub struct Tokens {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub id_token: String,
    pub scope: String,
}

#[derive(Serialize, Deserialize)]
pub struct IdTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub auth_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    pub at_hash: String,
    pub sid: String,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Authenticate a client with the service client secret.
pub async fn authenticate_client(app: &App, auth: &ClientAuth<'_>) -> Result<Entry, TokenError> {
    let invalid = || TokenError::new("invalid_client", "client authentication failed");
    let (entry, _) = client(app, auth.client_id).ok_or_else(invalid)?;
    enrollment::authenticate(app, entry, auth.secret).await.map_err(|_| invalid())?;
    Ok(entry)
}

/// The authorization-code grant (RFC 6749 §4.1.3, RFC 7636 §4.6). `verifier` is required when
/// the authorization carried a challenge, and refused when it did not (no downgrade either way).
pub async fn exchange(app: &App, entry: Entry, code: &str, redirect_uri: &str, verifier: Option<&str>) -> AppResult<Result<Tokens, TokenError>> {
    let grant = |d: &'static str| Ok(Err(TokenError::new("invalid_grant", d)));
    if code.is_empty() || code.len() > 128 {
        return grant("the code is invalid or expired");
    }
    let now = app.clock.unix();
    let hash = code_hash(app, code);
    // Redemption and the token insert commit together: a replay waits for
    // the code's row, then finds the token and revokes it.
    let mut tx = app.db.begin().await?;
    let Some(redeemed) = store::redeem_code(&mut tx, &hash, now).await? else {
        tx.rollback().await?;
        if store::revoke_replayed(&app.db, &hash, now).await? {
            tracing::warn!(client_id = entry.as_str(), "authorization code replayed; its tokens are revoked");
        }
        return grant("the code is invalid, expired or already used");
    };
    let refusal = if redeemed.client_id != entry.as_str() {
        Some("the code was issued to another client")
    } else if redeemed.redirect_uri != redirect_uri {
        Some("redirect_uri does not match the authorization request")
    } else {
        match (redeemed.code_challenge.as_str(), verifier) {
            ("", None) => None,
            ("", Some(_)) => Some("code_verifier without a code_challenge in the authorization request"),
            (_, None) => Some("code_verifier (PKCE) is required"),
            (_, Some(v)) if !pkce_value_ok(v) => Some("code_verifier is malformed"),
            (challenge, Some(v)) if !bool::from(B64URL.encode(Sha256::digest(v.as_bytes())).as_bytes().ct_eq(challenge.as_bytes())) => {
                Some("code_verifier does not match the code_challenge")
            }
            _ => None,
        }
    };
    if let Some(description) = refusal {
        // The code is spent either way: a wrong attempt burns it.
        tx.commit().await?;
        return grant(description);
    }
    let access_token = random_token(32);
    store::insert_token(
        &mut tx,
        &store::NewToken {
            token_hash: &token_hash(app, &access_token),
            code_hash: &hash,
            client_id: &redeemed.client_id,
            account_id: redeemed.account_id,
            scope: &redeemed.scope,
            sid: &redeemed.sid,
            now,
            expires_at: now + TOKEN_LIFETIME,
        },
    )
    .await?;
    // PRIV-2: the applicant's access log names what each business received.
    let detail = format!("{} {}", redeemed.client_id, disclosed(&redeemed.scope).join(","));
    audit::append(&mut tx, &app.vault, audit::Entry { at: now, actor_kind: "business", actor_id: None, account_id: Some(redeemed.account_id), action: "sso_claims_disclosed", detail: &detail },
    )
    .await?;
    tx.commit().await?;
    let Some(account) = accounts::find_by_id(&app.db, redeemed.account_id).await? else {
        return grant("the account no longer exists");
    };
    let applicant = Applicant::open(app, account)?;
    let digest = Sha256::digest(access_token.as_bytes());
    let claims = IdTokenClaims {
        iss: app.config.public_url(),
        sub: subject(app, applicant.id()),
        aud: redeemed.client_id.clone(),
        exp: now + TOKEN_LIFETIME,
        iat: now,
        auth_time: redeemed.auth_time,
        nonce: redeemed.nonce,
        at_hash: B64URL.encode(&digest[..16]),
        sid: redeemed.sid,
        extra: scope_claims(app, &applicant, &redeemed.scope)?,
    };
    let alg = client(app, &redeemed.client_id).map(|(_, c)| c.id_token_signed_response_alg).unwrap_or_default();
    let id_token = keys::sign(app, alg, "JWT", &claims).await?;
    tracing::info!(client_id = %redeemed.client_id, account_id = applicant.id(), "tokens issued");
    Ok(Ok(Tokens { access_token, token_type: "Bearer", expires_in: TOKEN_LIFETIME, id_token, scope: redeemed.scope }))
}

/// Claims by scope: `profile` → name; `identity` → the document and real-name state; `email` →
/// email, email_verified; `phone` → phone_number (digits), phone_number_verified. Both contacts
/// were proven by a code at registration or at their change, so they are verified. A claim the
/// account has no value for is left out, never `null`.
pub fn scope_claims(app: &App, a: &Applicant, scope: &str) -> AppResult<Map<String, Value>> {
    let mut claims = Map::new();
    let scopes: Vec<&str> = scope.split(' ').collect();
    let mut put = |name: &str, value: Option<Value>| {
        if let Some(value) = value {
            claims.insert(name.into(), value);
        }
    };
    if scopes.contains(&"profile") {
        put("name", Some(a.row.name.clone().into()));
    }
    if scopes.contains(&"identity") {
        put("doc_type", Some(a.doc_type().as_str().into()));
        put("doc_number", Some(a.doc.as_str().into()));
        put("realname_status", Some(a.realname().as_str().into()));
        put("sex", a.sex().map(|s| s.as_str().into()));
        put("birth_date", a.birth_date().map(|d| d.to_string().into()));
        put("ethnicity", a.ethnicity().map(|e| e.code().into()));
    }
    if scopes.contains(&"email") {
        if let Some(email) = a.email(app)? {
            put("email", Some(email.into()));
            put("email_verified", Some(true.into()));
        }
    }
    if scopes.contains(&"phone") {
        if let Some(phone) = a.phone(app)? {
            put("phone_number", Some(phone.into()));
            put("phone_number_verified", Some(true.into()));
        }
    }
    Ok(claims)
}

/// The claims of `scope` as the applicant's access log names what a business received.
pub fn disclosed(scope: &str) -> Vec<&'static str> {
    let scopes: Vec<&str> = scope.split(' ').collect();
    let mut out = vec!["sub"];
    if scopes.contains(&"profile") {
        out.push("name");
    }
    if scopes.contains(&"identity") {
        out.extend(["doc_type", "doc_number", "realname_status", "sex", "birth_date", "ethnicity"]);
    }
    if scopes.contains(&"email") {
        out.push("email");
    }
    if scopes.contains(&"phone") {
        out.push("phone_number");
    }
    out
}

/// Userinfo: the claims of a live access token; None if it is not one.
pub async fn userinfo(app: &App, access_token: &str) -> AppResult<Option<Map<String, Value>>> {
    if access_token.is_empty() || access_token.len() > 128 {
        return Ok(None);
    }
    let Some(token) = store::find_token(&app.db, &token_hash(app, access_token), app.clock.unix()).await? else { return Ok(None) };
    let Some(account) = accounts::find_by_id(&app.db, token.account_id).await? else { return Ok(None) };
    let applicant = Applicant::open(app, account)?;
    let mut claims = Map::new();
    claims.insert("sub".into(), subject(app, applicant.id()).into());
    claims.extend(scope_claims(app, &applicant, &token.scope)?);
    tracing::debug!(client_id = %token.client_id, "userinfo served");
    Ok(Some(claims))
}

/// Discovery (OpenID Connect Discovery 1.0).
pub fn discovery(app: &App) -> Value {
    let iss = app.config.public_url();
    serde_json::json!({
        "issuer": iss,
        "authorization_endpoint": format!("{iss}/oidc/authorize"),
        "token_endpoint": format!("{iss}/oidc/token"),
        "userinfo_endpoint": format!("{iss}/oidc/userinfo"),
        "jwks_uri": format!("{iss}/oidc/jwks"),
        "end_session_endpoint": format!("{iss}/oidc/logout"),
        "scopes_supported": SCOPES,
        "claims_locales_supported": ["zh-CN"],
        "ui_locales_supported": ["zh-CN"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "SM2"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": ["iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "sid",
            "name", "doc_type", "doc_number", "realname_status", "sex", "birth_date", "ethnicity",
            "email", "email_verified", "phone_number", "phone_number_verified"],
        "prompt_values_supported": ["none", "login"],
        "authorization_response_iss_parameter_supported": true,
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
        "frontchannel_logout_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "claims_parameter_supported": false,
    })
}
