//! HTML pages (Chinese, the manual's screens). Pages are askama templates
//! with auto-escaping over a base layout; their scripts call the JSON API.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::Router;

use crate::app::App;

pub mod centre;
pub mod ownership_claims;
pub mod home;
pub mod identity;
pub mod login;
pub mod recovery;
pub mod register;
pub mod staff;
pub mod upstream;

/// The footer's 京公网安备 line, from `[site] police_record`. Pages are
/// rendered by many templates that all extend `base.html`, so the value is
/// set once when the router is built (the first App of a process wins).
static POLICE_RECORD: std::sync::OnceLock<String> = std::sync::OnceLock::new();

pub fn police_record() -> &'static str {
    POLICE_RECORD.get().map(String::as_str).unwrap_or("")
}

pub fn router(dev: bool, site: &crate::config::SiteConfig) -> Router<App> {
    let record = site.police_record.trim();
    let _ = POLICE_RECORD.set(if record.is_empty() { String::new() } else { format!("京公网安备{record}号") });
    let mut router = Router::new()
        .merge(home::router())
        .merge(register::router())
        .merge(ownership_claims::router())
        .merge(login::router())
        .merge(centre::router())
        .merge(identity::router())
        .merge(recovery::router())
        .merge(staff::router())
        .merge(upstream::router());
    if dev {
        router = router.merge(crate::http::dev::pages_router());
    }
    router
}

tokio::task_local! {
    /// Whether the request asked for 关怀模式, for `base.html` to read while it renders.
    static CARE: bool;
}

/// 关怀模式 (A11Y-4): larger type, stronger contrast, one column. The choice is a cookie set by
/// the header's toggle (static/a11y.js), so it needs no account and holds across pages and visits.
pub const CARE_COOKIE: &str = "jszg_care";

/// Whether the page being rendered is in 关怀模式.
pub fn care() -> bool {
    CARE.try_with(|on| *on).unwrap_or(false)
}

/// Read the 关怀模式 cookie once per request, so every template renders in the chosen mode from
/// its first byte (no flash of the small page before a script switches it).
pub async fn care_mode(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let on = crate::http::session::cookie(req.headers(), CARE_COOKIE) == Some("1");
    CARE.scope(on, next.run(req)).await
}

/// Render a template, or a plain error page if rendering fails.
pub fn render<T: Template>(template: &T) -> Response {
    match template.render() {
        Ok(html) => Html(html).into_response(),
        Err(err) => {
            tracing::error!(error = %err, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, Html("<h1>系统繁忙，请稍后重试。</h1>")).into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    pub title: &'a str,
    pub message: &'a str,
}

/// The business entries an applicant can come from.
pub fn entry_or_default(raw: Option<&str>) -> &'static str {
    match raw {
        Some("renewal") => "renewal",
        _ => "certification",
    }
}

/// A form whose synchronizer token does not match its session.
pub fn csrf_page() -> Response {
    (
        StatusCode::FORBIDDEN,
        render(&ErrorPage {
            title: "页面已过期", message: "页面已过期或请求来源不被允许，请刷新页面后重新操作。"
        }),
    )
        .into_response()
}

/// `?entry=certification|renewal` on pages that serve both entries.
#[derive(serde::Deserialize)]
pub struct EntryQuery {
    pub entry: Option<String>,
}
