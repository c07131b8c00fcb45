//! The staff API (API.md "Staff"): sign-in, the queue, items, photos,
//! decisions and the audit log. Applicant sessions get 401 here.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::app::App;
use crate::error::{ErrorCode, AppError, AppResult};
use crate::flows::loose::loose_string;
use crate::flows::reviews::Kind;
use crate::flows::staff::{self, AuditEntry, QueueItem, ReviewDetail};
use crate::http::session::{clear_staff_cookie, cookie, staff_cookie, StaffSignedIn, StaffWithAnyPassword};
use crate::http::Json;

pub fn router() -> Router<App> {
    Router::new()
        .route("/api/v1/staff/sessions", post(sign_in).route_layer(axum::middleware::from_fn(crate::http::refuse_cross_site_login)))
        .route("/api/v1/staff/sessions/current", axum::routing::delete(sign_out))
        .route("/api/v1/staff/password", post(change_password))
        .route("/api/v1/staff/reviews", get(queue))
        .route("/api/v1/staff/reviews/{id}", get(detail))
        .route("/api/v1/staff/reviews/{id}/photos/{slot}", get(photo))
        .route("/api/v1/staff/reviews/{id}/decision", post(decide))
        .route("/api/v1/staff/audit", get(audit))
}

#[derive(Deserialize, Serialize, ToSchema, Default)]
#[serde(default)]
pub struct StaffSignIn {
    #[serde(deserialize_with = "loose_string")]
    pub username: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub password: Option<String>,
    /// RFC 6238 code; development mode may omit it.
    #[serde(deserialize_with = "loose_string")]
    pub totp: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct StaffMe {
    pub username: String,
    pub role: String,
    pub must_change_password: bool,
}

#[utoipa::path(post, path = "/api/v1/staff/sessions", tag = "staff", request_body = StaffSignIn,
    responses((status = 200, body = StaffMe, description = "Sets the jszg_staff cookie"),
              (status = 401, description = "invalid_credentials: username, password or TOTP wrong", body = crate::error::ErrorBody),
              (status = 429, description = "account_locked or too_many_attempts, with retry_after", body = crate::error::ErrorBody)))]
pub async fn sign_in(State(app): State<App>, Json(body): Json<StaffSignIn>) -> AppResult<Response> {
    let username = body.username.unwrap_or_default();
    let token = staff::sign_in(&app, username.trim(), body.password.as_deref().unwrap_or(""), body.totp.as_deref()).await?;
    let current = staff::resolve(&app, &token).await?.ok_or_else(|| AppError::internal("staff session vanished"))?;
    let me = StaffMe {
        username: current.member.username.clone(),
        role: current.member.role.clone(),
        must_change_password: current.member.must_change_password,
    };
    Ok(([(header::SET_COOKIE, staff_cookie(&app, &token))], axum::Json(me)).into_response())
}

#[utoipa::path(delete, path = "/api/v1/staff/sessions/current", tag = "staff", responses((status = 204)))]
pub async fn sign_out(State(app): State<App>, headers: HeaderMap) -> AppResult<Response> {
    if let Some(token) = cookie(&headers, staff::COOKIE) {
        staff::sign_out(&app, token).await?;
    }
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, clear_staff_cookie(&app))]).into_response())
}

#[derive(Deserialize, Serialize, ToSchema, Default)]
#[serde(default)]
pub struct StaffPasswordChange {
    #[serde(deserialize_with = "loose_string")]
    pub current_password: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub new_password: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/staff/password", tag = "staff", request_body = StaffPasswordChange,
    responses((status = 204), (status = 401, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn change_password(
    State(app): State<App>,
    StaffWithAnyPassword(me): StaffWithAnyPassword,
    Json(body): Json<StaffPasswordChange>,
) -> AppResult<StatusCode> {
    staff::change_password(&app, &me, body.current_password.as_deref().unwrap_or(""), body.new_password.as_deref().unwrap_or("")).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
pub struct QueueQuery {
    /// `identity`, `contact_change` or `ownership_claim`; all when absent.
    pub kind: Option<String>,
    /// `pending` (default), `approved` or `rejected`.
    pub status: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/staff/reviews", tag = "staff", params(QueueQuery),
    responses((status = 200, body = Vec<QueueItem>), (status = 401, body = crate::error::ErrorBody)))]
pub async fn queue(
    State(app): State<App>,
    StaffSignedIn(_me): StaffSignedIn,
    Query(q): Query<QueueQuery>,
) -> AppResult<axum::Json<Vec<QueueItem>>> {
    let kind = match q.kind.as_deref().filter(|k| !k.is_empty()) {
        Some(k) => Some(
            Kind::parse(k)
                .ok_or_else(|| AppError::invalid(ErrorCode::InvalidRequest, "kind", "kind 应为 identity、contact_change 或 ownership_claim。"))?,
        ),
        None => None,
    };
    let status = q.status.as_deref().filter(|s| !s.is_empty()).unwrap_or("pending");
    if !matches!(status, "pending" | "approved" | "rejected") {
        return Err(AppError::invalid(ErrorCode::InvalidRequest, "status", "status 应为 pending、approved 或 rejected。"));
    }
    Ok(axum::Json(staff::queue(&app, kind, status).await?))
}

#[utoipa::path(get, path = "/api/v1/staff/reviews/{id}", tag = "staff", params(("id" = String, Path)),
    responses((status = 200, body = ReviewDetail), (status = 404, body = crate::error::ErrorBody)))]
pub async fn detail(
    State(app): State<App>,
    StaffSignedIn(me): StaffSignedIn,
    Path(id): Path<String>,
) -> AppResult<axum::Json<ReviewDetail>> {
    Ok(axum::Json(staff::detail(&app, &me, &id).await?))
}

#[utoipa::path(get, path = "/api/v1/staff/reviews/{id}/photos/{slot}", tag = "staff",
    params(("id" = String, Path), ("slot" = String, Path, description = "front, back or handheld")),
    responses((status = 200, content_type = "image/jpeg", description = "The photo; every view is audited"), (status = 404, body = crate::error::ErrorBody)))]
