//! The staff API (API.md "Staff"): sign-in, the queue, items, photos,
//! decisions and the audit log. Applicant sessions get 401 here.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use jszg_domain::PasswordAttempt;

use crate::app::App;
use crate::clock::rfc3339_at as at;
use crate::error::{ErrorCode, AppError, AppResult};
use crate::flows::loose::loose_string;
use crate::flows::reviews::{Kind, Status};
use crate::flows::staff::{self, Submitted};
use crate::flows::ownership_claims;
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
    let new = staff::StaffPassword::parse(body.new_password.as_deref().unwrap_or(""))?;
    let current = PasswordAttempt::new(body.current_password.unwrap_or_default());
    staff::change_password(&app, &me, &current, &new).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
pub struct QueueQuery {
    /// `identity`, `contact_change` or `ownership_claim`; all when absent.
    pub kind: Option<String>,
    /// `pending` (default), `approved` or `rejected`.
    pub status: Option<String>,
}

/// An item in the queue (API.md "Staff").
#[derive(Serialize, ToSchema)]
pub struct QueueItem {
    pub id: String,
    /// `identity`, `contact_change` or `ownership_claim`.
    pub kind: &'static str,
    /// `pending`, `approved`, `rejected` or `withdrawn`.
    pub status: &'static str,
    /// RFC 3339.
    pub submitted_at: String,
    /// `YYYY-MM-DD`.
    pub due_date: String,
    /// Working days left until the due date; negative when overdue.
    pub working_days_left: i64,
    pub overdue: bool,
    pub doc_type: &'static str,
    pub doc_number_masked: String,
    pub name: String,
}

