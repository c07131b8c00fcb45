//! Verification codes by SMS, email and the WeChat service account (CODE-1..3): six digits,
//! five minutes, stored as keyed hashes, a daily quota per target taken by one atomic
//! statement, and five wrong entries kill a code.

use askama::Template;
use rand::Rng;

use jszg_domain::{DocNumber, Email, Phone, VerificationCode};

use crate::app::App;
use crate::error::{ErrorCode, AppError, AppResult};
use crate::flows::notify;
use crate::flows::quotas::{self, Rationed, Source};
use crate::message::{CodeMailHtml, Channel, Message, SmsTemplate};
use crate::store::{self, codes, Tx};
use crate::vault::Field;

pub const CODE_TTL: i64 = 300;
/// CODE-1: at most three SMS per phone per Beijing day, all purposes together.
pub const SMS_DAILY_LIMIT: i64 = 3;

/// What a code is for; a code only works for the purpose it was sent for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodePurpose {
    Register,
    ChangePhone,
    ChangeEmail,
    ContactChange,
    Recovery,
}

impl CodePurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Register => "register",
            Self::ChangePhone => "change_phone",
            Self::ChangeEmail => "change_email",
            Self::ContactChange => "contact_change",
            Self::Recovery => "recovery",
        }
    }

    /// The purposes a client may name when asking for an SMS code.
    pub fn parse_sms(raw: &str) -> Option<Self> {
        Some(match raw {
            "register" => Self::Register,
            "change_phone" => Self::ChangePhone,
            "contact_change" => Self::ContactChange,
            _ => return None,
        })
    }

    pub fn parse_email(raw: &str) -> Option<Self> {
        Some(match raw {
            "change_email" => Self::ChangeEmail,
            "contact_change" => Self::ContactChange,
            _ => return None,
        })
    }
}

