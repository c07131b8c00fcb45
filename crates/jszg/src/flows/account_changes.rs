//! Changes an applicant makes in the personal centre (PROF-3, PROF-4):
//! the password, the phone and the email. Each is written to the audit log.

use jszg_domain::{ChoiceError, Email, Password, PasswordAttempt, PasswordChoice, Phone, VerificationCode};

use crate::adapters::passwords::Verdict;
use crate::app::App;
use crate::error::{ErrorCode, AppError, AppResult};
use crate::flows::stored_passwords;
use crate::vault::Holder;
use crate::flows::applicant::review_pending;
use crate::flows::applicant::{Applicant, RealnameStatus};
use crate::flows::codes::{self, CodePurpose, Target};
use crate::flows::notify;
use crate::message::Message;
use crate::store::{accounts, audit, sessions, Tx};
use crate::vault::Field;

async fn log(tx: &mut Tx, app: &App, a: &Applicant, action: &str) -> AppResult<()> {
    audit::append(tx, &app.vault, audit::Entry::by_applicant(app.clock.unix(), a.id(), action, "")).await?;
    Ok(())
}

/// The new password of a change or a reset: CRED-3 for this applicant, and its confirmation.
pub fn new_password(a: &Applicant, choice: &PasswordChoice) -> AppResult<Password> {
    choice.for_account(&a.doc).map_err(|e| match e {
        ChoiceError::Weak(e) => AppError::invalid(ErrorCode::WeakPassword, "new_password", e.to_string()),
        ChoiceError::Mismatch => {
            AppError::invalid(ErrorCode::PasswordMismatch, "new_password_confirm", "两次输入的密码不一致，请重新输入确认密码。")
        }
    })
}

/// 修改密码's form: the password on record, and the new one typed twice.
pub struct PasswordChange {
    pub current: PasswordAttempt,
    pub new: PasswordChoice,
}

/// 修改手机号码's form, parsed: the new number and the code sent to it.
pub struct PhoneChange {
    pub phone: Phone,
    pub code: VerificationCode,
}

impl PhoneChange {
    pub fn parse(raw_phone: &str, raw_code: &str) -> AppResult<PhoneChange> {
        let phone = Phone::parse(raw_phone).map_err(|e| AppError::invalid(ErrorCode::InvalidPhone, "phone", e.to_string()))?;
        Ok(PhoneChange { phone, code: codes::read_code(raw_code, "verification_code")? })
    }
}

/// 修改邮箱's form, parsed: the new address and the code sent to it.
pub struct EmailChange {
    pub email: Email,
    pub code: VerificationCode,
}

impl EmailChange {
    pub fn parse(raw_email: &str, raw_code: &str) -> AppResult<EmailChange> {
        let email = Email::parse(raw_email).map_err(|e| AppError::invalid(ErrorCode::InvalidEmail, "email", e.to_string()))?;
        Ok(EmailChange { email, code: codes::read_code(raw_code, "verification_code")? })
    }
}

/// 修改密码: needs the current password; ends every other session.
pub async fn change_password(app: &App, a: &Applicant, keep_session: &[u8], change: &PasswordChange) -> AppResult<()> {
    let password = new_password(a, &change.new)?;
    let current = change.current.expose_secret();
    let stored = stored_passwords::vouched(app, Holder::Account, a.id(), a.row.password_hash.as_deref(), a.row.password_tag.as_deref()).await?;
    match app.hasher.verify(current, stored).await? {
        Verdict::Valid { .. } => {}
        Verdict::Invalid => {
            return Err(AppError::new(ErrorCode::InvalidCredentials, "当前密码不正确，请重新输入。").field("current_password"))
        }
    }
    // `current` is now known to be the password on record.
    if password.expose_secret() == current {
        return Err(password_unchanged());
    }
    let hash = app.hasher.hash(password.expose_secret()).await?;
    let mut tx = app.db.begin().await?;
    accounts::set_password(&mut tx, a.id(), &hash, &stored_passwords::tag(app, Holder::Account, a.id(), &hash), app.clock.unix()).await?;
    let ended = sessions::delete_others(&mut tx, a.id(), Some(keep_session)).await?;
    log(&mut tx, app, a, "password_changed").await?;
    tx.commit().await?;
    tracing::info!(account_id = a.id(), ended, "password changed");
    Ok(())
}

