//! 注册 (REG-1..6): one live account per document number, created only
//! with a verification code sent to the phone given.

use serde::Deserialize;
use time::Date;

use jszg_domain::{DocNotice, DocNumber, DocType, Email, Password, Period, PersonName, Phone, Validity, VerificationCode};

use crate::app::App;
use crate::error::{ErrorCode, AppError, AppResult};
use crate::flows::codes::{self, CodePurpose, Target};
use crate::flows::loose::{loose_bool, loose_string};
use crate::flows::quotas::{self, Rationed, Source};
use crate::store::{accounts, unless_taken};
use crate::vault::{Field, Holder};

/// Accounts registered before this instant (2019-03-01 00:00 Beijing) are
/// legacy accounts: they cannot reset their password and registering the
/// number again supersedes them (REG-4, REC-1).
pub const LEGACY_CUTOFF: i64 = 1_551_369_600;

/// 证件有效期 as it arrives (its OpenAPI description is `http/api/accounts.rs`'s).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ValidityInput {
    #[serde(deserialize_with = "loose_string")]
    pub period: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub start: Option<String>,
}

/// The registration form as it arrives. Every field is optional here so
/// that a missing or mistyped one gets its own error code, not a generic one.
/// Its OpenAPI description is `http/api/accounts.rs`'s.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RegistrationForm {
    #[serde(deserialize_with = "loose_string")]
    pub doc_type: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub doc_number: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub name: Option<String>,
    pub validity: Option<ValidityInput>,
    #[serde(deserialize_with = "loose_string")]
    pub password: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub password_confirm: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub email: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub phone: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub verification_code: Option<String>,
    /// Where the code came from: `sms` (the default) or `wechat` (the service account, CODE-3).
    #[serde(deserialize_with = "loose_string")]
    pub verification_channel: Option<String>,
    #[serde(deserialize_with = "loose_bool")]
    pub agree_terms: bool,
    #[serde(deserialize_with = "loose_bool")]
    pub confirm_validity_warning: bool,
}

/// A registration whose every field has passed the identity rules.
pub struct Registration {
    pub doc: DocNumber,
    pub notice: Option<DocNotice>,
    pub name: PersonName,
    pub validity: Validity,
    pub password: Password,
    pub email: Email,
    pub phone: Phone,
    pub code: VerificationCode,
    pub channel: CodeChannel,
    pub confirm_validity_warning: bool,
}

/// 验证码来源: 短信验证 or 微信扫码验证.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeChannel {
    Sms,
    Wechat,
}

impl CodeChannel {
    pub fn parse(raw: &str) -> AppResult<CodeChannel> {
        match raw.trim() {
            "" | "sms" => Ok(CodeChannel::Sms),
            "wechat" => Ok(CodeChannel::Wechat),
            _ => Err(AppError::invalid(ErrorCode::InvalidRequest, "verification_channel", "请选择验证码来源：短信验证或微信扫码验证。")),
        }
    }
}

impl Registration {
    /// Where the code was sent: the phone, or the document number in the WeChat chat.
    pub fn code_target(&self) -> Target<'_> {
        match self.channel {
            CodeChannel::Sms => Target::Sms(&self.phone),
            CodeChannel::Wechat => Target::Wechat(&self.doc),
        }
    }
}

fn text(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or("")
}

pub fn parse_doc_type(raw: &str) -> AppResult<DocType> {
    raw.trim().parse::<DocType>().map_err(|_| AppError::invalid(ErrorCode::InvalidDocNumber, "doc_type", "请选择身份证件类型。"))
}

pub fn parse_period(raw: &str) -> AppResult<Period> {
    raw.trim()
        .parse::<Period>()
        .map_err(|_| AppError::invalid(ErrorCode::InvalidValidity, "validity.period", "请选择身份证件有效时间段（5年、10年、20年或长期）。"))
}

pub fn parse_start(raw: &str) -> AppResult<Date> {
    jszg_domain::parse_date(raw.trim())
        .ok_or_else(|| AppError::invalid(ErrorCode::InvalidValidity, "validity.start", "请选择完整的身份证件有效开始日期（年、月、日）。"))
}

/// Parse a validity period for a document, mapping domain refusals to codes.
pub fn parse_validity(doc_type: DocType, input: Option<&ValidityInput>, today: Date) -> AppResult<Validity> {
    let empty = ValidityInput::default();
    let input = input.unwrap_or(&empty);
    let period = parse_period(text(&input.period))?;
    let start = parse_start(text(&input.start))?;
    Validity::new(doc_type, period, start, today).map_err(|err| match err {
        jszg_domain::ValidityError::Expired { .. } => AppError::invalid(ErrorCode::DocumentExpired, "validity.start", err.to_string()),
        _ => AppError::invalid(ErrorCode::InvalidValidity, "validity", err.to_string()),
    })
}

