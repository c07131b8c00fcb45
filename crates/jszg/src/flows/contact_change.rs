//! 修改账号绑定的联系方式 (CC-1..3): from step 2 of recovery, an applicant
//! whose bound email or phone no longer works asks staff to change it:
//! the new value with a code sent to it, a handheld-ID photo and a reason.
//! Staff decide within one working day and the answer goes to the NEW
//! contact.

use serde::{Deserialize, Serialize};

use jszg_domain::{Email, Phone, VerificationCode};

use crate::app::App;
use crate::crypto::random_token;
use crate::error::{ErrorCode, AppError, AppResult};
use crate::clock::beijing_minutes;
use crate::flows::applicant::{mask_email, mask_phone, Applicant};
use crate::flows::codes::{self, CodePurpose, Target};
use crate::flows::notify;
use crate::flows::recovery::{self, mail_reset_link};
use crate::adapters::photos::Upload;
use crate::flows::reviews::{self, parse_reason, Kind, CONTACT_WORKING_DAYS};
use crate::message::Message;
use crate::store::{accounts, audit, enrollments, recoveries, reviews as store, unless_taken, Tx};
use crate::vault::Field;

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ContactKind {
    Email,
    Phone,
}

impl ContactKind {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim() {
            "email" => Some(Self::Email),
            "phone" => Some(Self::Phone),
            _ => None,
        }
    }
}

/// What the applicant asked for, sealed in the review payload.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct ContactRequest {
    pub kind: ContactKind,
    pub new_value: String,
}

pub struct Requested {
    pub id: String,
    pub due_date: String,
}

fn change_pending() -> AppError {
    AppError::new(ErrorCode::ChangePending, "您已提交修改联系方式申请，请耐心等待审核结果通知，在此期间不可反复提交修改申请。")
}

/// CC-2: whether this applicant may file a request at all.
pub async fn precheck(app: &App, recovery_id: &str) -> AppResult<crate::flows::applicant::Applicant> {
    let a = recovery::applicant(app, recovery_id).await?;
    if !enrollments::entries_of(&app.db, a.id()).await?.is_empty() {
        return Err(AppError::new(
            ErrorCode::EnrolledMustLogin,
            "您已进行认定或定期注册的报名，不允许提交修改联系方式申请，请登录账号后自行修改相应联系方式！",
        ));
    }
    if recoveries::pending_contact_change(&app.db, a.id()).await? {
        return Err(change_pending());
    }
    Ok(a)
}

/// CC-1's form, parsed: the contact to change, its new value, the code sent to that new value,
/// and the applicant's reason.
pub struct ChangeRequest {
    pub new: NewContact,
    pub code: VerificationCode,
    pub reason: String,
}

pub enum NewContact {
    Phone(Phone),
    Email(Email),
}

impl ChangeRequest {
    pub fn parse(kind: &str, new_value: &str, code: &str, reason: &str) -> AppResult<ChangeRequest> {
        let kind =
            ContactKind::parse(kind).ok_or_else(|| AppError::invalid(ErrorCode::InvalidRequest, "kind", "请选择修改邮箱地址或修改手机号码。"))?;
        let reason = parse_reason(reason)?;
        let code = codes::read_code(code, "verification_code")?;
        let new = match kind {
            ContactKind::Phone => NewContact::Phone(
                Phone::parse(new_value).map_err(|e| AppError::invalid(ErrorCode::InvalidPhone, "new_value", e.to_string()))?,
            ),
            ContactKind::Email => NewContact::Email(
                Email::parse(new_value).map_err(|e| AppError::invalid(ErrorCode::InvalidEmail, "new_value", e.to_string()))?,
            ),
        };
        Ok(ChangeRequest { new, code, reason })
    }
}

/// CC-1, CC-2: file a change request. Checks come before the code is spent.
pub async fn request(app: &App, recovery_id: &str, form: &ChangeRequest, handheld: Upload) -> AppResult<Requested> {
    let a = precheck(app, recovery_id).await?;
    let ChangeRequest { new, code, reason } = form;
    let (kind, target, value) = match new {
        NewContact::Phone(phone) => (ContactKind::Phone, Target::Sms(phone), phone.as_str().to_owned()),
        NewContact::Email(email) => (ContactKind::Email, Target::Email(email), email.as_str().to_owned()),
    };
    // The code before the photo is decoded (API.md "Order of checks").
    codes::verify(app, target, CodePurpose::ContactChange, code).await?;
    let handheld = app.photos.admit(handheld).await?;
    let id = random_token(12);
    let due = reviews::due_date(app, CONTACT_WORKING_DAYS);
    let payload = serde_json::to_vec(&ContactRequest { kind, new_value: value.clone() }).map_err(AppError::internal)?;
    let mut tx = app.db.begin().await?;
    let inserted = unless_taken(
        store::insert(
            &mut tx,
            store::NewReview {
                id: &id,
                kind: Kind::ContactChange.as_str(),
                account_id: a.id(),
                submitted_at: app.clock.unix(),
                due_date: &due,
                period_key: None,
                payload_enc: &app.vault.seal(Field::Contact, &payload),
                reason,
            },
        )
        .await,
    )?;
    if inserted.is_none() {
        tx.rollback().await?;
        return Err(change_pending());
    }
    if !codes::consume(&mut tx, app, target, CodePurpose::ContactChange, code).await? {
        tx.rollback().await?;
        return Err(codes::wrong_code());
    }
    store::insert_photo(&mut tx, &id, "handheld", &app.vault.seal(Field::Photo, handheld.bytes())).await?;
    audit::append(&mut tx, &app.vault, audit::Entry::by_applicant(app.clock.unix(), a.id(), "contact_change_submitted", &id)).await?;
    announce(&mut tx, app, &a, &id, kind, &value).await?;
    tx.commit().await?;
    app.wake_outbox();
    Ok(Requested { id, due_date: due })
}

