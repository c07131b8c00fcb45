//! 忘记密码 (REC-1..3): step 1 proves document type, number and name with
//! one neutral answer for any mismatch; step 2 resets by an emailed link
//! (24 hours, single use), by an SMS code, or by a link the bound WeChat gets
//! in the chat (10 minutes, single use). A reset ends every session.

use askama::Template;

use jszg_domain::{DocNumber, PasswordChoice, PersonName, VerificationCode};

use crate::app::App;
use crate::crypto::random_token;
use crate::error::{ErrorCode, AppError, AppResult};
use crate::flows::stored_passwords;
use crate::vault::Holder;
use crate::flows::account_changes::new_password;
use crate::flows::applicant::{mask_email, mask_phone, Applicant};
use crate::flows::codes::{self, CodePurpose, Target};
use crate::flows::notify;
use crate::flows::quotas::Source;
use crate::flows::registration::{parse_doc_type, LEGACY_CUTOFF};
use crate::flows::wechat;
use crate::message::{ResetMailHtml, ResetMailText, Channel, Message};
use crate::store::{self, accounts, audit, recoveries, sessions, throttles, Tx};
use crate::vault::Field;

/// How long step 2 may follow step 1.
pub const RECOVERY_TTL: i64 = 30 * 60;
/// REC-2a: reset links live 24 hours.
pub const RESET_LINK_TTL: i64 = 24 * 3600;

/// A way to reset the password the account offers, with its masked target.
#[derive(Clone)]
pub struct Method {
    /// `email`, `sms` or `wechat`.
    pub method: &'static str,
    pub target: Option<String>,
}

pub struct Started {
    pub id: String,
    pub methods: Vec<Method>,
    /// A contact change of this account is waiting for review: the page says so when the
    /// applicant opens 修改手机号码 / 修改邮箱地址, not after a whole form and a code.
    pub contact_change_pending: bool,
}

fn mismatch() -> AppError {
    AppError::invalid(ErrorCode::IdentityMismatch, "doc_number", "证件类型、证件号码或姓名与注册信息不一致，无法重置密码。请核对后重新输入。")
}

const ADDRESS_SCOPE: &str = "recovery_address";
const NUMBER_SCOPE: &str = "recovery_number";

fn too_many(retry_after: i64) -> AppError {
    let minutes = ((retry_after + 59) / 60).max(1);
    AppError::too_many(ErrorCode::TooManyAttempts, format!("核验失败次数过多，请{minutes}分钟后再试。"), Some(retry_after))
}

/// What step 1 was told. Input that cannot name an account is kept rather than refused: it gets
/// the neutral mismatch after the same lookups and counts as a wrong name does, so a malformed
/// number tells a stranger nothing and costs as much as a wrong one.
pub enum Claim {
    Named { doc: DocNumber, name: PersonName },
    /// The number as a login name (trimmed, upper case), the key the attempt is counted under.
    Unnamed { lookup: String },
}

impl Claim {
    pub fn read(doc_type: &str, number: &str, name: &str, today: time::Date) -> Claim {
        let named = parse_doc_type(doc_type).ok().and_then(|t| {
            let doc = DocNumber::parse(t, number, today).ok()?;
            let name = PersonName::parse(t, name).ok()?;
            Some(Claim::Named { doc, name })
        });
        named.unwrap_or_else(|| Claim::Unnamed { lookup: number.trim().to_uppercase() })
    }

    fn lookup(&self) -> &str {
        match self {
            Claim::Named { doc, .. } => doc.as_str(),
            Claim::Unnamed { lookup } => lookup,
        }
    }
}