/// Where a code goes: its channel and normalised address.
#[derive(Clone, Copy, Debug)]
pub enum Target<'a> {
    Sms(&'a Phone),
    Email(&'a Email),
    /// CODE-3: asked for in the service account's chat for this document number.
    Wechat(&'a DocNumber),
}

impl Target<'_> {
    fn channel(&self) -> Channel {
        match self {
            Target::Sms(_) => Channel::Sms,
            Target::Email(_) => Channel::Email,
            Target::Wechat(_) => Channel::Wechat,
        }
    }

    fn hash(&self, app: &App) -> Vec<u8> {
        match self {
            Target::Sms(p) => app.vault.lookup(Field::Phone, p.as_str()),
            Target::Email(e) => app.vault.lookup(Field::Email, e.as_str()),
            Target::Wechat(d) => app.vault.lookup(Field::DocNumber, d.as_str()),
        }
    }
}

pub struct Sent {
    pub expires_in: i64,
    pub remaining_today: i64,
}

/// Send a fresh code, replacing any earlier one for this target and purpose.
/// The caller has already spent the captcha token or otherwise proven intent. The target's
/// daily quota and the source's quotas (ABUSE-1) are taken with the code, so a refusal by any
/// of them sends nothing and counts nothing.
pub async fn send(app: &App, target: Target<'_>, purpose: CodePurpose, source: &Source) -> AppResult<Sent> {
    let (message_to, rationed) = match target {
        Target::Sms(p) => (OutboxAddress::Sms(p), Rationed::SmsCodes),
        Target::Email(e) => (OutboxAddress::Email(e), Rationed::EmailCodes),
        Target::Wechat(_) => return Err(AppError::internal("WeChat codes are given in the chat, not sent")),
    };
    let mut tx = app.db.begin().await?;
    let fresh = match fresh_code(&mut tx, app, target, purpose).await {
        Ok(fresh) => quotas::take(&mut tx, app, source, rationed).await.map(|()| fresh),
        Err(err) => Err(err),
    };
    let (code, sent) = match fresh {
        Ok(fresh) => fresh,
        Err(err) => {
            tx.rollback().await?;
            return Err(err);
        }
    };
    notify::queue(&mut tx, app, &code_message(message_to, &code)).await?;
    tx.commit().await?;
    app.wake_outbox();
    Ok(sent)
}

/// CODE-3: a registration code for the chat's reply, remembered with the WeChat it went to so
/// that the account registered with it is bound to that WeChat.
pub async fn issue_in_chat(app: &App, doc: &DocNumber, openid: &str) -> AppResult<String> {
    let target = Target::Wechat(doc);
    let mut tx = app.db.begin().await?;
    let (code, _) = fresh_code(&mut tx, app, target, CodePurpose::Register).await?;
    let openid_hash = app.vault.lookup(Field::Wechat, openid);
    let openid_enc = app.vault.seal_str(Field::Wechat, openid);
    store::wechat::remember_code_openid(&mut tx, &target.hash(app), &openid_hash, &openid_enc, app.clock.unix() + CODE_TTL).await?;
    tx.commit().await?;
    Ok(code)
}

/// Take a unit of the target's daily quota and store a fresh code in `tx`.
async fn fresh_code(tx: &mut Tx, app: &App, target: Target<'_>, purpose: CodePurpose) -> AppResult<(String, Sent)> {
    let now = app.clock.now();
    let day = jszg_domain::format_date(jszg_domain::beijing_date(now));
    let (limit, what) = match target {
        Target::Sms(_) => (SMS_DAILY_LIMIT, "该手机号码"),
        Target::Email(_) => (app.config.codes.email_daily_limit, "该邮箱"),
        Target::Wechat(_) => (SMS_DAILY_LIMIT, "该证件号码"),
    };
    let target_hash = target.hash(app);
    let code = format!("{:06}", rand::rngs::OsRng.gen_range(0..1_000_000));
    let channel = target.channel();
    let Some(used) = codes::take_quota(tx, channel.as_str(), &target_hash, &day, limit).await? else {
        let retry_after = app.clock.secs_to_next_day();
        return Err(AppError::too_many(
            ErrorCode::DailyLimit,
            format!("{what}今日获取验证码的次数已达上限（每天最多{limit}次），请于明日0点（北京时间）后再试。"),
            Some(retry_after),
        )
        .with("limit", limit));
    };
    codes::put(
        tx,
        codes::NewCode {
            channel: channel.as_str(),
            target_hash: &target_hash,
            purpose: purpose.as_str(),
            code_hash: &code_hash(app, channel, &target_hash, purpose, &code),
            expires_at: now.unix_timestamp() + CODE_TTL,
            now: now.unix_timestamp(),
        },
    )
    .await?;
    Ok((code, Sent { expires_in: CODE_TTL, remaining_today: (limit - used).max(0) }))
}

/// Where the outbox sends a code of this target; WeChat codes are given in the chat instead.
enum OutboxAddress<'a> {
    Sms(&'a Phone),
    Email(&'a Email),
}

fn code_message(target: OutboxAddress<'_>, code: &str) -> Message {
    let body = format!("【中国教师资格网】您的验证码为{code}，5分钟内有效。如非本人操作，请忽略本消息，切勿将验证码告诉他人。");
    match target {
        OutboxAddress::Sms(phone) => Message {
            channel: Channel::Sms,
            to: phone.as_str().to_owned(),
            subject: None,
            body,
            html: None,
            sms: Some(SmsTemplate::Code(code.to_owned())),
        },
        OutboxAddress::Email(email) => Message {
            channel: Channel::Email,
            to: email.as_str().to_owned(),
            subject: Some("中国教师资格网邮箱验证码".to_owned()),
            // A mail whose HTML part cannot be rendered still goes, as plain text.
            html: CodeMailHtml { code }.render().ok(),
            body,
            sms: None,
        },
    }
}

fn code_hash(app: &App, channel: Channel, target_hash: &[u8], purpose: CodePurpose, code: &str) -> Vec<u8> {
    app.vault.mac(&[b"verification_code", channel.as_str().as_bytes(), target_hash, purpose.as_str().as_bytes(), code.as_bytes()])
}

/// 422 `invalid_verification_code` on `field` for a code that is not six digits.
pub fn read_code(raw: &str, field: &'static str) -> AppResult<VerificationCode> {
    VerificationCode::parse(raw).ok_or_else(|| AppError::invalid(ErrorCode::InvalidVerificationCode, field, "请输入6位数字验证码。"))
}

/// Check a code without spending it: the first thing a request does that could reveal whether
/// a number is registered or cost a password hash (API.md "Order of checks"), so a wrong code
/// gets the same answer whatever the rest of the form says. A wrong one is counted at once.
pub async fn verify(app: &App, target: Target<'_>, purpose: CodePurpose, code: &VerificationCode) -> AppResult<()> {
    let channel = target.channel();
    let target_hash = target.hash(app);
    let hash = code_hash(app, channel, &target_hash, purpose, code.as_str());
    if codes::matches(&app.db, channel.as_str(), &target_hash, purpose.as_str(), &hash, app.clock.unix()).await? {
        return Ok(());
    }
    Err(count_wrong(app, target, purpose).await?)
}

/// Count an answer that a right code bought without being spent (`account_exists`,
/// `no_account`, `claim_pending`) as one of the code's five entries: whoever proved a phone
/// once learns about at most five numbers with it, not about every number they try.
pub async fn count_reveal(app: &App, target: Target<'_>, purpose: CodePurpose) -> AppResult<()> {
    let mut tx = app.db.begin().await?;
    codes::count_failure(&mut tx, target.channel().as_str(), &target.hash(app), purpose.as_str()).await?;
    tx.commit().await?;
    Ok(())
}

/// Spend a code inside the caller's transaction, so the code survives if
/// the rest of the change is rolled back. A wrong code is counted by
/// [`count_wrong`] outside that transaction.
pub async fn consume(tx: &mut Tx, app: &App, target: Target<'_>, purpose: CodePurpose, code: &VerificationCode) -> AppResult<bool> {
    let channel = target.channel();
    let target_hash = target.hash(app);
    let hash = code_hash(app, channel, &target_hash, purpose, code.as_str());
    Ok(codes::consume(tx, channel.as_str(), &target_hash, purpose.as_str(), &hash, app.clock.unix()).await?)
}

/// Count a wrong entry and say what is true about the code: wrong, and how
/// many tries it has left within its five minutes; or dead (expired, never
/// sent, or too many wrong entries), when only a new code helps.
pub async fn count_wrong(app: &App, target: Target<'_>, purpose: CodePurpose) -> AppResult<AppError> {
    let mut tx = app.db.begin().await?;
    let state = codes::count_failure(&mut tx, target.channel().as_str(), &target.hash(app), purpose.as_str()).await?;
    tx.commit().await?;
    let now = app.clock.unix();
    Ok(match state {
        Some((failed, expires_at)) if expires_at > now && failed < codes::MAX_FAILED_ATTEMPTS => {
            let left = codes::MAX_FAILED_ATTEMPTS - failed;
            AppError::invalid(
                ErrorCode::InvalidVerificationCode,
                "verification_code",
                format!("验证码不正确，请核对后重新输入。该验证码还可输入{left}次，获取后5分钟内有效，无需重新获取。"),
            )
            .with("attempts_left", left)
            .with("expires_in", expires_at - now)
        }
        Some((_, expires_at)) if expires_at > now => {
            AppError::invalid(ErrorCode::InvalidVerificationCode, "verification_code", "验证码输入错误次数过多，已失效，请重新获取验证码。")
                .with("attempts_left", 0)
        }
        _ => wrong_code().with("attempts_left", 0),
    })
}

/// No live code for the target: expired, used, or never sent.
pub fn wrong_code() -> AppError {
    AppError::invalid(ErrorCode::InvalidVerificationCode, "verification_code", "验证码已失效或尚未获取，请重新获取验证码（有效期为5分钟）。")
}
