//! 申诉找回账号 (REG-7): the claim form for a number someone else
//! registered. The registration fields with the same live checks, the
//! three photos of manual review and a reason; register.js drives it.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use jszg_domain::{DocType, Period};

use super::register::{terms, EntryQuery, TermsBlock};
use crate::app::App;

pub fn router() -> Router<App> {
    Router::new().route("/register/claim", get(page))
}

#[derive(Template)]
#[template(path = "claim.html")]
struct ClaimPage {
    doc_types: Vec<(&'static str, &'static str)>,
    periods: Vec<(&'static str, &'static str)>,
    terms: Vec<TermsBlock>,
    today: String,
    entry: &'static str,
    login: String,
}

async fn page(State(app): State<App>, Query(q): Query<EntryQuery>) -> Response {
    let entry = super::entry_or_default(q.entry.as_deref());
    let page = super::render(&ClaimPage {
        doc_types: DocType::ALL.iter().map(|t| (t.as_str(), t.label_zh())).collect(),
        periods: [Period::Y5, Period::Y10, Period::Y20, Period::Long].iter().map(|p| (p.as_str(), p.label_zh())).collect(),
        terms: terms(&app).await,
        today: jszg_domain::format_date(app.clock.today()),
        entry,
        login: format!("/login/{entry}"),
    });
    ([(header::CACHE_CONTROL, "no-store")], page).into_response()
}