impl From<staff::QueueItem> for QueueItem {
    fn from(i: staff::QueueItem) -> Self {
        QueueItem {
            id: i.id,
            kind: i.kind.as_str(),
            status: i.status.as_str(),
            submitted_at: at(i.submitted_at),
            due_date: jszg_domain::format_date(i.due_date),
            working_days_left: i.working_days_left,
            overdue: i.overdue,
            doc_type: i.doc_type.as_str(),
            doc_number_masked: i.doc_number_masked,
            name: i.name,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct HistoryItem {
    pub id: String,
    pub kind: &'static str,
    pub status: &'static str,
    pub submitted_at: String,
    pub reason: String,
    pub decision_reason: Option<String>,
    pub decided_at: Option<String>,
    /// The staff member who decided.
    pub decided_by: Option<String>,
}

/// `GET /api/v1/staff/reviews/{id}`.
#[derive(Serialize, ToSchema)]
pub struct ReviewDetail {
    #[serde(flatten)]
    pub item: QueueItem,
    /// What the applicant submitted: identity data (`name`, `validity_*`), a contact change
    /// (`kind`, `new_value`, `new_value_masked`) or a claimant's registration data.
    #[schema(value_type = Object)]
    pub submitted: serde_json::Value,
    pub reason: String,
    pub decision_reason: Option<String>,
    /// The full document number, so it can be compared with the photos;
    /// every opening of an item is written to the audit log.
    pub doc_number: String,
    /// The applicant's current profile.
    pub profile: crate::http::api::me::Me,
    /// Slots whose photos can be opened; empty once they are deleted.
    pub photos: Vec<&'static str>,
    /// When the photos were deleted under the retention rule (PRIV-1).
    pub photos_deleted_at: Option<String>,
    pub history: Vec<HistoryItem>,
    pub common_reasons: Vec<&'static str>,
    /// Ownership claims only: the evidence beside the two parties' data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claim: Option<ClaimEvidence>,
}

/// What a reviewer weighs on an ownership claim (REG-7). `submitted` holds
/// the claimant's data; `profile` is the account holding the number.
#[derive(Serialize, ToSchema)]
pub struct ClaimEvidence {
    /// The identity authority's answer for the claimant's name:
    /// `{"answer": "match" | "mismatch" | "unavailable", "checked_at"}`.
    #[schema(value_type = Object)]
    pub authority: serde_json::Value,
    /// The holder's account: `registered_at`, `archived_at`, `realname_status`,
    /// `last_logins` [{at, entry}], `enrollments`.
    #[schema(value_type = Object)]
    pub holder: serde_json::Value,
}

fn submitted(s: Submitted) -> serde_json::Value {
    match s {
        Submitted::Identity(c) => json!({
            "name": c.name,
            "validity_period": c.validity_period,
            "validity_start": c.validity_start,
            "validity_end": c.validity_end,
        }),
        Submitted::ContactChange(r) => json!({ "kind": r.kind, "new_value": r.new_value, "new_value_masked": r.new_value_masked }),
        Submitted::OwnershipClaim(c) => json!({
            "doc_type": c.doc_type,
            "doc_number": c.doc_number,
            "name": c.name,
            "validity_period": c.validity_period,
            "validity_start": c.validity_start,
            "validity_end": c.validity_end,
            "phone_masked": c.phone_masked,
            "email_masked": c.email_masked,
        }),
    }
}

fn holder(h: Option<ownership_claims::HolderHistory>) -> serde_json::Value {
    let Some(h) = h else { return serde_json::Value::Null };
    json!({
        "registered_at": at(h.registered_at),
        "archived_at": h.archived_at.map(at),
        "archived_reason": h.archived_reason,
        "realname_status": h.realname_status.as_str(),
        "profile_completed_at": h.profile_completed_at.map(at),
        "last_logins": h.last_logins.into_iter().map(|(t, entry)| json!({ "at": at(t), "entry": entry.map(|e| e.as_str()) })).collect::<Vec<_>>(),
        "enrollments": h.enrollments.into_iter().map(|e| e.as_str()).collect::<Vec<_>>(),
    })
}

impl From<staff::ReviewDetail> for ReviewDetail {
    fn from(d: staff::ReviewDetail) -> Self {
        ReviewDetail {
            item: d.item.into(),
            submitted: submitted(d.submitted),
            reason: d.reason,
            decision_reason: d.decision_reason,
            doc_number: d.doc_number,
            profile: d.profile.into(),
            photos: d.photos,
            photos_deleted_at: d.photos_deleted_at.map(at),
            history: d
                .history
                .into_iter()
                .map(|h| HistoryItem {
                    id: h.id,
                    kind: h.kind.as_str(),
                    status: h.status.as_str(),
                    submitted_at: at(h.submitted_at),
                    reason: h.reason,
                    decision_reason: h.decision_reason,
                    decided_at: h.decided_at.map(at),
                    decided_by: h.decided_by,
                })
                .collect(),
            common_reasons: d.common_reasons,
            claim: d.claim.map(|c| ClaimEvidence {
                authority: json!({ "answer": c.authority.answer.as_str(), "checked_at": at(c.authority.checked_at) }),
                holder: holder(c.holder),
            }),
        }
    }
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
    let status = match q.status.as_deref().filter(|s| !s.is_empty()) {
        None => Status::Pending,
        Some(s) => Status::parse(s)
            .filter(|s| *s != Status::Withdrawn)
            .ok_or_else(|| AppError::invalid(ErrorCode::InvalidRequest, "status", "status 应为 pending、approved 或 rejected。"))?,
    };
    Ok(axum::Json(staff::queue(&app, kind, status).await?.into_iter().map(QueueItem::from).collect()))
}

#[utoipa::path(get, path = "/api/v1/staff/reviews/{id}", tag = "staff", params(("id" = String, Path)),
    responses((status = 200, body = ReviewDetail), (status = 404, body = crate::error::ErrorBody)))]
pub async fn detail(
    State(app): State<App>,
    StaffSignedIn(me): StaffSignedIn,
    Path(id): Path<String>,
) -> AppResult<axum::Json<ReviewDetail>> {
    Ok(axum::Json(staff::detail(&app, &me, &id).await?.into()))
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
    if let Some(field) = crate::http::mistyped(&raw, &["reason"]) {
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

/// One line of the audit log.
#[derive(Serialize, ToSchema)]
pub struct AuditEntry {
    pub at: String,
    pub actor_kind: String,
    pub actor: Option<String>,
    pub account: Option<String>,
    pub action: String,
    pub detail: String,
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
    let filter = staff::AuditFilter::read(q.account.as_deref(), q.staff.as_deref(), from, to, app.clock.today());
    let entries = staff::search_audit(&app, &me, &filter).await?;
    Ok(axum::Json(
        entries
            .into_iter()
            .map(|e| AuditEntry { at: at(e.at), actor_kind: e.actor_kind, actor: e.actor, account: e.account, action: e.action, detail: e.detail })
            .collect(),
    ))
}
