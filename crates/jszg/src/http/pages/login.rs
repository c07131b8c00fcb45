//! 登录 pages of the two entries, the business entry gate, logout.

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use crate::app::App;
use crate::error::ErrorCode;
use crate::flows::account_changes;
use crate::flows::applicant::Entry;
use crate::flows::oidc::{self, Resume};
use crate::flows::sessions;
use crate::http::session::{clear_session_cookie, cookie, pending_cookie, MaybeSignedIn};

pub fn router() -> Router<App> {
    Router::new()
        .route("/login/{entry}", get(login_page))
        .route("/entries/{entry}", get(enter))
        .route("/business/{entry}", get(business))
        .route("/logout", post(logout))
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    title: &'static str,
    entry: &'static str,
}

#[derive(Template)]
#[template(path = "notice.html")]
pub struct Notice<'a> {
    pub title: &'a str,
    pub message: &'a str,
    pub link: &'a str,
    pub link_text: &'a str,
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, super::render(&super::ErrorPage { title: "页面不存在", message: "您访问的页面不存在。" })).into_response()
}

async fn login_page(Path(entry): Path<String>, Query(q): Query<super::EntryQuery>) -> Response {
    if entry == "moe" {
        // The link's first address (LOGIN-5 lives at /login/upstream now).
        return Redirect::to(&format!("/login/upstream?entry={}", super::entry_or_default(q.entry.as_deref()))).into_response();
    }
    let Some(entry) = Entry::parse(&entry) else { return not_found() };
    super::render(&LoginPage { title: entry.login_title(), entry: entry.as_str() })
}

/// Entering a business (RN-1): log in, complete the profile, verify the
/// real name, then go on to the business system.
async fn enter(State(app): State<App>, Path(entry): Path<String>, headers: HeaderMap, MaybeSignedIn(current): MaybeSignedIn) -> Response {
    let Some(entry) = Entry::parse(&entry) else { return not_found() };
    let Some(current) = current else {
        return Redirect::to(&format!("/login/{}", entry.as_str())).into_response();
    };
    match account_changes::entry_gate(&app, &current.applicant, entry) {
        Ok(url) => {
            // An OpenID Connect authorization waiting for this entry resumes here (SSO-1).
            match oidc::resume(&app, cookie(&headers, oidc::PENDING_COOKIE), entry, &current).await {
                Ok(Resume::Redirect(to)) => {
                    return ([(header::SET_COOKIE, pending_cookie(&app, "", 0))], Redirect::to(&to)).into_response()
                }
                Ok(Resume::Login) => return Redirect::to(&format!("/login/{}", entry.as_str())).into_response(),
                Ok(Resume::Nothing) => {}
                Err(err) => return err.into_response(),
            }
            // A business configured as a client starts its own sign-in, which succeeds at once (SSO-2).
            match oidc::client(&app, entry.as_str()).and_then(|(_, c)| c.initiate_login_uri.as_deref()) {
                Some(start) => Redirect::to(&oidc::with_params(start, &[("iss", &app.config.public_url())])).into_response(),
                None => Redirect::to(&url).into_response(),
            }
        }
        // Say why (manual §2.3.1) on the form that fixes it.
        Err(err) if err.code == ErrorCode::ProfileIncomplete => Redirect::to("/me/profile?why=profile_incomplete").into_response(),
        Err(err) if err.code == ErrorCode::RealnameRequired => {
            super::render(&Notice { title: "提示", message: &err.message, link: "/me/realname", link_text: "确定" })
        }
        Err(err) => err.into_response(),
    }
}

/// Development stand-in for a business system's landing page, used while
/// `[entries]` does not name the real one.
async fn business(Path(entry): Path<String>, MaybeSignedIn(current): MaybeSignedIn) -> Response {
    let Some(entry) = Entry::parse(&entry) else { return not_found() };
    if current.is_none() {
        return Redirect::to(&format!("/login/{}", entry.as_str())).into_response();
    }
    // An applicant never sees configuration keys; the operator's log says what is missing.
    tracing::info!(entry = entry.as_str(), "business stand-in page shown: no business system address configured");
    let message = format!("您已通过实名认证，可以办理{}业务。该业务系统暂未开放，请稍后再从本网站进入办理。", entry.business_name());
    super::render(&Notice { title: entry.business_name(), message: &message, link: "/me/profile", link_text: "个人信息中心" })
}

#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    pub form_token: String,
}

async fn logout(
    State(app): State<App>,
    headers: HeaderMap,
    MaybeSignedIn(current): MaybeSignedIn,
    Form(form): Form<TokenForm>,
) -> Response {
    if let Some(current) = current {
        if !sessions::form_token_ok(&app, &current.id_hash, &form.form_token) {
            return super::csrf_page();
        }
        let entry = current.entry;
        if let Some(token) = cookie(&headers, sessions::COOKIE) {
            if let Err(err) = sessions::end(&app, token).await {
                return err.into_response();
            }
        }
        return ([(header::SET_COOKIE, clear_session_cookie(&app))], Redirect::to(&format!("/login/{}", entry.as_str()))).into_response();
    }
    Redirect::to("/").into_response()
}