/// 422 `password_unchanged`: a new password equal to the current one.
pub fn password_unchanged() -> AppError {
    AppError::invalid(ErrorCode::PasswordUnchanged, "new_password", "新密码不能与当前密码相同，请设置一个新的密码。")
}

fn locked_by_review(a: &Applicant) -> AppResult<()> {
    if a.realname() == RealnameStatus::ReviewPending {
        return Err(review_pending());
    }
    Ok(())
}

/// 修改手机号码: a code sent to the new number proves it.
pub async fn change_phone(app: &App, a: &Applicant, change: &PhoneChange) -> AppResult<()> {
    locked_by_review(a)?;
    let PhoneChange { phone, code } = change;
    let target = Target::Sms(phone);
    let mut tx = app.db.begin().await?;
    if !codes::consume(&mut tx, app, target, CodePurpose::ChangePhone, code).await? {
        tx.rollback().await?;
        return Err(codes::count_wrong(app, target, CodePurpose::ChangePhone).await?);
    }
    accounts::set_phone(
        &mut tx,
        a.id(),
        &app.vault.seal_str(Field::Phone, phone.as_str()),
        &app.vault.lookup(Field::Phone, phone.as_str()),
    )
    .await?;
    log(&mut tx, app, a, "phone_changed").await?;
    tell_old_contacts(&mut tx, app, a, "手机号码", &crate::flows::applicant::mask_phone(phone.as_str())).await?;
    tx.commit().await?;
    Ok(())
}

/// 修改邮箱: a code sent to the new address proves it.
pub async fn change_email(app: &App, a: &Applicant, change: &EmailChange) -> AppResult<()> {
    locked_by_review(a)?;
    let EmailChange { email, code } = change;
    let target = Target::Email(email);
    let mut tx = app.db.begin().await?;
    if !codes::consume(&mut tx, app, target, CodePurpose::ChangeEmail, code).await? {
        tx.rollback().await?;
        return Err(codes::count_wrong(app, target, CodePurpose::ChangeEmail).await?);
    }
    accounts::set_email(
        &mut tx,
        a.id(),
        &app.vault.seal_str(Field::Email, email.as_str()),
        &app.vault.lookup(Field::Email, email.as_str()),
    )
    .await?;
    log(&mut tx, app, a, "email_changed").await?;
    tell_old_contacts(&mut tx, app, a, "邮箱", &crate::flows::applicant::mask_email(email.as_str())).await?;
    tx.commit().await?;
    Ok(())
}

/// A contact changed in the personal centre is announced to the phone and email the account
/// had before the change (whichever it has), so a stolen session cannot quietly move the
/// account's recovery channels.
async fn tell_old_contacts(tx: &mut Tx, app: &App, a: &Applicant, what: &str, new_masked: &str) -> AppResult<()> {
    let when = crate::clock::beijing_minutes(app.clock.unix());
    if let Some(phone) = a.phone(app)? {
        let text = format!(
            "【中国教师资格网】您的账号于{when}在个人中心将绑定的{what}修改为{new_masked}。如非本人操作，请立即使用“忘记密码”重置密码。"
        );
        notify::queue(tx, app, &Message::sms_notice(&phone, text)).await?;
    }
    if let Some(email) = a.email(app)? {
        let text = format!(
            "您好：\n\n您在中国教师资格网的账号于{when}（北京时间）在个人中心将绑定的{what}修改为{new_masked}。\n\n如果这是您本人的操作，请忽略本邮件。如非本人操作，请立即使用“忘记密码”重置密码。\n\n中国教师资格网"
        );
        notify::queue(tx, app, &Message::email(&email, "中国教师资格网：您的账号联系方式已修改", text)).await?;
    }
    Ok(())
}

/// The business entry gate (RN-1): where an applicant may go, or why not.
pub fn entry_gate(app: &App, a: &Applicant, entry: crate::flows::applicant::Entry) -> AppResult<String> {
    if !a.profile_complete() {
        return Err(AppError::new(ErrorCode::ProfileIncomplete, "请先完善个人信息，再办理业务。"));
    }
    if !a.realname().unlocks_business() {
        return Err(AppError::new(ErrorCode::RealnameRequired, "您还未进行实名认证，需进入“个人信息中心”完成实名认证，再办理业务！"));
    }
    let entries = &app.config.entries;
    Ok(match entry {
        crate::flows::applicant::Entry::Certification => entries.certification_url.clone(),
        crate::flows::applicant::Entry::Renewal => entries.renewal_url.clone(),
    })
}
