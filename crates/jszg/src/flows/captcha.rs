//! The slider puzzle (CAP-1..3): challenges are drawn by `jszg-captcha`,
//! their answers kept only in the database, and a pass yields a single-use
//! token bound to the purpose it was requested for. 无障碍验证 (A11Y-2) is the
//! same challenge without the picture: a harder proof of work alone.

use jszg_captcha::{pow, Challenge, InputKind, TrackPoint};

use crate::app::App;
use crate::crypto::random_token;
use crate::error::{ErrorCode, AppError, AppResult};
use crate::flows::quotas::Source;
use crate::store::{captchas, throttles};

pub const CHALLENGE_TTL: i64 = 120;
/// An accessible challenge's work may take a slow phone half a minute at a busy network's price,
/// and a screen-reader user is not hurried: it lives longer than the slider's.
pub const ACCESSIBLE_TTL: i64 = 300;
pub const TOKEN_TTL: i64 = 120;
const FAILURE_SCOPE: &str = "captcha_failures";
/// Challenges handed out, which set the proof-of-work difficulty (ABUSE-2): per address and per
/// /24 or /64.
const POW_SCOPE: &str = "captcha_volume";
const POW_ADDRESS_SCOPE: &str = "captcha_volume_address";
const POW_NETWORK_SCOPE: &str = "captcha_volume_network";

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

/// How the applicant proves to be a person.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Drag the piece into the picture's hole, with a proof of work alongside.
    Slider,
    /// 无障碍验证: no picture, a proof of work `[captcha] accessible_extra_bits` harder than the
    /// slider's would be for the same source, so it is no cheaper road for a script.
    Accessible,
}

impl Mode {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "" | "slider" => Some(Self::Slider),
            "accessible" => Some(Self::Accessible),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Slider => "slider",
            Self::Accessible => "accessible",
        }
    }
}

pub struct Issued {
    pub id: String,
    /// The picture and piece; `None` for an accessible challenge.
    pub picture: Option<Challenge>,
    pub mode: Mode,
    pub expires_in: i64,
    pub pow: Pow,
}

/// The proof of work asked with a challenge (API.md): the puzzle string is the challenge id,
/// random and single-use, so no work can be done ahead.
pub struct Pow {
    pub challenge: String,
    pub difficulty: u32,
}

pub async fn issue(app: &App, purpose: Purpose, mode: Mode, source: &Source) -> AppResult<Issued> {
    let now = app.clock.unix();
    // Both modes count against the same volume, so switching does not reset the price.
    let difficulty = pow_difficulty(app, source, now).await?;
    let (picture, difficulty, ttl) = match mode {
        Mode::Slider => {
            // Drawing costs a few milliseconds of CPU: keep it off the async workers.
            let drawn = tokio::task::spawn_blocking(|| jszg_captcha::generate(&mut rand::thread_rng())).await?;
            (Some(drawn), difficulty, CHALLENGE_TTL)
        }
        Mode::Accessible => (None, accessible_difficulty(app, difficulty), ACCESSIBLE_TTL),
    };
    let id = random_token(16);
    let answer_x = picture.as_ref().map_or(0, |c| i64::from(c.answer_x));
    let stored = captchas::NewChallenge {
        id: &id,
        purpose: purpose.as_str(),
        mode: mode.as_str(),
        answer_x,
        pow_difficulty: i64::from(difficulty),
        expires_at: now + ttl,
    };
    captchas::insert_challenge(&app.db, &stored).await?;
    Ok(Issued { pow: Pow { challenge: id.clone(), difficulty }, id, picture, mode, expires_in: ttl })
}

/// The slider's price for this source plus the accessible surcharge, within what a verifier
/// accepts.
pub fn accessible_difficulty(app: &App, slider: u32) -> u32 {
    slider.saturating_add(app.config.captcha.accessible_extra_bits).min(pow::MAX_DIFFICULTY)
}

/// The curve of the settings (`[captcha] pow_*`).
pub fn pow_curve(app: &App) -> pow::Curve {
    let c = &app.config.captcha;
    pow::Curve {
        base: c.pow_base_difficulty,
        max: c.pow_max_difficulty,
        free_per_address: c.pow_free_per_address,
        free_per_network: c.pow_free_per_network,
        bits_per_doubling: c.pow_bits_per_doubling,
    }
}

