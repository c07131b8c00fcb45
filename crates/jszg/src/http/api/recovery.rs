//! 忘记密码 and contact change requests (API.md "Password recovery and contact change").

use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use jszg_domain::PasswordChoice;

use crate::adapters::photos;
use crate::app::App;
use crate::error::AppResult;
use crate::flows::captcha::{self, Purpose};
use crate::flows::loose::loose_string;
use crate::flows::{codes, recovery};
use crate::flows::contact_change;
use crate::http::api::realname::{multipart_body, read_multipart};
use crate::http::session::SignedIn;
use crate::http::{ClientIp, Json};

pub fn router() -> Router<App> {
    Router::new()
        .route("/api/v1/recoveries", post(start))
        .route("/api/v1/recoveries/{id}/email", post(email))
        .route("/api/v1/recoveries/{id}/sms-code", post(sms_code))
        .route("/api/v1/recoveries/{id}/sms", post(sms_reset))
        .route("/api/v1/recoveries/{id}/wechat", post(wechat_qr))
        .route("/api/v1/recoveries/{id}/contact-changes", post(contact_change_request).layer(crate::http::upload_limit()))
        .route("/api/v1/password-resets", post(reset))
        .route("/api/v1/me/contact-changes", get(my_contact_changes))
        .route("/api/v1/me/contact-changes/{id}/withdrawal", post(withdraw_contact_change))
        .route("/api/v1/contact-changes/cancellations", post(cancel_contact_change))
}

/// A contact change waiting for staff, as its account holder sees it.
#[derive(Serialize, ToSchema)]
pub struct PendingChange {
    pub id: String,
    /// `phone` or `email`.
    pub kind: String,
    pub submitted_at: String,
    pub new_value_masked: String,
}

#[derive(Serialize, ToSchema)]
pub struct MyContactChanges {
    pub pending: Option<PendingChange>,
}

#[utoipa::path(get, path = "/api/v1/me/contact-changes", tag = "recovery",
    responses((status = 200, body = MyContactChanges), (status = 401, body = crate::error::ErrorBody)))]
pub async fn my_contact_changes(State(app): State<App>, SignedIn(current): SignedIn) -> AppResult<axum::Json<MyContactChanges>> {
    let pending = contact_change::pending_of(&app, current.applicant.id()).await?.map(|p| PendingChange {
        id: p.id,
        kind: match p.kind {
            contact_change::ContactKind::Phone => "phone".into(),
            contact_change::ContactKind::Email => "email".into(),
        },
        submitted_at: crate::clock::rfc3339(p.submitted_at),
        new_value_masked: p.new_value_masked,
    });
    Ok(axum::Json(MyContactChanges { pending }))
}

#[utoipa::path(post, path = "/api/v1/me/contact-changes/{id}/withdrawal", tag = "recovery", params(("id" = String, Path)),
    responses((status = 204, description = "Withdrawn: staff see the holder withdrew it"),
              (status = 404, body = crate::error::ErrorBody), (status = 410, description = "token_invalid: no longer pending", body = crate::error::ErrorBody)))]
pub async fn withdraw_contact_change(State(app): State<App>, SignedIn(current): SignedIn, Path(id): Path<String>) -> AppResult<StatusCode> {
    contact_change::withdraw_signed_in(&app, &current.applicant, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, Serialize, ToSchema, Default)]
#[serde(default)]
pub struct CancelForm {
    /// From the link sent to the account's current phone or email.
    #[serde(deserialize_with = "loose_string")]
    pub token: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/contact-changes/cancellations", tag = "recovery", request_body = CancelForm,
    responses((status = 204, description = "Withdrawn"), (status = 410, description = "token_invalid: unknown, expired, or no longer pending", body = crate::error::ErrorBody)))]
pub async fn cancel_contact_change(State(app): State<App>, Json(form): Json<CancelForm>) -> AppResult<StatusCode> {
    contact_change::withdraw_by_link(&app, form.token.as_deref().unwrap_or("").trim()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, Serialize, ToSchema, Default)]
