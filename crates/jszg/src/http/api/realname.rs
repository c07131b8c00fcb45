//! Real-name verification, manual review, and the business systems'
//! enrollment API (API.md "Real-name verification", "Business systems").

use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::routing::{post, put};
use axum::Router;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use jszg_domain::LoginName;

use crate::adapters::photos;
use crate::app::App;
use crate::error::{ErrorCode, AppError, AppResult};
use crate::flows::applicant::Entry;
use crate::flows::loose::loose_string;
use crate::flows::registration::ValidityInput;
use crate::flows::reviews::{self, IdentityApplication};
use crate::flows::{enrollment, realname};
use crate::http::session::SignedIn;

pub fn router() -> Router<App> {
    Router::new()
        .route("/api/v1/me/realname", post(verify))
        .route("/api/v1/me/reviews", post(apply).layer(crate::http::upload_limit()))
        .route("/api/v1/service/enrollments/{entry}/{doc_number}", put(enroll))
}

#[derive(Deserialize, Serialize, ToSchema, Default)]
#[serde(default)]
pub struct RealnameRequest {
    /// A new name to verify and, on success, to save (RN-6).
    #[serde(deserialize_with = "loose_string")]
    pub name: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct RealnameVerified {
    #[schema(example = "verified")]
    pub status: &'static str,
    pub remaining_today: i64,
    pub name: String,
}

#[utoipa::path(post, path = "/api/v1/me/realname", tag = "realname", request_body = RealnameRequest,
    responses((status = 200, body = RealnameVerified),
              (status = 422, description = "realname_failed (remaining_today), invalid_name", body = crate::error::ErrorBody),
              (status = 429, description = "daily_limit", body = crate::error::ErrorBody),
              (status = 409, description = "review_pending", body = crate::error::ErrorBody),
              (status = 503, description = "authority_unavailable: no attempt consumed", body = crate::error::ErrorBody)))]
pub async fn verify(
    State(app): State<App>,
    SignedIn(current): SignedIn,
    body: axum::body::Bytes,
) -> AppResult<axum::Json<RealnameVerified>> {
    // The body is optional: an empty one verifies the name on record.
    let name = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        serde_json::from_slice::<RealnameRequest>(&body)
            .map_err(|_| AppError::invalid(ErrorCode::InvalidRequest, "body", "请求内容无法识别，请以 JSON 格式提交。"))?
            .name
    };
    let name = realname::name_to_check(&current.applicant, name.as_deref())?;
    let verified = realname::verify(&app, &current.applicant, name).await?;
    Ok(axum::Json(RealnameVerified { status: "verified", remaining_today: verified.remaining_today, name: verified.name }))
}

#[derive(Serialize, ToSchema)]
pub struct ReviewSubmitted {
    pub id: String,
    #[schema(example = "pending")]
    pub status: &'static str,
    pub due_date: String,
    pub remaining_in_period: i64,
}

/// The multipart body of a manual review application.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ReviewForm {
    validity_period: String,
    validity_start: String,
    name: String,
    reason: String,
    #[schema(value_type = String, format = Binary)]
    front: Vec<u8>,
    #[schema(value_type = String, format = Binary)]
    back: Vec<u8>,
    #[schema(value_type = String, format = Binary)]
    handheld: Vec<u8>,
}

/// A body that is not multipart (or has no boundary) is refused before
/// anything else is looked at.
pub fn multipart_body(multipart: Result<Multipart, MultipartRejection>) -> AppResult<Multipart> {
    multipart.map_err(|rejection| {
        tracing::debug!(%rejection, "not a multipart body");
        AppError::invalid(ErrorCode::InvalidRequest, "body", "上传内容格式不正确，请以 multipart/form-data 格式（带 boundary）通过页面重新提交。")
    })
}

/// Read a multipart form into text fields and files, refusing oversized parts early.
pub async fn read_multipart(mut multipart: Multipart) -> AppResult<std::collections::HashMap<String, Vec<u8>>> {
    let mut parts = std::collections::HashMap::new();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(err) if err.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(crate::http::status_error(StatusCode::PAYLOAD_TOO_LARGE))
            }
            Err(_) => {
                return Err(AppError::invalid(ErrorCode::InvalidRequest, "body", "上传内容不完整或过大（每张照片应小于190KB），请重新提交。"))
            }
        };
        let Some(name) = field.name().map(str::to_owned) else { continue };
        let bytes = field.bytes().await.map_err(|err| match err.status() {
            StatusCode::PAYLOAD_TOO_LARGE => crate::http::status_error(StatusCode::PAYLOAD_TOO_LARGE),
            _ => AppError::invalid(ErrorCode::InvalidRequest, "body", "上传内容不完整或过大，请重新提交。"),
        })?;
        parts.insert(name, bytes.to_vec());
    }
    Ok(parts)
}

fn text(parts: &std::collections::HashMap<String, Vec<u8>>, name: &str) -> String {
    parts.get(name).map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default()
}

#[utoipa::path(post, path = "/api/v1/me/reviews", tag = "realname",
    request_body(content = ReviewForm, content_type = "multipart/form-data"),
    responses((status = 201, body = ReviewSubmitted),
              (status = 422, description = "invalid_photo (field names the file), invalid_name, invalid_validity, invalid_reason", body = crate::error::ErrorBody),
              (status = 409, description = "review_pending", body = crate::error::ErrorBody),
              (status = 429, description = "period_limit", body = crate::error::ErrorBody)))]
pub async fn apply(
    State(app): State<App>,
    SignedIn(current): SignedIn,
    multipart: Result<Multipart, MultipartRejection>,
) -> AppResult<(StatusCode, axum::Json<ReviewSubmitted>)> {
    let multipart = multipart_body(multipart)?;
    if current.applicant.realname() == crate::flows::applicant::RealnameStatus::ReviewPending {
        return Err(crate::flows::applicant::review_pending());
    }
    let mut parts = read_multipart(multipart).await?;
    let mut photo = |slot: &'static str| parts.remove(slot).unwrap_or_default();
    let (front, back, handheld) = (photo("front"), photo("back"), photo("handheld"));
    let form = IdentityApplication {
        name: text(&parts, "name"),
        validity: ValidityInput { period: Some(text(&parts, "validity_period")), start: Some(text(&parts, "validity_start")) },
        reason: text(&parts, "reason"),
        front: photos::inspect("front", front)?,
        back: photos::inspect("back", back)?,
        handheld: photos::inspect("handheld", handheld)?,
    };
    let submitted = reviews::submit_identity(&app, &current.applicant, form).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(ReviewSubmitted {
            id: submitted.id,
            status: "pending",
            due_date: submitted.due_date,
            remaining_in_period: submitted.remaining_in_period,
        }),
    ))
}

#[utoipa::path(put, path = "/api/v1/service/enrollments/{entry}/{doc_number}", tag = "service",
    params(("entry" = String, Path), ("doc_number" = String, Path)),
    security(("client_secret" = [])),
    responses((status = 204, description = "The applicant is enrolled in that entry's business"),
              (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn enroll(
    State(app): State<App>,
    Path((entry, doc_number)): Path<(String, String)>,
    headers: HeaderMap,
) -> AppResult<StatusCode> {
    let entry = Entry::parse(&entry).ok_or_else(|| AppError::new(ErrorCode::UnknownEntry, "没有这个业务入口。"))?;
    let secret = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .unwrap_or("");
    enrollment::enroll(&app, entry, secret, &LoginName::read(&doc_number, app.clock.today())).await?;
    Ok(StatusCode::NO_CONTENT)
}