impl RegistrationForm {
    /// Check every field in the order of the form; the first problem wins.
    pub fn parse(&self, today: Date) -> AppResult<Registration> {
        let doc_type = parse_doc_type(text(&self.doc_type))?;
        let (doc, notice) = DocNumber::parse_with_notice(doc_type, text(&self.doc_number), today)
            .map_err(|e| AppError::invalid(ErrorCode::InvalidDocNumber, "doc_number", e.to_string()))?;
        let name = PersonName::parse(doc_type, text(&self.name)).map_err(|e| AppError::invalid(ErrorCode::InvalidName, "name", e.to_string()))?;
        let validity = parse_validity(doc_type, self.validity.as_ref(), today)?;
        let password =
            Password::parse(text(&self.password), &doc).map_err(|e| AppError::invalid(ErrorCode::WeakPassword, "password", e.to_string()))?;
        if password.expose_secret() != text(&self.password_confirm) {
            return Err(AppError::invalid(ErrorCode::PasswordMismatch, "password_confirm", "两次输入的密码不一致，请重新输入确认密码。"));
        }
        let email = Email::parse(text(&self.email)).map_err(|e| AppError::invalid(ErrorCode::InvalidEmail, "email", e.to_string()))?;
        let phone = Phone::parse(text(&self.phone)).map_err(|e| AppError::invalid(ErrorCode::InvalidPhone, "phone", e.to_string()))?;
        let channel = CodeChannel::parse(text(&self.verification_channel))?;
        let code = codes::read_code(text(&self.verification_code), "verification_code")?;
        if !self.agree_terms {
            return Err(AppError::invalid(
                ErrorCode::TermsNotAccepted,
                "agree_terms",
                "请阅读《中国教师资格网注册协议》，勾选“我已阅读并同意”后再提交。",
            ));
        }
        Ok(Registration {
            doc,
            notice,
            name,
            validity,
            password,
            email,
            phone,
            code,
            channel,
            confirm_validity_warning: self.confirm_validity_warning,
        })
    }
}

pub struct Registered {
    pub account_id: i64,
    pub doc: DocNumber,
    pub name: PersonName,
    pub validity: Validity,
    pub notice: Option<DocNotice>,
    /// A legacy account (registered before 2019-03-01) that this one replaced.
    pub superseded: Option<i64>,
}

pub fn account_exists() -> AppError {
    AppError::new(
        ErrorCode::AccountExists,
        "该证件号码已注册，请直接登录；如忘记密码，请使用“忘记密码”找回。账号只需注册一次，认定和定期注册入口通用。如该证件号码不是您本人注册的，可“申诉找回账号”。",
    )
}

/// DOC-3: a validity period that does not fit the holder's age must be
/// confirmed (409 `validity_warning` until it is).
pub fn check_validity_warning(reg: &Registration) -> AppResult<()> {
    if let Some(birth) = reg.doc.birth_date() {
        if let Some(expected) = reg.validity.age_warning(birth) {
            if !reg.confirm_validity_warning {
                return Err(AppError::new(
                    ErrorCode::ValidityWarning,
                    format!(
                        "按照居民身份证法，您在有效开始日期时的年龄对应的有效期一般为“{}”，您选择的是“{}”。请核对证件后确认。",
                        expected.label_zh(),
                        reg.validity.period().label_zh()
                    ),
                )
                .field("validity.period")
                .with("expected_period", expected.as_str()));
            }
        }
    }
    Ok(())
}

/// An upstream identity (教育部账号登录) waiting to be linked to the account being registered.
pub struct UpstreamLink<'a> {
    pub doc_type: DocType,
    pub doc_number: &'a str,
    /// Empty when the ministry did not say.
    pub name: &'a str,
    pub subject_hash: &'a [u8],
    pub pending_token_hash: &'a [u8],
}