/// Count this challenge against its address and network, and price it by their volume in the
/// window, answered or not: counting at issue rather than at answer means a script cannot fetch
/// a thousand challenges at the base price first and solve them afterwards.
async fn pow_difficulty(app: &App, source: &Source, now: i64) -> AppResult<u32> {
    let window = app.config.captcha.pow_window_secs;
    let (by_address, _) = throttles::hit(&app.db, POW_ADDRESS_SCOPE, &source.address_key(app, POW_SCOPE), now, window).await?;
    let (by_network, _) = throttles::hit(&app.db, POW_NETWORK_SCOPE, &source.network_key(app, POW_SCOPE), now, window).await?;
    Ok(pow_curve(app).difficulty(by_address, by_network))
}

/// Count a failed answer against the source for the 429 throttle.
async fn record_failure(app: &App, source_hash: &[u8], now: i64) -> AppResult<AppError> {
    let limits = &app.config.captcha;
    let (failures, window_end) = throttles::hit(&app.db, FAILURE_SCOPE, source_hash, now, limits.failure_window_secs).await?;
    if failures > limits.failure_limit {
        return Ok(throttled(window_end - now));
    }
    Ok(AppError::invalid(ErrorCode::CaptchaFailed, "captcha", "拼图未对准，请重新拖动滑块完成验证。"))
}

/// What the browser sent back for a challenge.
pub struct Answer<'a> {
    pub x: i64,
    pub track: &'a [TrackPoint],
    pub input: InputKind,
    pub pow_nonce: Option<&'a str>,
}

/// Judge an answer: the proof of work first (one hash), then the slide. The challenge is spent
/// whatever the verdict.
pub async fn answer(app: &App, id: &str, given: Answer<'_>, source: &Source) -> AppResult<String> {
    let now = app.clock.unix();
    let source_hash = source.address_key(app, FAILURE_SCOPE);
    let limits = &app.config.captcha;
    let (failures, window_end) = throttles::peek(&app.db, FAILURE_SCOPE, &source_hash, now, limits.failure_window_secs).await?;
    if failures >= limits.failure_limit {
        return Err(throttled(window_end - now));
    }
    let Some(challenge) = captchas::take_challenge(&app.db, id).await? else {
        return Err(AppError::new(ErrorCode::CaptchaExpired, "验证码已失效，请刷新后重新拖动滑块。"));
    };
    if challenge.expires_at <= now {
        return Err(AppError::new(ErrorCode::CaptchaExpired, "验证码已过期，请刷新后重新拖动滑块。").run_out());
    }
    let difficulty = u32::try_from(challenge.pow_difficulty).unwrap_or(pow::MAX_DIFFICULTY);
    if !given.pow_nonce.is_some_and(|nonce| pow::verify(id, nonce, difficulty)) {
        tracing::info!(difficulty, "captcha proof of work missing or wrong");
        return Err(record_failure(app, &source_hash, now).await?);
    }
    // An accessible challenge has no picture: its proof of work is the whole test.
    let answer_x = u32::try_from(challenge.answer_x).unwrap_or(u32::MAX);
    if challenge.mode != Mode::Accessible.as_str() {
        if let Err(rejection) = jszg_captcha::judge(answer_x, given.x, given.track, given.input) {
            tracing::info!(?rejection, "captcha answer rejected");
            return Err(record_failure(app, &source_hash, now).await?);
        }
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
        return Err(AppError::invalid(ErrorCode::CaptchaRequired, "captcha_token", "请先向右拖动滑块完成图形验证。"));
    };
    if token.len() > 128 || !captchas::take_token(&app.db, &token_hash(app, token), purpose.as_str(), app.clock.unix()).await? {
        return Err(AppError::invalid(ErrorCode::CaptchaFailed, "captcha_token", "图形验证已失效，请重新拖动滑块完成验证。"));
    }
    Ok(())
}

fn throttled(retry_after: i64) -> AppError {
    let minutes = (retry_after + 59) / 60;
    AppError::too_many(ErrorCode::CaptchaThrottled, format!("图形验证失败次数过多，请{}分钟后再试。", minutes.max(1)), Some(retry_after))
}

fn token_hash(app: &App, token: &str) -> Vec<u8> {
    app.vault.mac(&[b"captcha_token", token.as_bytes()])
}