/// Step 1. Every way of not naming a live account gives the same answer. Mismatches are counted
/// per source address and per document number; past either limit the step answers 429 until the
/// window ends, whatever the input, so guessing names or numbers costs time.
pub async fn start(app: &App, claim: Claim, source: &Source) -> AppResult<Started> {
    let limits = &app.config.recovery;
    let now = app.clock.unix();
    let address = app.vault.mac(&[ADDRESS_SCOPE.as_bytes(), source.address().as_bytes()]);
    let (by_address, address_end) = throttles::peek(&app.db, ADDRESS_SCOPE, &address, now, limits.window_secs).await?;
    if by_address >= limits.address_limit {
        return Err(too_many(address_end - now));
    }
    // Looked up even when the input is malformed, so both paths cost the same.
    let lookup = claim.lookup();
    let number_key = app.vault.mac(&[NUMBER_SCOPE.as_bytes(), lookup.as_bytes()]);
    let (by_number, number_end) = throttles::peek(&app.db, NUMBER_SCOPE, &number_key, now, limits.window_secs).await?;
    if by_number >= limits.number_limit {
        return Err(too_many(number_end - now));
    }
    let row = accounts::find_live(&app.db, &app.vault.lookups(Field::DocNumber, lookup)).await?;
    let matched = match (claim, row) {
        (Claim::Named { doc, name }, Some(row)) => {
            let a = Applicant::open(app, row)?;
            let same = a.doc_type() == doc.doc_type() && PersonName::from_storage(a.row.name.clone()).matches(&name);
            same.then_some(a)
        }
        _ => None,
    };
    let Some(a) = matched else {
        throttles::hit(&app.db, ADDRESS_SCOPE, &address, now, limits.window_secs).await?;
        throttles::hit(&app.db, NUMBER_SCOPE, &number_key, now, limits.window_secs).await?;
        return Err(mismatch());
    };
    if a.row.registered_at < LEGACY_CUTOFF {
        return Err(AppError::new(
            ErrorCode::LegacyAccount,
            "2019年3月1日之前注册的账号，不能进行密码重置，需要重新注册账号。请点击“注册”，使用相同的证件号码重新注册。",
        ));
    }
    let id = random_token(18);
    recoveries::insert(&app.db, &id, a.id(), now, now + RECOVERY_TTL).await?;
    let mut methods = Vec::new();
    if let Some(email) = a.email(app)? {
        methods.push(Method { method: "email", target: Some(mask_email(&email)) });
    }
    if let Some(phone) = a.phone(app)? {
        methods.push(Method { method: "sms", target: Some(mask_phone(&phone)) });
    }
    if store::wechat::is_bound(&app.db, a.id()).await? {
        methods.push(Method { method: "wechat", target: None });
    }
    let contact_change_pending = recoveries::pending_contact_change(&app.db, a.id()).await?;
    Ok(Started { id, methods, contact_change_pending })
}

/// The applicant a live recovery is for.
pub async fn applicant(app: &App, id: &str) -> AppResult<Applicant> {
    let expired = || AppError::new(ErrorCode::RecoveryExpired, "操作已超时，请重新输入证件类型、证件号码和姓名。");
    if id.len() > 64 {
        return Err(expired());
    }
    let account_id = recoveries::account_of(&app.db, id, app.clock.unix()).await?.ok_or_else(expired)?;
    let row = accounts::find_by_id(&app.db, account_id).await?.ok_or_else(expired)?;
    Applicant::open(app, row)
}

pub fn token_hash(app: &App, token: &str) -> Vec<u8> {
    app.vault.mac(&[b"password_reset", token.as_bytes()])
}

/// Create a reset link for the account inside the caller's transaction and
/// queue the mail to `email`. Used by recovery and by an approved email change.
pub async fn mail_reset_link(tx: &mut Tx, app: &App, account_id: i64, email: &str, intro: &str) -> AppResult<()> {
    let token = random_token(32);
    let now = app.clock.unix();
    recoveries::insert_reset(tx, &token_hash(app, &token), account_id, now, now + RESET_LINK_TTL).await?;
    let link = format!("{}/reset/{}", app.config.public_url(), token);
    let body = ResetMailText { intro, link: &link }.render().map_err(AppError::internal)?;
    let html = ResetMailHtml { intro, link: &link }.render().map_err(AppError::internal)?;
    notify::queue(
        tx,
        app,
        &Message {
            channel: Channel::Email,
            to: email.to_owned(),
            subject: Some("中国教师资格网密码重置".into()),
            body,
            html: Some(html),
            sms: None,
        },
    )
    .await?;
    Ok(())
}

