//! Development only: a stand-in business system for each entry under
//! `/dev/rp/{entry}`. It is a relying party as a real business system would
//! be: it redirects to the authorization endpoint with PKCE, state and nonce,
//! redeems the code over HTTP with its client secret, verifies the ID token
//! against the JWKS, reads userinfo, and honours back-channel logout. Its
//! own sessions live in this process's memory.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::app::App;
use crate::crypto::random_token;
use crate::flows::applicant::Entry;
use crate::flows::dev::dev_secret;
use crate::flows::oidc::with_params;
use crate::http::pages::render;
use crate::http::session::cookie;

pub fn router() -> Router<App> {
    Router::new()
        .route("/dev/rp/{entry}", get(home))
        .route("/dev/rp/{entry}/login", get(login))
        .route("/dev/rp/{entry}/callback", get(callback))
        .route("/dev/rp/{entry}/logout", get(logout))
        .route("/dev/rp/{entry}/backchannel", post(backchannel))
}

#[derive(Clone)]
struct RpUser {
    name: String,
    doc_type: String,
    doc_masked: String,
    realname_status: String,
    sid: String,
    id_token: String,
}

struct Flight {
    entry: Entry,
    nonce: String,
    verifier: String,
}

#[derive(Default)]
struct RpState {
    flights: HashMap<String, Flight>,
    sessions: HashMap<String, (Entry, RpUser)>,
}

fn state() -> &'static Mutex<RpState> {
    static STATE: OnceLock<Mutex<RpState>> = OnceLock::new();
    STATE.get_or_init(Mutex::default)
}

fn with_state<T>(f: impl FnOnce(&mut RpState) -> T) -> Option<T> {
    state().lock().ok().map(|mut s| f(&mut s))
}

#[derive(Template)]
#[template(path = "standin.html")]
struct Page {
    business: &'static str,
    entry: &'static str,
    other: &'static str,
    other_business: &'static str,
    user: Option<RpUser>,
    error: String,
}

fn other(entry: Entry) -> Entry {
    match entry {
        Entry::Certification => Entry::Renewal,
        Entry::Renewal => Entry::Certification,
    }
}

fn page(entry: Entry, user: Option<RpUser>, error: &str) -> Response {
    render(&Page {
        business: entry.business_name(),
        entry: entry.as_str(),
        other: other(entry).as_str(),
        other_business: other(entry).business_name(),
        user,
        error: error.to_owned(),
    })
}

fn session_cookie_name(entry: Entry) -> String {
    format!("rp_{}", entry.as_str())
}

fn parse(entry: &str) -> Result<Entry, Box<Response>> {
    Entry::parse(entry).ok_or_else(|| Box::new((StatusCode::NOT_FOUND, "no such stand-in").into_response()))
}

fn base(app: &App, entry: Entry) -> String {
    format!("{}/dev/rp/{}", app.config.public_url(), entry.as_str())
}

async fn home(Path(entry): Path<String>, headers: HeaderMap) -> Response {
    let entry = match parse(&entry) {
        Ok(e) => e,
        Err(r) => return *r,
    };
    let user = cookie(&headers, &session_cookie_name(entry))
        .and_then(|id| with_state(|s| s.sessions.get(id).filter(|(e, _)| *e == entry).map(|(_, u)| u.clone())).flatten());
    page(entry, user, "")
}

