//! 注册 page (manual §2.2.1) and its success page.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use jszg_domain::{DocType, Period};

use crate::app::App;
use crate::flows::upstream_login;

pub fn router() -> Router<App> {
    Router::new().route("/register", get(page)).route("/register/done", get(done))
}

#[derive(Deserialize)]
pub struct EntryQuery {
    pub entry: Option<String>,
}

#[derive(Template)]
#[template(path = "register.html")]
struct RegisterPage {
    doc_types: Vec<(&'static str, &'static str)>,
    periods: Vec<(&'static str, &'static str)>,
    terms: Vec<String>,
    today: String,
    entry: &'static str,
    back: String,
    /// 教育部账号登录 without an account: type, number and name, locked.
    upstream: Option<(&'static str, String, String)>,
}

const BUILTIN_TERMS: &str = include_str!("../../../assets/terms.txt");

/// The agreement text: the operator's file when configured and readable,
/// else the built-in one. Read per view so a replaced file shows at once.
async fn terms(app: &App) -> Vec<String> {
    let text = match &app.config.terms_file {
        Some(path) => match tokio::fs::read_to_string(path).await {
            Ok(text) => text,
            Err(err) => {
                tracing::warn!(path = %path.display(), error = %err, "terms file unreadable; using the built-in text");
                BUILTIN_TERMS.to_owned()
            }
        },
        None => BUILTIN_TERMS.to_owned(),
    };
    text.split("\n\n").map(|p| p.trim().replace('\n', "")).filter(|p| !p.is_empty()).collect()
}

async fn page(State(app): State<App>, Query(q): Query<EntryQuery>, headers: axum::http::HeaderMap) -> Response {
    let mut entry = super::entry_or_default(q.entry.as_deref());
    let pending = crate::http::session::cookie(&headers, upstream_login::PENDING_COOKIE);
    let upstream = match upstream_login::pending(&app, pending).await {
        Ok(Some(p)) if !p.needs_password() => {
            entry = p.entry.as_str();
            Some((p.doc_type.as_str(), p.doc_number, p.name))
        }
        Ok(_) => None,
        Err(err) => return axum::response::IntoResponse::into_response(err),
    };
    super::render(&RegisterPage {
        doc_types: DocType::ALL.iter().map(|t| (t.as_str(), t.label_zh())).collect(),
        periods: [Period::Y5, Period::Y10, Period::Y20, Period::Long].iter().map(|p| (p.as_str(), p.label_zh())).collect(),
        terms: terms(&app).await,
        today: jszg_domain::format_date(app.clock.today()),
        entry,
        back: format!("/login/{entry}"),
        upstream,
    })
}

#[derive(Template)]
#[template(path = "register_done.html")]
struct DonePage {
    login: String,
}

async fn done(Query(q): Query<EntryQuery>) -> Response {
    super::render(&DonePage { login: format!("/login/{}", super::entry_or_default(q.entry.as_deref())) })
}
