//! The slider puzzle (CAP-1..3): challenges are drawn by `jszg-captcha`,
//! their answers kept only in the database, and a pass yields a single-use
//! token bound to the purpose it was requested for.

use jszg_captcha::{Challenge, InputKind, TrackPoint};

use crate::app::App;
use crate::crypto::random_token;
use crate::error::{AppError, AppResult};
use crate::store::{captchas, throttles};

pub const CHALLENGE_TTL: i64 = 120;
pub const TOKEN_TTL: i64 = 120;
const FAILURE_SCOPE: &str = "captcha_failures";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    Sms,
    Email,
    Login,
    Recovery,
}

impl Purpose {
    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "sms" => Self::Sms,
            "email" => Self::Email,
            "login" => Self::Login,
            "recovery" => Self::Recovery,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sms => "sms",
            Self::Email => "email",
            Self::Login => "login",
            Self::Recovery => "recovery",
        }
    }
}

pub struct Issued {
    pub id: String,
    pub challenge: Challenge,
    pub expires_in: i64,
}

pub async fn issue(app: &App, purpose: Purpose) -> AppResult<Issued> {
    // Drawing costs a few milliseconds of CPU: keep it off the async workers.
    let challenge = tokio::task::spawn_blocking(|| jszg_captcha::generate(&mut rand::thread_rng())).await?;
    let id = random_token(16);
    let now = app.clock.unix();
    captchas::insert_challenge(&app.db, &id, purpose.as_str(), i64::from(challenge.answer_x), now + CHALLENGE_TTL).await?;
    Ok(Issued { id, challenge, expires_in: CHALLENGE_TTL })
}

/// Judge an answer. The challenge is spent whatever the verdict.
pub async fn answer(app: &App, id: &str, x: i64, track: &[TrackPoint], input: InputKind, source: &str) -> AppResult<String> {
    let now = app.clock.unix();
    let source_hash = app.vault.mac(&[FAILURE_SCOPE.as_bytes(), source.as_bytes()]);
    let limits = &app.config.captcha;
    let (failures, window_end) = throttles::peek(&app.db, FAILURE_SCOPE, &source_hash, now, limits.failure_window_secs).await?;
    if failures >= limits.failure_limit {
        return Err(throttled(window_end - now));
    }
    let Some(challenge) = captchas::take_challenge(&app.db, id).await? else {
        return Err(AppError::not_found("captcha_expired", "验证码已失效，请刷新后重新拖动滑块。"));
    };
    if challenge.expires_at <= now {
        return Err(AppError::gone("captcha_expired", "验证码已过期，请刷新后重新拖动滑块。"));
    }
    let answer_x = u32::try_from(challenge.answer_x).unwrap_or(u32::MAX);
    if let Err(rejection) = jszg_captcha::judge(answer_x, x, track, input) {
        tracing::info!(?rejection, "captcha answer rejected");
        let (failures, window_end) = throttles::hit(&app.db, FAILURE_SCOPE, &source_hash, now, limits.failure_window_secs).await?;
        if failures > limits.failure_limit {
            return Err(throttled(window_end - now));
        }
        return Err(AppError::invalid("captcha_failed", "captcha", "拼图未对准，请重新拖动滑块完成验证。"));
    }
    let token = random_token(32);
    let hash = token_hash(app, &token);
    captchas::insert_token(&app.db, &hash, &challenge.purpose, now + TOKEN_TTL).await?;
    Ok(token)
}

/// Spend a captcha token for `purpose` (CAP-3): missing → `captcha_required`,
/// wrong, used, expired or for another purpose → `captcha_failed`.
pub async fn spend(app: &App, token: Option<&str>, purpose: Purpose) -> AppResult<()> {
    let token = token.map(str::trim).filter(|t| !t.is_empty());
    let Some(token) = token else {
        return Err(AppError::invalid("captcha_required", "captcha_token", "请先向右拖动滑块完成图形验证。"));
    };
    if token.len() > 128 || !captchas::take_token(&app.db, &token_hash(app, token), purpose.as_str(), app.clock.unix()).await? {
        return Err(AppError::invalid("captcha_failed", "captcha_token", "图形验证已失效，请重新拖动滑块完成验证。"));
    }
    Ok(())
}

fn throttled(retry_after: i64) -> AppError {
    let minutes = (retry_after + 59) / 60;
    AppError::too_many("captcha_throttled", format!("图形验证失败次数过多，请{}分钟后再试。", minutes.max(1)), Some(retry_after))
}

fn token_hash(app: &App, token: &str) -> Vec<u8> {
    app.vault.mac(&[b"captcha_token", token.as_bytes()])
}
