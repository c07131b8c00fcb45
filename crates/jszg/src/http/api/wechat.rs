//! The personal centre's WeChat binding (WX-3) and the reset behind the chat's link (REC-2c);
//! API.md "WeChat service account".

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, post};
use axum::Router;
use serde::Serialize;
use utoipa::ToSchema;

use jszg_domain::PasswordChoice;

use crate::app::App;
use crate::error::AppResult;
use crate::flows::{recovery, wechat};
use crate::http::api::recovery::PasswordReset;
use crate::http::session::SignedIn;
use crate::http::Json;

pub fn router() -> Router<App> {
    Router::new()
        .route("/api/v1/me/wechat/qrcodes", post(create_qr))
        .route("/api/v1/me/wechat", delete(unbind))
        .route("/api/v1/wechat/password-resets", post(reset))
}

#[derive(Serialize, ToSchema)]
pub struct WechatQr {
    pub id: String,
    /// The QR code's picture; scanning it with WeChat binds that WeChat to the account.
    pub qr_url: String,
    /// Seconds the QR code can be scanned.
    pub expires_in: u64,
}

#[utoipa::path(post, path = "/api/v1/me/wechat/qrcodes", tag = "wechat",
    responses((status = 201, body = WechatQr), (status = 401, body = crate::error::ErrorBody),
              (status = 404, description = "wechat_not_configured: this deployment has no service account", body = crate::error::ErrorBody),
              (status = 503, description = "wechat_unavailable: the platform refused or did not answer", body = crate::error::ErrorBody)))]
pub async fn create_qr(State(app): State<App>, SignedIn(current): SignedIn) -> AppResult<(StatusCode, axum::Json<WechatQr>)> {
    let qr = wechat::binding_qr(&app, current.applicant.id()).await?;
    Ok((StatusCode::CREATED, axum::Json(WechatQr { id: qr.id, qr_url: qr.qr_url, expires_in: qr.expires_in })))
}

#[utoipa::path(delete, path = "/api/v1/me/wechat", tag = "wechat",
    responses((status = 204, description = "The WeChat binding is removed (or there was none)"), (status = 401, body = crate::error::ErrorBody)))]
pub async fn unbind(State(app): State<App>, SignedIn(current): SignedIn) -> AppResult<StatusCode> {
    wechat::unbind(&app, current.applicant.id()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/wechat/password-resets", tag = "wechat", request_body = PasswordReset,
    responses((status = 204, description = "Reset; every session of the account ended; 重置成功 goes to the chat"),
              (status = 410, description = "token_invalid (unknown, used, expired, or the WeChat is no longer bound)", body = crate::error::ErrorBody),
              (status = 422, description = "weak_password, password_mismatch, password_unchanged", body = crate::error::ErrorBody)))]
pub async fn reset(State(app): State<App>, Json(body): Json<PasswordReset>) -> AppResult<StatusCode> {
    let t = |v: &Option<String>| v.clone().unwrap_or_default();
    let new = PasswordChoice::new(t(&body.new_password), t(&body.new_password_confirm));
    recovery::reset_with_link(&app, recovery::ResetLink::Wechat, t(&body.token).trim(), &new).await?;
    Ok(StatusCode::NO_CONTENT)
}
