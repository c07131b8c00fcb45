//! The authorization endpoint (Core 3.1.2): validating a request, parking it while the applicant
//! logs in or completes the profile, and issuing the code.

use super::*;

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


pub(super) fn error_redirect(app: &App, redirect_uri: &str, state: Option<&str>, error: &str, description: &str) -> String {
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

pub(super) fn pkce_value_ok(v: &str) -> bool {
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

pub(super) fn pending_hash(app: &App, id: &str) -> Vec<u8> {
    app.vault.mac(&[b"oidc_pending", id.as_bytes()])
}

pub(super) async fn park(app: &App, request: &AuthRequest, min_auth_time: i64) -> AppResult<String> {
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




pub(super) async fn issue_code(app: &App, request: &AuthRequest, current: &Current, auth_time: i64) -> AppResult<String> {
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