/// A withdrawal link lives as long as any request could stay pending.
const CANCEL_TTL: i64 = 14 * 86_400;

impl ContactKind {
    pub fn label(self) -> &'static str {
        match self {
            Self::Email => "邮箱地址",
            Self::Phone => "手机号码",
        }
    }

    fn masked(self, value: &str) -> String {
        match self {
            Self::Email => mask_email(value),
            Self::Phone => mask_phone(value),
        }
    }
}

/// Tell the account's current phone and email at once what was asked, when, and how to stop
/// it: someone who knows a number and its name (both semi-public) could otherwise replace the
/// phone while its owner hears nothing until the account is gone. Each channel gets a link of
/// its own, so staff see which one was used.
async fn announce(tx: &mut Tx, app: &App, a: &Applicant, id: &str, kind: ContactKind, new_value: &str) -> AppResult<()> {
    let now = app.clock.unix();
    let when = beijing_minutes(now);
    let (what, new) = (kind.label(), kind.masked(new_value));
    for (channel, to) in [("phone", a.phone(app)?), ("email", a.email(app)?)] {
        let Some(to) = to else { continue };
        let token = random_token(24);
        store::insert_cancel(tx, &cancel_hash(app, &token), id, channel, now + CANCEL_TTL).await?;
        let link = format!("{}/contact-changes/cancel?token={token}", app.config.public_url());
        let message = if channel == "phone" {
            Message::sms_notice(
                &to,
                format!(
                    "【中国教师资格网】您的账号于{when}提交了修改{what}申请（新{what}：{new}），正在等待审核。如非本人操作，请打开{link}撤销申请，或登录账号在个人中心撤销。"
                ),
            )
        } else {
            Message::email(
                &to,
                "中国教师资格网：您的账号提交了修改联系方式申请",
                format!(
                    "您好：\n\n您在中国教师资格网的账号于{when}（北京时间）提交了修改{what}申请，新{what}为{new}，正在等待工作人员审核，审核通过后账号绑定的{what}将被修改。\n\n如果这是您本人的操作，请忽略本邮件。\n如非本人操作，请立即打开以下链接撤销该申请：\n{link}\n也可以登录账号，在个人中心撤销。\n\n中国教师资格网"
                ),
            )
        };
        notify::queue(tx, app, &message).await?;
    }
    Ok(())
}

fn cancel_hash(app: &App, token: &str) -> Vec<u8> {
    app.vault.mac(&[b"contact_change_cancel", token.as_bytes()])
}

/// A pending contact change of the account, as the personal centre shows it.
#[derive(Clone, Debug)]
pub struct Pending {
    pub id: String,
    pub kind: ContactKind,
    pub submitted_at: i64,
    pub new_value_masked: String,
}

pub async fn pending_of(app: &App, account_id: i64) -> AppResult<Option<Pending>> {
    let Some(review) = store::pending(&app.db, account_id, Kind::ContactChange.as_str()).await? else {
        return Ok(None);
    };
    let r = open(app, &review)?;
    Ok(Some(Pending { id: review.id, kind: r.kind, submitted_at: review.submitted_at, new_value_masked: r.kind.masked(&r.new_value) }))
}

/// How a withdrawal came about, as staff read it in the item's decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WithdrawnBy {
    Login,
    PhoneLink,
    EmailLink,
}

impl WithdrawnBy {
    fn text(self) -> &'static str {
        match self {
            Self::Login => "账号持有人登录后在个人中心撤销了该申请",
            Self::PhoneLink => "账号持有人通过原绑定手机号码收到的短信链接撤销了该申请",
            Self::EmailLink => "账号持有人通过原绑定邮箱收到的邮件链接撤销了该申请",
        }
    }
}

fn not_pending() -> AppError {
    AppError::new(ErrorCode::TokenInvalid, "该修改联系方式申请已审核完毕、已撤销或链接已失效，无需再撤销。")
}