async fn login(State(app): State<App>, Path(entry): Path<String>) -> Response {
    let entry = match parse(&entry) {
        Ok(e) => e,
        Err(r) => return *r,
    };
    let (flight_state, nonce, verifier) = (random_token(16), random_token(16), random_token(32));
    let challenge = B64URL.encode(Sha256::digest(verifier.as_bytes()));
    with_state(|s| s.flights.insert(flight_state.clone(), Flight { entry, nonce: nonce.clone(), verifier }));
    let url = with_params(
        &format!("{}/oidc/authorize", app.config.public_url()),
        &[
            ("response_type", "code"),
            ("client_id", entry.as_str()),
            ("redirect_uri", &format!("{}/callback", base(&app, entry))),
            ("scope", "openid profile identity"),
            ("state", &flight_state),
            ("nonce", &nonce),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    let state_cookie = format!("rp_state={flight_state}; Path=/dev/rp; HttpOnly; SameSite=Lax; Max-Age=1800");
    ([(header::SET_COOKIE, state_cookie)], Redirect::to(&url)).into_response()
}

#[derive(Deserialize)]
struct Callback {
    code: Option<String>,
    state: Option<String>,
    iss: Option<String>,
    error: Option<String>,
}

async fn jwks_key(app: &App, http: &reqwest::Client, kid: &str) -> Result<DecodingKey, String> {
    let jwks: Value = http
        .get(format!("{}/oidc/jwks", app.config.public_url()))
        .send()
        .await
        .map_err(|e| e.without_url().to_string())?
        .json()
        .await
        .map_err(|e| e.without_url().to_string())?;
    let key = jwks["keys"].as_array().and_then(|keys| keys.iter().find(|k| k["kid"] == kid)).ok_or("unknown kid")?;
    DecodingKey::from_rsa_components(key["n"].as_str().unwrap_or(""), key["e"].as_str().unwrap_or("")).map_err(|e| e.to_string())
}

async fn verify(app: &App, http: &reqwest::Client, entry: Entry, token: &str) -> Result<Value, String> {
    let header = jsonwebtoken::decode_header(token).map_err(|e| e.to_string())?;
    let key = jwks_key(app, http, header.kid.as_deref().unwrap_or("")).await?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[entry.as_str()]);
    validation.set_issuer(&[app.config.public_url()]);
    jsonwebtoken::decode::<Value>(token, &key, &validation).map(|d| d.claims).map_err(|e| e.to_string())
}

async fn callback(State(app): State<App>, Path(entry): Path<String>, headers: HeaderMap, Query(q): Query<Callback>) -> Response {
    let entry = match parse(&entry) {
        Ok(e) => e,
        Err(r) => return *r,
    };
    if let Some(error) = q.error {
        return page(entry, None, &format!("登录未完成：{error}"));
    }
    let (Some(code), Some(returned)) = (q.code, q.state) else { return page(entry, None, "登录未完成：缺少授权码。") };
    if cookie(&headers, "rp_state") != Some(returned.as_str()) {
        return page(entry, None, "登录未完成：state 与本浏览器发起的请求不符。");
    }
    let Some(flight) = with_state(|s| s.flights.remove(&returned)).flatten().filter(|f| f.entry == entry) else {
        return page(entry, None, "登录未完成：请求已过期，请重新登录。");
    };
    if q.iss.as_deref() != Some(app.config.public_url().as_str()) {
        return page(entry, None, "登录未完成：iss 不符。");
    }
    match finish(&app, entry, &code, &flight).await {
        Ok(user) => {
            let id = random_token(24);
            with_state(|s| s.sessions.insert(id.clone(), (entry, user)));
            let set = format!("{}={id}; Path=/dev/rp; HttpOnly; SameSite=Lax", session_cookie_name(entry));
            ([(header::SET_COOKIE, set)], Redirect::to(&format!("/dev/rp/{}", entry.as_str()))).into_response()
        }
        Err(error) => {
            tracing::warn!(%error, "stand-in business: sign-in failed");
            page(entry, None, "登录未完成：令牌校验失败。")
        }
    }
}

async fn finish(app: &App, entry: Entry, code: &str, flight: &Flight) -> Result<RpUser, String> {
    let http = reqwest::Client::builder().timeout(std::time::Duration::from_secs(10)).build().map_err(|e| e.to_string())?;
    let redirect_uri = format!("{}/callback", base(app, entry));
    let tokens: Value = http
        .post(format!("{}/oidc/token", app.config.public_url()))
        .basic_auth(entry.as_str(), Some(dev_secret(app, entry)))
        .form(&[("grant_type", "authorization_code"), ("code", code), ("redirect_uri", &redirect_uri), ("code_verifier", &flight.verifier)])
        .send()
        .await
        .map_err(|e| e.without_url().to_string())?
        .json()
        .await
        .map_err(|e| e.without_url().to_string())?;
    let id_token = tokens["id_token"].as_str().ok_or_else(|| format!("token endpoint: {}", tokens["error"]))?;
    let claims = verify(app, &http, entry, id_token).await?;
    if claims["nonce"].as_str() != Some(flight.nonce.as_str()) {
        return Err("nonce mismatch".into());
    }
    let access = tokens["access_token"].as_str().unwrap_or("");
    let info: Value = http
        .get(format!("{}/oidc/userinfo", app.config.public_url()))
        .bearer_auth(access)
        .send()
        .await
        .map_err(|e| e.without_url().to_string())?
        .json()
        .await
        .map_err(|e| e.without_url().to_string())?;
    if info["sub"] != claims["sub"] {
        return Err("userinfo sub mismatch".into());
    }
    // Shown as the portal's own pages show them: the type and state in words, the number with
    // the portal's mask.
    let text = |v: &Value| v.as_str().unwrap_or("").to_owned();
    let doc_type = text(&info["doc_type"]);
    let parsed = doc_type.parse::<jszg_domain::DocType>().ok();
    let masked = parsed.map(|t| jszg_domain::DocNumber::from_storage(t, text(&info["doc_number"])).masked()).unwrap_or_else(|| "*****".into());
    Ok(RpUser {
        name: text(&info["name"]),
        doc_type: parsed.map(|t| t.label_zh().to_owned()).unwrap_or(doc_type),
        doc_masked: masked,
        realname_status: crate::flows::applicant::RealnameStatus::parse(&text(&info["realname_status"])).label_zh().to_owned(),
        sid: text(&claims["sid"]),
        id_token: id_token.to_owned(),
    })
}

async fn logout(State(app): State<App>, Path(entry): Path<String>, headers: HeaderMap) -> Response {
    let entry = match parse(&entry) {
        Ok(e) => e,
        Err(r) => return *r,
    };
    let user = cookie(&headers, &session_cookie_name(entry)).and_then(|id| with_state(|s| s.sessions.remove(id)).flatten());
    let Some((_, user)) = user else { return Redirect::to(&format!("/dev/rp/{}", entry.as_str())).into_response() };
    let url = with_params(
        &format!("{}/oidc/logout", app.config.public_url()),
        &[("id_token_hint", &user.id_token), ("post_logout_redirect_uri", &base(&app, entry)), ("state", &random_token(8))],
    );
    Redirect::to(&url).into_response()
}

#[derive(Deserialize)]
struct LogoutForm {
    #[serde(default)]
    logout_token: String,
}

async fn backchannel(State(app): State<App>, Path(entry): Path<String>, Form(form): Form<LogoutForm>) -> Response {
    let entry = match parse(&entry) {
        Ok(e) => e,
        Err(r) => return *r,
    };
    let http = reqwest::Client::new();
    let claims = match verify(&app, &http, entry, &form.logout_token).await {
        Ok(c) if c["events"].get("http://schemas.openid.net/event/backchannel-logout").is_some() && c.get("nonce").is_none() => c,
        _ => return (StatusCode::BAD_REQUEST, "invalid logout token").into_response(),
    };
    let sid = claims["sid"].as_str().unwrap_or("").to_owned();
    let ended = with_state(|s| {
        let before = s.sessions.len();
        s.sessions.retain(|_, (e, u)| !(*e == entry && u.sid == sid));
        before - s.sessions.len()
    })
    .unwrap_or(0);
    tracing::info!(entry = entry.as_str(), ended, "stand-in business: back-channel logout");
    StatusCode::OK.into_response()
}