/// REC-2a: mail a reset link to the bound email.
pub async fn send_email(app: &App, id: &str) -> AppResult<()> {
    let a = applicant(app, id).await?;
    let email = a.email(app)?.ok_or_else(|| AppError::new(ErrorCode::NoEmail, "该账号未绑定安全邮箱，请选择其他方式。"))?;
    let now = app.clock.now();
    let day = jszg_domain::format_date(jszg_domain::beijing_date(now));
    let limit = app.config.codes.email_daily_limit;
    let mut tx = app.db.begin().await?;
    // Reset mails share the email quota idea: a few per address per day.
    if crate::store::codes::take_quota(&mut tx, "reset_email", &app.vault.lookup(Field::Email, &email), &day, limit).await?.is_none() {
        tx.rollback().await?;
        return Err(AppError::too_many(
            ErrorCode::DailyLimit,
            format!("该邮箱今日接收重置邮件的次数已达上限（每天最多{limit}次），请查收已发送的邮件，或于明日0点（北京时间）后再试。"),
            Some(app.clock.secs_to_next_day()),
        ));
    }
    mail_reset_link(&mut tx, app, a.id(), &email, "您在中国教师资格网申请了重置密码。").await?;
    tx.commit().await?;
    app.wake_outbox();
    Ok(())
}

fn token_invalid() -> AppError {
    AppError::new(ErrorCode::TokenInvalid, "重置链接已失效（超过24小时或已使用），请重新使用“忘记密码”的“邮箱重置密码”功能发送邮件。")
}

/// The two links that reset a password: the emailed one (REC-2a, 24 hours) and the one the
/// bound WeChat gets in the chat (REC-2c, 10 minutes, dead once the binding goes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetLink {
    Email,
    Wechat,
}

impl ResetLink {
    /// The stored hash of a token; `None` for one no link could have.
    fn hash(self, app: &App, token: &str) -> Option<Vec<u8>> {
        if token.is_empty() || token.len() > 128 {
            return None;
        }
        Some(match self {
            ResetLink::Email => token_hash(app, token),
            ResetLink::Wechat => wechat::reset_token_hash(app, token),
        })
    }

    async fn live(self, app: &App, hash: &[u8]) -> AppResult<Option<i64>> {
        let now = app.clock.unix();
        Ok(match self {
            ResetLink::Email => recoveries::live_reset(&app.db, hash, now).await?,
            ResetLink::Wechat => store::wechat::live_reset(&app.db, hash, now).await?,
        })
    }

    /// Spend the link; `None` when another request spent it first.
    async fn spend(self, tx: &mut Tx, hash: &[u8], now: i64) -> AppResult<Option<i64>> {
        Ok(match self {
            ResetLink::Email => recoveries::use_reset(tx, hash, now).await?,
            ResetLink::Wechat => store::wechat::use_reset(tx, hash, now).await?,
        })
    }

    /// How the audit log names the reset.
    fn method(self) -> &'static str {
        match self {
            ResetLink::Email => "email_link",
            ResetLink::Wechat => "wechat",
        }
    }

    fn invalid(self) -> AppError {
        match self {
            ResetLink::Email => token_invalid(),
            ResetLink::Wechat => AppError::new(
                ErrorCode::TokenInvalid,
                "重置链接已失效（超过10分钟或已使用），请重新在“忘记密码”页面选择“微信验证重置密码”并扫描二维码。",
            ),
        }
    }
}

/// Whether a reset link is still good (for the page that follows it).
pub async fn link_live(app: &App, link: ResetLink, token: &str) -> AppResult<bool> {
    match link.hash(app, token) {
        Some(hash) => Ok(link.live(app, &hash).await?.is_some()),
        None => Ok(false),
    }
}