/// 注册: one account, its code spent, its quota counted and, after 教育部账号登录, the upstream
/// identity linked (see `upstream_login::register`), all in one transaction.
pub async fn register(app: &App, reg: Registration, source: &Source, upstream: Option<&UpstreamLink<'_>>) -> AppResult<Registered> {
    // Registering after 教育部账号登录: type, number and name are the upstream's.
    if let Some(p) = upstream {
        let same = reg.doc.doc_type() == p.doc_type && reg.doc.as_str() == p.doc_number && (p.name.is_empty() || reg.name.as_str() == p.name);
        if !same {
            return Err(AppError::invalid(
                ErrorCode::InvalidDocNumber,
                "doc_number",
                "通过教育部账号注册时，证件类型、证件号码和姓名须与教育部账号一致，不能修改。",
            ));
        }
    }
    check_validity_warning(&reg)?;
    // The code first: only someone who proved the phone learns whether the number is taken,
    // and nobody costs a password hash without it (API.md "Order of checks").
    let target = reg.code_target();
    codes::verify(app, target, CodePurpose::Register, &reg.code).await?;
    let doc_hash = app.vault.lookup(Field::DocNumber, reg.doc.as_str());
    let doc_hashes = app.vault.lookups(Field::DocNumber, reg.doc.as_str());
    if let Some(registered_at) = accounts::live_registered_at(&app.db, &doc_hashes).await? {
        if registered_at >= LEGACY_CUTOFF {
            codes::count_reveal(app, target, CodePurpose::Register).await?;
            return Err(account_exists());
        }
    }
    let password_hash = app.hasher.hash(reg.password.expose_secret()).await?;
    let now = app.clock.unix();
    let start = jszg_domain::format_date(reg.validity.start());
    let end = reg.validity.end().map(jszg_domain::format_date);

    let mut tx = app.db.begin().await?;
    let superseded = accounts::archive_legacy(&mut tx, &doc_hashes, LEGACY_CUTOFF, now).await?;
    // A concurrent registration of the same number waits on the unique index and then learns
    // the number is taken.
    let inserted = unless_taken(
        accounts::insert(
            &mut tx,
            accounts::NewAccount {
                doc_type: reg.doc.doc_type().as_str(),
                doc_hash: &doc_hash,
                doc_number_enc: &app.vault.seal_str(Field::DocNumber, reg.doc.as_str()),
                name: reg.name.as_str(),
                validity_period: Some(reg.validity.period().as_str()),
                validity_start: Some(&start),
                validity_end: end.as_deref(),
                password_hash: Some(&password_hash),
                email_enc: Some(&app.vault.seal_str(Field::Email, reg.email.as_str())),
                email_hash: Some(&app.vault.lookup(Field::Email, reg.email.as_str())),
                phone_enc: Some(&app.vault.seal_str(Field::Phone, reg.phone.as_str())),
                phone_hash: Some(&app.vault.lookup(Field::Phone, reg.phone.as_str())),
                registered_at: now,
            },
        )
        .await,
    )?;
    let Some(account_id) = inserted else {
        tx.rollback().await?;
        return Err(account_exists());
    };
    accounts::set_password_tag(&mut tx, account_id, &password_hash, &app.vault.password_tag(Holder::Account, account_id, &password_hash)).await?;
    // Spent here, with the account: a request that raced this one for the same code finds it gone.
    if !codes::consume(&mut tx, app, target, CodePurpose::Register, &reg.code).await? {
        tx.rollback().await?;
        return Err(codes::wrong_code());
    }
    // ABUSE-3: counted with the account, so only registrations that happen are counted.
    if let Err(err) = quotas::take(&mut tx, app, source, Rationed::Registrations).await {
        tx.rollback().await?;
        return Err(err);
    }
    // CODE-3: an account registered with a WeChat code is bound to that WeChat.
    let wechat_bound =
        reg.channel == CodeChannel::Wechat && crate::store::wechat::bind_from_code(&mut tx, account_id, &doc_hash, now).await?;
    if let Some(p) = upstream {
        if crate::store::upstream::link(&mut tx, p.subject_hash, account_id, now).await? {
            crate::store::upstream::delete_pending(&mut tx, p.pending_token_hash).await?;
            crate::store::audit::append(&mut tx, &app.vault, crate::store::audit::Entry::by_applicant(now, account_id, "upstream_link", "")).await?;
        } else {
            // Another account took the identity meanwhile: the registration stands, unlinked.
            tracing::warn!(account_id, "registered, but the upstream identity was linked meanwhile");
        }
    }
    tx.commit().await?;
    if wechat_bound {
        tracing::info!(account_id, "account bound to the WeChat its code went to");
    }
    tracing::info!(account_id, superseded = superseded.is_some(), "account registered");
    Ok(Registered { account_id, doc: reg.doc, name: reg.name, validity: reg.validity, notice: reg.notice, superseded })
}