pub async fn photo(
    State(app): State<App>,
    StaffSignedIn(me): StaffSignedIn,
    Path((id, slot)): Path<(String, String)>,
) -> AppResult<Response> {
    if !matches!(slot.as_str(), "front" | "back" | "handheld") {
        return Err(AppError::new(ErrorCode::NotFound, "没有这张照片。"));
    }
    let bytes = staff::photo(&app, &me, &id, &slot).await?;
    Ok(([(header::CONTENT_TYPE, "image/jpeg"), (header::CACHE_CONTROL, "no-store")], bytes).into_response())
}

#[derive(Deserialize, Serialize, ToSchema, Default)]
#[serde(default)]
pub struct Decision {
    #[serde(deserialize_with = "crate::flows::loose::loose_bool")]
    pub approve: bool,
    /// Required when rejecting, e.g. 民族错误.
    #[serde(deserialize_with = "loose_string")]
    pub reason: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Decided {
    pub id: String,
    pub status: &'static str,
}

#[utoipa::path(post, path = "/api/v1/staff/reviews/{id}/decision", tag = "staff", params(("id" = String, Path)), request_body = Decision,
    responses((status = 200, body = Decided), (status = 409, description = "already_decided", body = crate::error::ErrorBody),
              (status = 422, description = "invalid_reason; invalid_request for a mistyped approve or reason", body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn decide(
    State(app): State<App>,
    StaffSignedIn(me): StaffSignedIn,
    Path(id): Path<String>,
    Json(raw): Json<serde_json::Value>,
) -> AppResult<axum::Json<Decided>> {
    // A decision is not guessed at: `"approve": "no"` or a number for the reason is refused.
    if raw.get("approve").is_some_and(|v| !v.is_boolean()) {
        return Err(AppError::invalid(ErrorCode::InvalidRequest, "approve", "approve 须为 true 或 false。"));
    }
    if let Some(field) = crate::flows::loose::mistyped(&raw, &["reason"]) {
        return Err(AppError::invalid(ErrorCode::InvalidRequest, field, "驳回原因须为文本。"));
    }
    let body: Decision = crate::http::read_json(raw)?;
    staff::decide(&app, &me, &id, body.approve, body.reason.as_deref()).await?;
    Ok(axum::Json(Decided { id, status: if body.approve { "approved" } else { "rejected" } }))
}

#[derive(Deserialize, IntoParams)]
pub struct AuditQuery {
    /// An applicant's document number.
    pub account: Option<String>,
    /// A staff member's username.
    pub staff: Option<String>,
    /// RFC 3339 instants bounding the search.
    pub from: Option<String>,
    pub to: Option<String>,
}

fn instant(raw: Option<&str>, default: i64) -> AppResult<i64> {
    match raw.filter(|s| !s.is_empty()) {
        None => Ok(default),
        Some(s) => time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
            .map(|t| t.unix_timestamp())
            .map_err(|_| AppError::invalid(ErrorCode::InvalidRequest, "from", "时间格式应为 RFC 3339，例如 2026-01-01T00:00:00+08:00。")),
    }
}

#[utoipa::path(get, path = "/api/v1/staff/audit", tag = "staff", params(AuditQuery),
    responses((status = 200, body = Vec<AuditEntry>), (status = 403, description = "admins only", body = crate::error::ErrorBody)))]
pub async fn audit(
    State(app): State<App>,
    StaffSignedIn(me): StaffSignedIn,
    Query(q): Query<AuditQuery>,
) -> AppResult<axum::Json<Vec<AuditEntry>>> {
    let from = instant(q.from.as_deref(), 0)?;
    let to = instant(q.to.as_deref(), i64::MAX / 2)?;
    Ok(axum::Json(staff::search_audit(&app, &me, q.account.as_deref(), q.staff.as_deref(), from, to).await?))
}
