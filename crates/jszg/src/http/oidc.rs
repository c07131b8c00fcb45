//! The OpenID Connect provider's endpoints (API.md "Single sign-on"):
//! discovery, JWKS, authorization, token, userinfo and end session. Errors
//! here speak OAuth (`{"error", "error_description"}`), not the JSON of the
//! rest of the API; an unknown client or redirect URI gets a page.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::Engine;
use serde_json::json;

use crate::app::App;
use crate::error::AppError;
use crate::flows::oidc::{self, logout, ClientAuth, Params, Step, TokenError, PENDING_LIFETIME};
use crate::http::pages::{render, ErrorPage};
use crate::http::session::{clear_session_cookie, pending_cookie, MaybeSignedIn};

pub fn router() -> Router<App> {
    Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/oidc/jwks", get(jwks))
        .route("/oidc/authorize", get(authorize).post(authorize_posted))
        .route("/oidc/token", post(token))
        .route("/oidc/userinfo", get(userinfo).post(userinfo))
        .route("/oidc/logout", get(end_session).post(confirm_end_session))
}

fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

async fn discovery(State(app): State<App>) -> Response {
    axum::Json(oidc::discovery(&app)).into_response()
}

async fn jwks(State(app): State<App>) -> Result<Response, AppError> {
    let keys = oidc::keys::jwks(&app).await?;
    let mut response = axum::Json(json!({ "keys": keys })).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=60"));
    Ok(response)
}

fn error_page(status: StatusCode, message: &str) -> Response {
    (status, render(&ErrorPage { title: "无法登录", message })).into_response()
}

fn found(url: &str) -> Response {
    match HeaderValue::from_str(url) {
        Ok(location) => no_store((StatusCode::FOUND, [(header::LOCATION, location)]).into_response()),
        Err(_) => error_page(StatusCode::BAD_REQUEST, "登录请求无效，请从业务系统的正式入口进入。"),
    }
}

async fn authorize(
    State(app): State<App>,
    MaybeSignedIn(current): MaybeSignedIn,
    query: Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, AppError> {
    let Ok(Query(pairs)) = query else {
        return Ok(error_page(StatusCode::BAD_REQUEST, "登录请求无效，请从业务系统的正式入口进入。"));
    };
    authorize_with(&app, current.as_ref(), &pairs).await
}

/// Core 3.1.2.1: the authorization endpoint MUST support POST (form serialization), with the
/// same checks and answers as GET.
async fn authorize_posted(
    State(app): State<App>,
    MaybeSignedIn(current): MaybeSignedIn,
    form: Result<axum::extract::Form<Vec<(String, String)>>, axum::extract::rejection::FormRejection>,
) -> Result<Response, AppError> {
    let Ok(axum::extract::Form(pairs)) = form else {
        return Ok(error_page(StatusCode::BAD_REQUEST, "登录请求无效，请从业务系统的正式入口进入。"));
    };
    authorize_with(&app, current.as_ref(), &pairs).await
}

async fn authorize_with(app: &App, current: Option<&crate::flows::sessions::Current>, pairs: &[(String, String)]) -> Result<Response, AppError> {
    let app = app.clone();
    match oidc::authorize(&app, &Params(pairs), current).await? {
        Err(refusal) => Ok(match refusal.into_url(&app) {
            Ok(url) => found(&url),
            Err(message) => error_page(StatusCode::BAD_REQUEST, message),
        }),
        Ok(Step::Redirect(url)) => Ok(found(&url)),
        Ok(Step::Login { entry, pending }) => {
            let mut response = found(&format!("/login/{}", entry.as_str()));
            response.headers_mut().append(header::SET_COOKIE, pending_cookie(&app, &pending, PENDING_LIFETIME));
            Ok(response)
        }
        Ok(Step::Gate { entry, pending }) => {
            let mut response = found(&format!("/entries/{}", entry.as_str()));
            response.headers_mut().append(header::SET_COOKIE, pending_cookie(&app, &pending, PENDING_LIFETIME));
            Ok(response)
        }
    }
}

fn token_error(err: TokenError, basic: bool) -> Response {
    let status = if err.error == "invalid_client" { StatusCode::UNAUTHORIZED } else { StatusCode::BAD_REQUEST };
    let mut response = (status, axum::Json(json!({ "error": err.error, "error_description": err.description }))).into_response();
    if status == StatusCode::UNAUTHORIZED && basic {
        // RFC 6749 §5.2: a client that tried Basic is answered with a challenge.
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"jszg\", error=\"invalid_client\""));
    }
    no_store(response)
}

