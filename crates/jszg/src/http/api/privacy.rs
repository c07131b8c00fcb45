//! The applicant's own data (API.md "Personal data (PRIV)").

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::app::App;
use crate::error::AppResult;
use crate::flows::my_data::{self, Access, Export};
use crate::http::session::SignedIn;

pub fn router() -> Router<App> {
    Router::new().route("/api/v1/me/export", get(export)).route("/api/v1/me/access-log", get(access_log))
}

/// Personal data never sits in a shared or browser cache.
const NO_STORE: (header::HeaderName, &str) = (header::CACHE_CONTROL, "no-store");

#[utoipa::path(get, path = "/api/v1/me/export", tag = "privacy",
    responses((status = 200, body = Export, description = "Everything held about the applicant, contacts in clear; Cache-Control: no-store"),
              (status = 401, description = "not_logged_in", body = crate::error::ErrorBody)))]
pub async fn export(State(app): State<App>, SignedIn(current): SignedIn) -> AppResult<Response> {
    let export = my_data::export(&app, &current.applicant).await?;
    Ok(([NO_STORE], axum::Json(export)).into_response())
}

#[utoipa::path(get, path = "/api/v1/me/access-log", tag = "privacy",
    responses((status = 200, body = Vec<Access>, description = "Every staff access to the applicant's data, newest first"),
              (status = 401, description = "not_logged_in", body = crate::error::ErrorBody)))]
pub async fn access_log(State(app): State<App>, SignedIn(current): SignedIn) -> AppResult<Response> {
    let log = my_data::access_log(&app, &current.applicant).await?;
    Ok(([NO_STORE], axum::Json(log)).into_response())
}