#[serde(default)]
pub struct RecoveryStart {
    #[serde(deserialize_with = "loose_string")]
    pub doc_type: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub doc_number: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub name: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub captcha_token: Option<String>,
}

/// A way to reset the password, with its masked target.
#[derive(Serialize, ToSchema)]
pub struct Method {
    /// `email`, `sms` or `wechat`.
    pub method: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct RecoveryStarted {
    pub id: String,
    pub methods: Vec<Method>,
    /// A 修改联系方式申请 of this account is already waiting for review.
    pub contact_change_pending: bool,
}

#[utoipa::path(post, path = "/api/v1/recoveries", tag = "recovery", request_body = RecoveryStart,
    responses((status = 201, body = RecoveryStarted),
              (status = 422, description = "identity_mismatch (neutral), captcha_required, captcha_failed", body = crate::error::ErrorBody),
              (status = 409, description = "legacy_account", body = crate::error::ErrorBody),
              (status = 429, description = "too_many_attempts (with retry_after): too many mismatches from the address or for the number", body = crate::error::ErrorBody)))]
pub async fn start(State(app): State<App>, ClientIp(ip): ClientIp, Json(body): Json<RecoveryStart>) -> AppResult<(StatusCode, axum::Json<RecoveryStarted>)> {
    captcha::spend(&app, body.captcha_token.as_deref(), Purpose::Recovery).await?;
    let t = |v: &Option<String>| v.clone().unwrap_or_default();
    let claim = recovery::Claim::read(&t(&body.doc_type), &t(&body.doc_number), &t(&body.name), app.clock.today());
    let started = recovery::start(&app, claim, &ip).await?;
    Ok((StatusCode::CREATED, axum::Json(RecoveryStarted {
        id: started.id,
        methods: started.methods.into_iter().map(|m| Method { method: m.method, target: m.target }).collect(),
        contact_change_pending: started.contact_change_pending })))
}

#[utoipa::path(post, path = "/api/v1/recoveries/{id}/email", tag = "recovery", params(("id" = String, Path)),
    responses((status = 202, description = "A mail with a 24-hour reset link is on its way"), (status = 410, description = "recovery_expired", body = crate::error::ErrorBody)))]
pub async fn email(State(app): State<App>, Path(id): Path<String>) -> AppResult<StatusCode> {
    recovery::send_email(&app, &id).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Serialize, ToSchema)]
pub struct SmsSent {
    pub expires_in: i64,
    pub remaining_today: i64,
}

#[utoipa::path(post, path = "/api/v1/recoveries/{id}/sms-code", tag = "recovery", params(("id" = String, Path)),
    responses((status = 202, body = SmsSent), (status = 429, description = "daily_limit; rate_limited (retry_after)", body = crate::error::ErrorBody),
              (status = 503, description = "sms_unavailable: the global SMS budget is spent", body = crate::error::ErrorBody)))]
pub async fn sms_code(State(app): State<App>, ClientIp(source): ClientIp, Path(id): Path<String>) -> AppResult<(StatusCode, axum::Json<SmsSent>)> {
    let sent = recovery::send_sms(&app, &id, &source).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(SmsSent { expires_in: sent.expires_in, remaining_today: sent.remaining_today })))
}

#[derive(Deserialize, Serialize, ToSchema, Default)]
#[serde(default)]
pub struct SmsReset {
    #[serde(deserialize_with = "loose_string")]
    pub code: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub new_password: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub new_password_confirm: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/recoveries/{id}/sms", tag = "recovery", params(("id" = String, Path)), request_body = SmsReset,
    responses((status = 204), (status = 422, description = "invalid_verification_code, weak_password, password_mismatch", body = crate::error::ErrorBody)))]
pub async fn sms_reset(State(app): State<App>, Path(id): Path<String>, Json(body): Json<SmsReset>) -> AppResult<StatusCode> {
    let t = |v: &Option<String>| v.clone().unwrap_or_default();
    let code = codes::read_code(&t(&body.code), "code")?;
    recovery::reset_with_sms(&app, &id, &code, &PasswordChoice::new(t(&body.new_password), t(&body.new_password_confirm))).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, Serialize, ToSchema, Default)]