/// The page behind a link: a new password and its confirmation. Spending the link, the password
/// and the end of every session are one transaction; after a WeChat reset 重置成功 goes to the chat.
pub async fn reset_with_link(app: &App, link: ResetLink, token: &str, new: &PasswordChoice) -> AppResult<()> {
    let hash = link.hash(app, token).ok_or_else(|| link.invalid())?;
    let account_id = link.live(app, &hash).await?.ok_or_else(|| link.invalid())?;
    let row = accounts::find_by_id(&app.db, account_id).await?.ok_or_else(|| link.invalid())?;
    let a = Applicant::open(app, row)?;
    let password = new_password(&a, new)?;
    let password_hash = app.hasher.hash(password.expose_secret()).await?;
    let mut tx = app.db.begin().await?;
    if link.spend(&mut tx, &hash, app.clock.unix()).await?.is_none() {
        tx.rollback().await?;
        return Err(link.invalid());
    }
    set_password_and_end_sessions(&mut tx, app, account_id, &password_hash, link.method()).await?;
    if link == ResetLink::Wechat {
        tell_the_chat(&mut tx, app, account_id).await?;
    }
    tx.commit().await?;
    app.wake_outbox();
    Ok(())
}

async fn tell_the_chat(tx: &mut Tx, app: &App, account_id: i64) -> AppResult<()> {
    if let Some(sealed) = store::wechat::bound_openid(tx, account_id).await? {
        let openid = app.vault.open_str(Field::Wechat, &sealed)?;
        let body = "重置成功！您的中国教师资格网账号密码已重置，请使用新密码登录。如非本人操作，请立即通过“忘记密码”重新设置密码。";
        let message = Message { channel: Channel::Wechat, to: openid, subject: None, body: body.to_owned(), html: None, sms: None };
        notify::queue(tx, app, &message).await?;
    }
    Ok(())
}

async fn set_password_and_end_sessions(tx: &mut Tx, app: &App, account_id: i64, hash: &str, how: &str) -> AppResult<()> {
    let now = app.clock.unix();
    accounts::set_password(tx, account_id, hash, &stored_passwords::tag(app, Holder::Account, account_id, hash), now).await?;
    let ended = sessions::delete_others(tx, account_id, None).await?;
    audit::append(tx, &app.vault, audit::Entry::by_applicant(now, account_id, "password_reset", how)).await?;
    tracing::info!(account_id, ended, how, "password reset");
    Ok(())
}

/// REC-2b: a code to the bound phone (CODE-1 limits apply).
pub async fn send_sms(app: &App, id: &str, source: &Source) -> AppResult<codes::Sent> {
    let a = applicant(app, id).await?;
    let phone = a.phone(app)?.ok_or_else(|| AppError::new(ErrorCode::NoPhone, "该账号未绑定手机号码，请选择其他方式。"))?;
    let phone = jszg_domain::Phone::parse(&phone).map_err(|_| AppError::internal("stored phone unreadable"))?;
    codes::send(app, Target::Sms(&phone), CodePurpose::Recovery, source).await
}

pub async fn reset_with_sms(app: &App, id: &str, code: &VerificationCode, new: &PasswordChoice) -> AppResult<()> {
    let a = applicant(app, id).await?;
    let password = new_password(&a, new)?;
    let phone = a.phone(app)?.ok_or_else(|| AppError::new(ErrorCode::NoPhone, "该账号未绑定手机号码，请选择其他方式。"))?;
    let phone = jszg_domain::Phone::parse(&phone).map_err(|_| AppError::internal("stored phone unreadable"))?;
    let password_hash = app.hasher.hash(password.expose_secret()).await?;
    let target = Target::Sms(&phone);
    let mut tx = app.db.begin().await?;
    if !codes::consume(&mut tx, app, target, CodePurpose::Recovery, code).await? {
        tx.rollback().await?;
        return Err(codes::count_wrong(app, target, CodePurpose::Recovery).await?.field("code"));
    }
    set_password_and_end_sessions(&mut tx, app, a.id(), &password_hash, "sms").await?;
    recoveries::end(&mut tx, id).await?;
    tx.commit().await?;
    Ok(())
}

/// REC-2c, step 2: a QR code for the bound WeChat.
pub async fn wechat_qr(app: &App, id: &str) -> AppResult<wechat::Qr> {
    let a = applicant(app, id).await?;
    if !store::wechat::is_bound(&app.db, a.id()).await? {
        return Err(AppError::new(ErrorCode::WechatNotBound, "该账号未绑定微信服务号，请选择其他方式重置密码。"));
    }
    wechat::reset_qr(app, a.id()).await
}

