//! Verification codes (API.md "Verification codes").

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use jszg_domain::{Email, Phone};

use crate::app::App;
use crate::error::{ErrorCode, AppError, AppResult};
use crate::flows::captcha::{self, Purpose};
use crate::flows::codes::{self, CodePurpose, Target};
use crate::flows::loose::loose_string;
use crate::http::{ClientIp, Json};

pub fn router() -> Router<App> {
    Router::new().route("/api/v1/verification-codes", post(create))
}

#[derive(Deserialize, Serialize, ToSchema, Default)]
#[serde(default)]
pub struct CodeRequest {
    /// `sms` or `email`.
    #[serde(deserialize_with = "loose_string")]
    #[schema(value_type = String, example = "sms")]
    pub channel: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub phone: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub email: Option<String>,
    /// sms: `register`, `change_phone`, `contact_change`; email: `change_email`, `contact_change`.
    #[serde(deserialize_with = "loose_string")]
    #[schema(value_type = String, example = "register")]
    pub purpose: Option<String>,
    /// From a passed captcha requested with purpose `sms` or `email`.
    #[serde(deserialize_with = "loose_string")]
    #[schema(value_type = String)]
    pub captcha_token: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CodeSent {
    pub expires_in: i64,
    pub remaining_today: i64,
}

fn bad_purpose() -> AppError {
    AppError::invalid(ErrorCode::InvalidRequest, "purpose", "验证码用途不正确。")
}

#[utoipa::path(post, path = "/api/v1/verification-codes", tag = "codes", request_body = CodeRequest,
    responses((status = 202, body = CodeSent), (status = 422, body = crate::error::ErrorBody),
              (status = 429, description = "daily_limit (this phone or email today); rate_limited (this address or network, with retry_after)", body = crate::error::ErrorBody),
              (status = 503, description = "sms_unavailable / email_unavailable: the global budget is spent (retry_after)", body = crate::error::ErrorBody)))]
pub async fn create(State(app): State<App>, ClientIp(source): ClientIp, Json(body): Json<CodeRequest>) -> AppResult<(StatusCode, axum::Json<CodeSent>)> {
    let purpose = body.purpose.as_deref().unwrap_or("").trim();
    let sent = match body.channel.as_deref().map(str::trim) {
        Some("sms") => {
            let phone = Phone::parse(body.phone.as_deref().unwrap_or(""))
                .map_err(|e| AppError::invalid(ErrorCode::InvalidPhone, "phone", e.to_string()))?;
            let purpose = CodePurpose::parse_sms(purpose).ok_or_else(bad_purpose)?;
            captcha::spend(&app, body.captcha_token.as_deref(), Purpose::Sms).await?;
            codes::send(&app, Target::Sms(&phone), purpose, &source).await?
        }
        Some("email") => {
            let email = Email::parse(body.email.as_deref().unwrap_or(""))
                .map_err(|e| AppError::invalid(ErrorCode::InvalidEmail, "email", e.to_string()))?;
            let purpose = CodePurpose::parse_email(purpose).ok_or_else(bad_purpose)?;
            captcha::spend(&app, body.captcha_token.as_deref(), Purpose::Email).await?;
            codes::send(&app, Target::Email(&email), purpose, &source).await?
        }
        _ => return Err(AppError::invalid(ErrorCode::InvalidRequest, "channel", "请选择验证码发送方式：短信（sms）或邮箱（email）。")),
    };
    Ok((StatusCode::ACCEPTED, axum::Json(CodeSent { expires_in: sent.expires_in, remaining_today: sent.remaining_today })))
}