async fn withdraw(app: &App, review: &store::Review, by: WithdrawnBy) -> AppResult<()> {
    let mut tx = app.db.begin().await?;
    if !store::withdraw(&mut tx, &review.id, by.text(), app.clock.unix()).await? {
        tx.rollback().await?;
        return Err(not_pending());
    }
    let detail = format!("{} {:?}", review.id, by);
    audit::append(&mut tx, &app.vault, audit::Entry::by_applicant(app.clock.unix(), review.account_id, "contact_change_withdrawn", &detail)).await?;
    tx.commit().await?;
    tracing::info!(account_id = review.account_id, ?by, "contact change withdrawn by the account holder");
    Ok(())
}

/// The signed-in holder withdraws their account's pending request.
pub async fn withdraw_signed_in(app: &App, a: &Applicant, id: &str) -> AppResult<()> {
    let review = store::find(&app.db, id).await?.filter(|r| r.account_id == a.id() && r.kind == Kind::ContactChange.as_str());
    let review = review.ok_or_else(|| AppError::new(ErrorCode::NotFound, "没有这条修改联系方式申请。"))?;
    withdraw(app, &review, WithdrawnBy::Login).await
}

/// What a withdrawal link is about, for the page that asks before withdrawing.
pub async fn by_cancel_link(app: &App, token: &str) -> AppResult<(store::Review, Pending, WithdrawnBy)> {
    if token.is_empty() || token.len() > 64 {
        return Err(not_pending());
    }
    let (review_id, channel) = store::cancel_link(&app.db, &cancel_hash(app, token), app.clock.unix()).await?.ok_or_else(not_pending)?;
    let review = store::find(&app.db, &review_id).await?.filter(|r| r.status == "pending").ok_or_else(not_pending)?;
    let r = open(app, &review)?;
    let pending = Pending { id: review.id.clone(), kind: r.kind, submitted_at: review.submitted_at, new_value_masked: r.kind.masked(&r.new_value) };
    let by = if channel == "phone" { WithdrawnBy::PhoneLink } else { WithdrawnBy::EmailLink };
    Ok((review, pending, by))
}

/// Withdraw by the link sent to the current phone or email.
pub async fn withdraw_by_link(app: &App, token: &str) -> AppResult<()> {
    let (review, _, by) = by_cancel_link(app, token).await?;
    withdraw(app, &review, by).await
}

fn open(app: &App, review: &store::Review) -> AppResult<ContactRequest> {
    let bytes = app.vault.open(Field::Contact, &review.payload_enc)?;
    serde_json::from_slice(&bytes).map_err(AppError::internal)
}

/// What staff see of a request: the new contact in full, so they can judge it.
pub struct RequestForStaff {
    pub kind: ContactKind,
    pub new_value: String,
    pub new_value_masked: String,
}

pub fn open_request_for_staff(app: &App, review: &store::Review) -> AppResult<RequestForStaff> {
    let r = open(app, review)?;
    let new_value_masked = match r.kind {
        ContactKind::Email => mask_email(&r.new_value),
        ContactKind::Phone => mask_phone(&r.new_value),
    };
    Ok(RequestForStaff { kind: r.kind, new_value: r.new_value, new_value_masked })
}

/// CC-3: apply a decision and tell the NEW contact.
pub async fn apply_decision(tx: &mut Tx, app: &App, review: &store::Review, approve: bool, reason: Option<&str>) -> AppResult<()> {
    let r = open(app, review)?;
    let account = review.account_id;
    match (r.kind, approve) {
        (ContactKind::Email, true) => {
            accounts::set_email(
                tx,
                account,
                &app.vault.seal_str(Field::Email, &r.new_value),
                &app.vault.lookup(Field::Email, &r.new_value),
            )
            .await?;
            mail_reset_link(tx, app, account, &r.new_value, "您提交的修改邮箱地址申请已审核通过，账号绑定邮箱已修改为本邮箱。").await?;
        }
        (ContactKind::Phone, true) => {
            accounts::set_phone(
                tx,
                account,
                &app.vault.seal_str(Field::Phone, &r.new_value),
                &app.vault.lookup(Field::Phone, &r.new_value),
            )
            .await?;
            let text = "【中国教师资格网】您提交的修改手机号码申请已审核通过，账号绑定手机号已修改为本号码。请使用“忘记密码”的“短信验证重置密码”功能重置密码。".to_owned();
            notify::queue(tx, app, &Message::sms_notice(&r.new_value, text)).await?;
        }
        (ContactKind::Email, false) => {
            let text = format!(
                "您好：\n\n您提交的修改邮箱地址申请审核不通过。不通过原因：{}。\n您可按照要求再次提交修改邮箱地址申请。\n\n中国教师资格网",
                reviews::clause(reason.unwrap_or(""))
            );
            notify::queue(tx, app, &Message::email(&r.new_value, "中国教师资格网修改邮箱地址审核结果", text)).await?;
        }
        (ContactKind::Phone, false) => {
            let text = format!(
                "【中国教师资格网】您提交的修改手机号码申请审核不通过。不通过原因：{}。您可按照要求再次提交申请。",
                reviews::clause(reason.unwrap_or(""))
            );
            notify::queue(tx, app, &Message::sms_notice(&r.new_value, text)).await?;
        }
    }
    Ok(())
}
