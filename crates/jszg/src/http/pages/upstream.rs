//! 教育部账号登录 pages (LOGIN-5): the start, the callback, and the page
//! that asks an existing account's password once before linking.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

use crate::app::App;
use crate::error::{AppError, ErrorCode};
use crate::flows::applicant::Entry;
use crate::flows::sessions;
use crate::flows::upstream_login::{self, CallbackQuery, Outcome, ATTEMPT_SECS, BROWSER_COOKIE, PENDING_COOKIE, PENDING_SECS};
use crate::http::session::{cookie, lax_cookie, session_cookie};

use super::login::Notice;

pub fn router() -> Router<App> {
    Router::new()
        .route("/login/upstream", get(start))
        .route("/login/upstream/callback", get(callback))
        .route("/login/upstream/link", get(link_page))
}

/// A failure page: what happened, and the way back to the password login.
pub fn failure(err: &AppError, entry: Entry) -> Response {
    let status = if err.status.is_server_error() && err.status != StatusCode::SERVICE_UNAVAILABLE && err.status != StatusCode::BAD_GATEWAY {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        err.status
    };
    if let Some(source) = &err.source {
        tracing::error!(code = err.code.as_str(), cause = %source, "upstream login failed");
    }
    let link = format!("/login/{}", entry.as_str());
    let page = super::render(&Notice { title: "教育部账号登录", message: &err.message, link: &link, link_text: "返回登录" });
    (status, page).into_response()
}

async fn start(State(app): State<App>, Query(q): Query<super::EntryQuery>) -> Response {
    let entry = Entry::parse(super::entry_or_default(q.entry.as_deref())).unwrap_or(Entry::Certification);
    match upstream_login::begin(&app, entry).await {
        Ok((url, browser)) => {
            ([(header::SET_COOKIE, lax_cookie(&app, BROWSER_COOKIE, &browser, ATTEMPT_SECS))], Redirect::to(&url)).into_response()
        }
        Err(err) => failure(&err, entry),
    }
}

async fn callback(State(app): State<App>, headers: HeaderMap, uri: Uri) -> Response {
    // Parsed by hand: a malformed query gets the Chinese page, not axum's text.
    let q = match Query::<CallbackQuery>::try_from_uri(&uri) {
        Ok(Query(q)) => q,
        Err(_) => return failure(&upstream_login::state_invalid(), Entry::Certification),
    };
    let outcome = upstream_login::callback(&app, &q, cookie(&headers, BROWSER_COOKIE)).await;
    let clear_state = (header::SET_COOKIE, lax_cookie(&app, BROWSER_COOKIE, "", 0));
    match outcome {
        Ok(Outcome::SignedIn { logged_in, entry }) => {
            // A new session id, as at every login.
            if let Some(old) = cookie(&headers, sessions::COOKIE) {
                if let Err(err) = sessions::end(&app, old).await {
                    return failure(&err, entry);
                }
            }
            let next = after_login(&logged_in.applicant, entry);
            (AppendHeaders([clear_state, (header::SET_COOKIE, session_cookie(&app, &logged_in.token))]), Redirect::to(&next))
                .into_response()
        }
        Ok(Outcome::NeedsPassword { token }) => (
            AppendHeaders([clear_state, (header::SET_COOKIE, lax_cookie(&app, PENDING_COOKIE, &token, PENDING_SECS))]),
            Redirect::to("/login/upstream/link"),
        )
            .into_response(),
        Ok(Outcome::Register { token, entry }) => (
            AppendHeaders([clear_state, (header::SET_COOKIE, lax_cookie(&app, PENDING_COOKIE, &token, PENDING_SECS))]),
            Redirect::to(&format!("/register?entry={}", entry.as_str())),
        )
            .into_response(),
        Err(failed) => (AppendHeaders([clear_state]), failure(&failed.error, failed.entry)).into_response(),
    }
}

/// Where a fresh login goes, as the login page's script decides.
pub fn after_login(a: &crate::flows::applicant::Applicant, entry: Entry) -> String {
    match a.next() {
        crate::flows::applicant::Next::CompleteProfile => "/me/profile".into(),
        _ => format!("/entries/{}", entry.as_str()),
    }
}

#[derive(Template)]
#[template(path = "upstream_link.html")]
struct LinkPage {
    masked: String,
    name: String,
    entry: &'static str,
}

async fn link_page(State(app): State<App>, headers: HeaderMap) -> Response {
    match upstream_login::pending(&app, cookie(&headers, PENDING_COOKIE)).await {
        Ok(Some(p)) if p.needs_password() => {
            let masked =
                jszg_domain::DocNumber::parse(p.doc_type, &p.doc_number, app.clock.today()).map(|d| d.masked()).unwrap_or_default();
            super::render(&LinkPage { masked, name: p.name, entry: p.entry.as_str() })
        }
        Ok(_) => failure(
            &AppError::new(ErrorCode::UpstreamExpired, "教育部账号登录已超时，请返回登录页重新点击“教育部账号登录”。"),
            Entry::Certification,
        ),
        Err(err) => failure(&err, Entry::Certification),
    }
}