#[serde(default)]
pub struct PasswordReset {
    #[serde(deserialize_with = "loose_string")]
    pub token: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub new_password: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub new_password_confirm: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/password-resets", tag = "recovery", request_body = PasswordReset,
    responses((status = 204, description = "Reset; every session of the account ended"),
              (status = 410, description = "token_invalid (unknown, used or expired)", body = crate::error::ErrorBody),
              (status = 422, description = "weak_password, password_mismatch", body = crate::error::ErrorBody)))]
pub async fn reset(State(app): State<App>, Json(body): Json<PasswordReset>) -> AppResult<StatusCode> {
    let t = |v: &Option<String>| v.clone().unwrap_or_default();
    let new = PasswordChoice::new(t(&body.new_password), t(&body.new_password_confirm));
    recovery::reset_with_link(&app, recovery::ResetLink::Email, t(&body.token).trim(), &new).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct ChangeRequested {
    pub id: String,
    #[schema(example = "pending")]
    pub status: &'static str,
    pub due_date: String,
}

/// The multipart body of a contact change request.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ContactChangeForm {
    /// `email` or `phone`.
    kind: String,
    new_value: String,
    verification_code: String,
    reason: String,
    #[schema(value_type = String, format = Binary)]
    handheld: Vec<u8>,
}

#[utoipa::path(post, path = "/api/v1/recoveries/{id}/contact-changes", tag = "recovery", params(("id" = String, Path)),
    request_body(content = ContactChangeForm, content_type = "multipart/form-data"),
    responses((status = 201, body = ChangeRequested),
              (status = 409, description = "enrolled_must_login, change_pending", body = crate::error::ErrorBody),
              (status = 422, description = "invalid_photo, invalid_verification_code, invalid_phone, invalid_email, invalid_reason", body = crate::error::ErrorBody)))]
pub async fn contact_change_request(
    State(app): State<App>,
    Path(id): Path<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> AppResult<(StatusCode, axum::Json<ChangeRequested>)> {
    let multipart = multipart_body(multipart)?;
    // Refusals that need no upload come first (recovery, enrollment, pending).
    contact_change::precheck(&app, &id).await?;
    let mut parts = read_multipart(multipart).await?;
    let text = |name: &str| parts.get(name).map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default();
    let (kind, value, code, reason) = (text("kind"), text("new_value"), text("verification_code"), text("reason"));
    let handheld = photos::inspect("handheld", parts.remove("handheld").unwrap_or_default())?;
    let form = contact_change::ChangeRequest::parse(&kind, &value, &code, &reason)?;
    let requested = contact_change::request(&app, &id, &form, handheld).await?;
    Ok((StatusCode::CREATED, axum::Json(ChangeRequested { id: requested.id, status: "pending", due_date: requested.due_date })))
}

#[derive(Serialize, ToSchema)]
pub struct WechatResetQr {
    /// The QR code's picture, to be scanned with the account's bound WeChat.
    pub qr_url: String,
    pub expires_in: u64,
}

#[utoipa::path(post, path = "/api/v1/recoveries/{id}/wechat", tag = "recovery", params(("id" = String, Path)),
    responses((status = 201, body = WechatResetQr),
              (status = 409, description = "wechat_not_bound", body = crate::error::ErrorBody),
              (status = 410, description = "recovery_expired", body = crate::error::ErrorBody),
              (status = 404, description = "wechat_not_configured", body = crate::error::ErrorBody),
              (status = 503, description = "wechat_unavailable (the platform refused)", body = crate::error::ErrorBody)))]
pub async fn wechat_qr(State(app): State<App>, Path(id): Path<String>) -> AppResult<(StatusCode, axum::Json<WechatResetQr>)> {
    let qr = recovery::wechat_qr(&app, &id).await?;
    Ok((StatusCode::CREATED, axum::Json(WechatResetQr { qr_url: qr.qr_url, expires_in: qr.expires_in })))
}