fn form_decode(part: &str) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&format!("v={part}")).ok()?;
    pairs.into_iter().next().map(|(_, v)| v)
}

/// `Authorization: Basic` credentials, form-decoded as RFC 6749 §2.3.1 says.
fn basic_credentials(headers: &HeaderMap) -> Option<Result<(String, String), ()>> {
    basic_credentials_of(headers.get(header::AUTHORIZATION)?.to_str().ok()?)
}

/// The same from the header's value: `None` when it is not Basic.
pub fn basic_credentials_of(value: &str) -> Option<Result<(String, String), ()>> {
    let (scheme, rest) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(rest.trim()).ok();
    let text = decoded.and_then(|d| String::from_utf8(d).ok());
    Some(match text.as_deref().and_then(|t| t.split_once(':')) {
        Some((id, secret)) => match (form_decode(id), form_decode(secret)) {
            (Some(id), Some(secret)) => Ok((id, secret)),
            _ => Err(()),
        },
        None => Err(()),
    })
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded")))
}

async fn token(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Result<Response, AppError> {
    let invalid = |d: &'static str| TokenError { error: "invalid_request", description: d };
    let is_form = is_form(&headers);
    let basic = basic_credentials(&headers);
    let is_basic = basic.is_some();
    if !is_form {
        return Ok(token_error(invalid("the body must be application/x-www-form-urlencoded"), is_basic));
    }
    let Ok(pairs) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body) else {
        return Ok(token_error(invalid("the body is not a valid form"), is_basic));
    };
    let params = Params(&pairs);
    let Some(get) = ["grant_type", "code", "redirect_uri", "code_verifier", "client_id", "client_secret"]
        .iter()
        .map(|name| params.get(name).ok())
        .collect::<Option<Vec<Option<&str>>>>()
    else {
        return Ok(token_error(invalid("a parameter was given more than once"), is_basic));
    };
    let (grant_type, code, redirect_uri, verifier, form_id, form_secret) = (get[0], get[1], get[2], get[3], get[4], get[5]);
    let unauthenticated = TokenError { error: "invalid_client", description: "client authentication failed" };
    let (client_id, secret) = match (basic, form_secret) {
        (Some(_), Some(_)) => return Ok(token_error(invalid("use one client authentication method"), true)),
        (Some(Err(())), None) => return Ok(token_error(unauthenticated, true)),
        (Some(Ok((id, secret))), None) => {
            if form_id.is_some_and(|f| f != id) {
                return Ok(token_error(invalid("client_id does not match the credentials"), true));
            }
            (id, secret)
        }
        (None, Some(secret)) => match form_id {
            Some(id) => (id.to_owned(), secret.to_owned()),
            None => return Ok(token_error(unauthenticated, false)),
        },
        (None, None) => return Ok(token_error(unauthenticated, false)),
    };
    let entry = match oidc::authenticate_client(&app, &ClientAuth { client_id: &client_id, secret: &secret }).await {
        Ok(entry) => entry,
        Err(err) => return Ok(token_error(err, is_basic)),
    };
    match grant_type {
        None => return Ok(token_error(invalid("grant_type is required"), is_basic)),
        Some("authorization_code") => {}
        Some(_) => {
            return Ok(token_error(
                TokenError { error: "unsupported_grant_type", description: "only authorization_code is supported" },
                is_basic,
            ))
        }
    }
    let (Some(code), Some(redirect_uri)) = (code, redirect_uri) else {
        return Ok(token_error(invalid("code and redirect_uri are required"), is_basic));
    };
    Ok(match oidc::exchange(&app, entry, code, redirect_uri, verifier).await? {
        Ok(tokens) => no_store(axum::Json(tokens).into_response()),
        Err(err) => token_error(err, is_basic),
    })
}

