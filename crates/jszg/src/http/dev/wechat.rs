//! Development only (WX-4): the phone of the `/dev/wechat` simulator, as JSON for its page and for
//! tests. Each action goes to `/wechat/callback` as the platform would send it (signed and sealed).

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::Router;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::adapters::wechat::simulator::{Action, PhoneError, PhoneView, Simulator};
use crate::app::App;
use crate::error::{ErrorCode, AppError, AppResult};
use crate::http::Json;

pub fn router() -> Router<App> {
    Router::new()
        .route("/api/v1/dev/wechat/phones/{openid}", get(phone))
        .route("/api/v1/dev/wechat/phones/{openid}/actions", post(act))
}

/// Longest text the phone sends (the platform takes 2,048 bytes).
const MAX_TEXT_CHARS: usize = 600;

#[derive(Serialize, ToSchema)]
pub struct ChatLine {
    /// `me` (the applicant), `account` (the service account) or `system` (WeChat itself).
    #[schema(example = "account")]
    pub from: &'static str,
    pub text: String,
    /// Unix seconds.
    pub at: i64,
}

#[derive(Serialize, ToSchema)]
pub struct ShownQrCode {
    pub ticket: String,
    pub expires_in: i64,
}

#[derive(Serialize, ToSchema)]
pub struct PhoneState {
    pub openid: String,
    pub following: bool,
    pub messages: Vec<ChatLine>,
    /// QR codes currently shown on some page, newest first: what 扫一扫 can scan.
    pub qr_codes: Vec<ShownQrCode>,
}

#[derive(Deserialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub enum PhoneActionKind {
    Follow,
    Unfollow,
    Menu,
    Text,
    Scan,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhoneAction {
    pub action: PhoneActionKind,
    /// For `text`: what the applicant types.
    pub text: Option<String>,
    /// For `menu`: the item's key; `GET_CODE` (取验证码) when absent.
    pub key: Option<String>,
    /// For `scan`: the ticket of a QR code in `qr_codes`.
    pub ticket: Option<String>,
}

fn simulator(app: &App) -> AppResult<&Simulator> {
    app.wechat_simulator()
        .map(std::convert::AsRef::as_ref)
        .ok_or_else(|| AppError::new(ErrorCode::WechatNotConfigured, "微信模拟器未启用：本服务配置了真实的微信服务号（[wechat]），或关闭了模拟器。"))
}

/// An openid as the platform makes them: letters, digits, `-` and `_`.
fn openid_of(raw: &str) -> AppResult<String> {
    let ok = (1..=64).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    ok.then(|| raw.to_owned()).ok_or_else(|| AppError::invalid(ErrorCode::InvalidOpenid, "openid", "openid 须为1至64位字母、数字、“-”或“_”。"))
}

fn state_of(openid: String, view: PhoneView) -> PhoneState {
    PhoneState {
        openid,
        following: view.following,
        messages: view.lines.into_iter().map(|l| ChatLine { from: l.side.as_str(), text: l.text, at: l.at }).collect(),
        qr_codes: view.qr_codes.into_iter().map(|q| ShownQrCode { expires_in: q.expires_in(), ticket: q.ticket }).collect(),
    }
}

#[utoipa::path(get, path = "/api/v1/dev/wechat/phones/{openid}", tag = "dev",
    params(("openid" = String, Path, description = "the simulated WeChat user")),
    responses((status = 200, body = PhoneState),
              (status = 404, description = "wechat_not_configured: a real service account is configured", body = crate::error::ErrorBody),
              (status = 422, description = "invalid_openid", body = crate::error::ErrorBody)))]
pub async fn phone(State(app): State<App>, Path(openid): Path<String>) -> AppResult<axum::Json<PhoneState>> {
    let sim = simulator(&app)?;
    let openid = openid_of(&openid)?;
    let view = sim.view(&openid);
    Ok(axum::Json(state_of(openid, view)))
}

#[utoipa::path(post, path = "/api/v1/dev/wechat/phones/{openid}/actions", tag = "dev", request_body = PhoneAction,
    params(("openid" = String, Path, description = "the simulated WeChat user")),
    responses((status = 200, description = "done; the reply, if any, is the last message", body = PhoneState),
              (status = 404, description = "wechat_not_configured, or qr_unknown: no such QR code", body = crate::error::ErrorBody),
              (status = 409, description = "not_following: the menu and messages need a follow first", body = crate::error::ErrorBody),
              (status = 422, description = "invalid_openid, invalid_request, invalid_text, invalid_key", body = crate::error::ErrorBody),
              (status = 503, description = "wechat_unavailable: the server is not listening yet", body = crate::error::ErrorBody)))]
pub async fn act(State(app): State<App>, Path(openid): Path<String>, Json(body): Json<PhoneAction>) -> AppResult<axum::Json<PhoneState>> {
    let sim = simulator(&app)?;
    let openid = openid_of(&openid)?;
    let action = match body.action {
        PhoneActionKind::Follow => Action::Follow,
        PhoneActionKind::Unfollow => Action::Unfollow,
        PhoneActionKind::Menu => {
            let key = body.key.unwrap_or_else(|| crate::flows::wechat::GET_CODE_KEY.to_owned());
            if key.is_empty() || key.len() > 128 {
                return Err(AppError::invalid(ErrorCode::InvalidKey, "key", "菜单键须为1至128个字符。"));
            }
            Action::Menu(key)
        }
        PhoneActionKind::Text => {
            let text = body.text.unwrap_or_default();
            if text.trim().is_empty() || text.chars().count() > MAX_TEXT_CHARS {
                return Err(AppError::invalid(ErrorCode::InvalidText, "text", format!("请输入1至{MAX_TEXT_CHARS}个字的消息。")));
            }
            Action::Text(text)
        }
        PhoneActionKind::Scan => Action::Scan(body.ticket.unwrap_or_default()),
    };
    let view = sim.act(&openid, action).await.map_err(|err| match err {
        PhoneError::NotFollowing => AppError::new(ErrorCode::NotFollowing, "请先关注“中国教师资格服务号”。"),
        PhoneError::UnknownQr => AppError::new(ErrorCode::QrUnknown, "没有这个二维码，请在网页上重新获取二维码。"),
        PhoneError::NotListening => AppError::new(ErrorCode::WechatUnavailable, "服务尚未开始监听，请稍后重试。"),
    })?;
    Ok(axum::Json(state_of(openid, view)))
}
