//! Captcha endpoints (API.md "Captcha").

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use jszg_captcha::{InputKind, TrackPoint};

use crate::app::App;
use crate::error::{ErrorCode, AppError, AppResult};
use crate::flows::captcha::{self, Mode, Purpose};
use crate::flows::loose::loose_string;
use crate::http::{ClientIp, Json};

pub fn router() -> Router<App> {
    Router::new().route("/api/v1/captchas", post(create)).route("/api/v1/captchas/{id}/answer", post(answer))
}

#[derive(Deserialize, ToSchema)]
pub struct CreateCaptcha {
    /// `sms`, `email`, `login` or `recovery`: the token is good only for it.
    #[serde(default, deserialize_with = "loose_string")]
    #[schema(value_type = String, example = "sms")]
    pub purpose: Option<String>,
    /// `slider` (the default) or `accessible` (无障碍验证: no picture, a harder proof of work).
    /// Read as given: anything but one of the two strings, `null` or nothing is refused.
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "slider")]
    pub mode: Option<Value>,
}

/// A challenge. The picture fields are present for `mode: slider` only.
#[derive(Serialize, ToSchema)]
pub struct CaptchaChallenge {
    pub id: String,
    /// `slider` or `accessible`.
    #[schema(example = "slider")]
    pub mode: &'static str,
    /// JPEG data URL of the picture with the hole.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub background: Option<String>,
    /// PNG data URL of the piece, transparent outside its outline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub piece: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub piece_y: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub piece_width: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub piece_height: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    pub expires_in: i64,
    /// Proof of work to send back as `pow_nonce` with the answer.
    pub pow: PowPuzzle,
    /// Development mode only: the x at which the piece fits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dev_solution: Option<u32>,
}

/// SHA-256 of `challenge` followed by the decimal nonce must start with `difficulty` zero bits.
#[derive(Serialize, ToSchema)]
pub struct PowPuzzle {
    #[schema(example = "SHA-256")]
    pub algorithm: &'static str,
    pub challenge: String,
    pub difficulty: u32,
}

#[utoipa::path(post, path = "/api/v1/captchas", tag = "captcha", request_body = CreateCaptcha,
    responses((status = 201, body = CaptchaChallenge), (status = 422, body = crate::error::ErrorBody)))]
pub async fn create(State(app): State<App>, ClientIp(ip): ClientIp, Json(body): Json<CreateCaptcha>) -> AppResult<(StatusCode, axum::Json<CaptchaChallenge>)> {
    let purpose = Purpose::parse(body.purpose.as_deref().unwrap_or("").trim())
        .ok_or_else(|| AppError::invalid(ErrorCode::InvalidRequest, "purpose", "purpose 应为 sms、email、login 或 recovery。"))?;
    let mode = match &body.mode {
        None | Some(Value::Null) => Some(Mode::Slider),
        Some(Value::String(raw)) => Mode::parse(raw.trim()),
        Some(_) => None,
    }
    .ok_or_else(|| AppError::invalid(ErrorCode::InvalidRequest, "mode", "mode 应为 slider 或 accessible。"))?;
    let issued = captcha::issue(&app, purpose, mode, &ip).await?;
    let dev_solution = issued.picture.as_ref().filter(|_| app.dev).map(|c| c.answer_x);
    let mut out = CaptchaChallenge {
        id: issued.id,
        mode: issued.mode.as_str(),
        background: None,
        piece: None,
        piece_y: None,
        piece_width: None,
        piece_height: None,
        width: None,
        height: None,
        expires_in: issued.expires_in,
        pow: PowPuzzle { algorithm: "SHA-256", challenge: issued.pow.challenge, difficulty: issued.pow.difficulty },
        dev_solution,
    };
    if let Some(c) = issued.picture {
        out.background = Some(c.background);
        out.piece = Some(c.piece);
        out.piece_y = Some(c.piece_y);
        out.piece_width = Some(c.piece_width);
        out.piece_height = Some(c.piece_height);
        out.width = Some(c.width);
        out.height = Some(c.height);
    }
    Ok((StatusCode::CREATED, axum::Json(out)))
}

#[derive(Deserialize, ToSchema)]
pub struct CaptchaAnswer {
    /// Left edge of the piece where the applicant let go, in picture pixels (slider only).
    pub x: Option<i64>,
    /// The drag: `t` milliseconds since it began, `x`/`y` offsets in pixels (slider only).
    #[schema(value_type = Option<Vec<Object>>)]
    pub track: Option<Vec<Value>>,
    /// `pointer` (mouse, touch) or `keyboard` (arrow keys).
    #[schema(example = "pointer")]
    pub input: Option<String>,
    /// Decimal nonce solving the challenge's `pow`.
    pub pow_nonce: Option<String>,
}

/// An answer as read: what is missing or mistyped reads as a value that fails.
pub struct AnswerBody {
    pub x: i64,
    pub track: Vec<TrackPoint>,
    pub input: InputKind,
    pub pow_nonce: Option<String>,
}

impl AnswerBody {
    pub fn read(body: &Value) -> AnswerBody {
        AnswerBody {
            x: body.get("x").and_then(Value::as_i64).unwrap_or(i64::MIN),
            track: body.get("track").cloned().and_then(|t| serde_json::from_value(t).ok()).unwrap_or_default(),
            input: match body.get("input").and_then(Value::as_str) {
                Some("keyboard") => InputKind::Keyboard,
                _ => InputKind::Pointer,
            },
            pow_nonce: body.get("pow_nonce").and_then(Value::as_str).map(str::to_owned),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct CaptchaPassed {
    pub captcha_token: String,
}

#[utoipa::path(post, path = "/api/v1/captchas/{id}/answer", tag = "captcha", request_body = CaptchaAnswer,
    params(("id" = String, Path)),
    responses((status = 200, body = CaptchaPassed), (status = 422, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody), (status = 410, body = crate::error::ErrorBody),
              (status = 429, body = crate::error::ErrorBody)))]
pub async fn answer(
    State(app): State<App>,
    Path(id): Path<String>,
    ClientIp(ip): ClientIp,
    body: Result<Json<Value>, AppError>,
) -> AppResult<axum::Json<CaptchaPassed>> {
    // Read the body leniently: a malformed answer still spends the
    // challenge and is judged a failure, like a wrong one.
    let body = AnswerBody::read(&body.map(|Json(v)| v).unwrap_or(Value::Null));
    let answer = captcha::Answer { x: body.x, track: &body.track, input: body.input, pow_nonce: body.pow_nonce.as_deref() };
    let token = captcha::answer(&app, &id, answer, &ip).await?;
    Ok(axum::Json(CaptchaPassed { captcha_token: token }))
}