fn bearer_error(error: &'static str) -> Response {
    let challenge = format!("Bearer realm=\"jszg\", error=\"{error}\"");
    let mut response = (StatusCode::UNAUTHORIZED, axum::Json(json!({ "error": error }))).into_response();
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
    }
    no_store(response)
}

/// Userinfo by GET or POST (Core 5.3.1), the token in the `Authorization` header or, by POST, in
/// the form body (RFC 6750 §2.2); never both.
async fn userinfo(State(app): State<App>, method: axum::http::Method, headers: HeaderMap, body: Bytes) -> Result<Response, AppError> {
    let in_body = if method == axum::http::Method::POST && is_form(&headers) {
        let Ok(pairs) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body) else {
            return Ok(bearer_error("invalid_request"));
        };
        let params = Params(&pairs);
        let Ok(token) = params.get("access_token") else {
            return Ok(bearer_error("invalid_request"));
        };
        token.map(str::to_owned)
    } else {
        None
    };
    let in_header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim().to_owned());
    let token = match (in_header, in_body) {
        (Some(_), Some(_)) => return Ok(bearer_error("invalid_request")),
        (header, body) => header.or(body),
    };
    let Some(token) = token else {
        return Ok(bearer_error("invalid_request"));
    };
    Ok(match oidc::userinfo(&app, &token).await? {
        Some(claims) => no_store(axum::Json(claims).into_response()),
        None => bearer_error("invalid_token"),
    })
}

#[derive(Template)]
#[template(path = "logout_confirm.html")]
struct LogoutConfirm {
    form_token: String,
    fields: Vec<(String, String)>,
}

async fn end_session(
    State(app): State<App>,
    MaybeSignedIn(current): MaybeSignedIn,
    query: Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, AppError> {
    let Ok(Query(pairs)) = query else {
        return Ok(error_page(StatusCode::BAD_REQUEST, "退出登录的请求无效，请直接关闭页面。"));
    };
    finish_end_session(&app, current.as_ref(), &pairs, false).await
}

/// The applicant's answer to the question the end-session endpoint asked: a form post of this
/// site, with the session's synchronizer token.
async fn confirm_end_session(
    State(app): State<App>,
    MaybeSignedIn(current): MaybeSignedIn,
    axum::extract::Form(pairs): axum::extract::Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let token = pairs.iter().find(|(k, _)| k == "form_token").map(|(_, v)| v.as_str()).unwrap_or("");
    if let Some(current) = &current {
        if !crate::flows::sessions::form_token_ok(&app, &current.id_hash, token) {
            return Ok(crate::http::pages::csrf_page());
        }
    }
    let pairs: Vec<(String, String)> = pairs.into_iter().filter(|(k, _)| k != "form_token").collect();
    finish_end_session(&app, current.as_ref(), &pairs, true).await
}

async fn finish_end_session(
    app: &App,
    current: Option<&crate::flows::sessions::Current>,
    pairs: &[(String, String)],
    confirmed: bool,
) -> Result<Response, AppError> {
    let outcome = logout::end_session(app, &Params(pairs), current, confirmed).await?;
    let mut response = match outcome {
        Err(message) => return Ok(error_page(StatusCode::BAD_REQUEST, message)),
        Ok(logout::Ended::Confirm) => {
            let form_token = current.map(|c| crate::flows::sessions::form_token(app, &c.id_hash)).unwrap_or_default();
            let fields = pairs
                .iter()
                .filter(|(k, _)| ["client_id", "post_logout_redirect_uri", "state", "ui_locales"].contains(&k.as_str()))
                .cloned()
                .collect();
            return Ok(no_store(render(&LogoutConfirm { form_token, fields })));
        }
        Ok(logout::Ended::Redirect(url)) => found(&url),
        Ok(logout::Ended::Page) => render(&crate::http::pages::login::Notice {
            title: "已退出登录",
            message: "您已退出中国教师资格网及各业务系统。",
            link: "/",
            link_text: "返回主页",
        }),
    };
    let headers = response.headers_mut();
    headers.append(header::SET_COOKIE, clear_session_cookie(app));
    headers.append(header::SET_COOKIE, pending_cookie(app, "", 0));
    Ok(response)
}
