//! 修改账号绑定的联系方式 (CC-1..3): from step 2 of recovery, an applicant
//! whose bound email or phone no longer works asks staff to change it:
//! the new value with a code sent to it, a handheld-ID photo and a reason.
//! Staff decide within one working day and the answer goes to the NEW
//! contact.

use serde::{Deserialize, Serialize};
use serde_json::json;

use jszg_domain::{Email, Phone};

use crate::app::App;
use crate::crypto::random_token;
use crate::error::{AppError, AppResult};
use crate::flows::applicant::{mask_email, mask_phone};
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
    AppError::conflict("change_pending", "您已提交修改联系方式申请，请耐心等待审核结果通知，在此期间不可反复提交修改申请。")
}

/// CC-2: whether this applicant may file a request at all.
pub async fn precheck(app: &App, recovery_id: &str) -> AppResult<crate::flows::applicant::Applicant> {
    let a = recovery::applicant(app, recovery_id).await?;
    if !enrollments::entries_of(&app.db, a.id()).await?.is_empty() {
        return Err(AppError::conflict(
            "enrolled_must_login",
            "您已进行认定或定期注册的报名，不允许提交修改联系方式申请，请登录账号后自行修改相应联系方式！",
        ));
    }
    if recoveries::pending_contact_change(&app.db, a.id()).await? {
        return Err(change_pending());
    }
    Ok(a)
}

/// CC-1, CC-2: file a change request. Checks come before the code is spent.
pub async fn request(
    app: &App,
    recovery_id: &str,
    kind: &str,
    new_value: &str,
    code: &str,
    reason: &str,
    handheld: Upload,
) -> AppResult<Requested> {
    let a = precheck(app, recovery_id).await?;
    let kind =
        ContactKind::parse(kind).ok_or_else(|| AppError::invalid("invalid_request", "kind", "请选择修改邮箱地址或修改手机号码。"))?;
    let reason = parse_reason(reason)?;
    let code = codes::parse_code(code)
        .ok_or_else(|| AppError::invalid("invalid_verification_code", "verification_code", "请输入6位数字验证码。"))?;
    let (phone, email);
    let (target, value) = match kind {
        ContactKind::Phone => {
            phone = Phone::parse(new_value).map_err(|e| AppError::invalid("invalid_phone", "new_value", e.to_string()))?;
            (Target::Sms(&phone), phone.as_str().to_owned())
        }
        ContactKind::Email => {
            email = Email::parse(new_value).map_err(|e| AppError::invalid("invalid_email", "new_value", e.to_string()))?;
            (Target::Email(&email), email.as_str().to_owned())
        }
    };
    // The code before the photo is decoded (API.md "Order of checks").
    codes::verify(app, target, CodePurpose::ContactChange, &code).await?;
    let handheld = app.photos.admit(handheld).await?;
    let id = random_token(12);
    let due = reviews::due_date(app, CONTACT_WORKING_DAYS);
    let payload = serde_json::to_vec(&ContactRequest { kind, new_value: value }).map_err(AppError::internal)?;
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
                reason: &reason,
            },
        )
        .await,
    )?;
    if inserted.is_none() {
        tx.rollback().await?;
        return Err(change_pending());
    }
    if !codes::consume(&mut tx, app, target, CodePurpose::ContactChange, &code).await? {
        tx.rollback().await?;
        return Err(codes::wrong_code());
    }
    store::insert_photo(&mut tx, &id, "handheld", &app.vault.seal(Field::Photo, handheld.bytes())).await?;
    audit::append(&mut tx, audit::Entry::by_applicant(app.clock.unix(), a.id(), "contact_change_submitted", &id)).await?;
    tx.commit().await?;
    Ok(Requested { id, due_date: due })
}

fn open(app: &App, review: &store::Review) -> AppResult<ContactRequest> {
    let bytes = app.vault.open(Field::Contact, &review.payload_enc)?;
    serde_json::from_slice(&bytes).map_err(AppError::internal)
}

/// What staff see of a request: the new contact in full, so they can judge it.
pub fn open_request_for_staff(app: &App, review: &store::Review) -> AppResult<serde_json::Value> {
    let r = open(app, review)?;
    let masked = match r.kind {
        ContactKind::Email => mask_email(&r.new_value),
        ContactKind::Phone => mask_phone(&r.new_value),
    };
    Ok(json!({ "kind": r.kind, "new_value": r.new_value, "new_value_masked": masked }))
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
                reason.unwrap_or("")
            );
            notify::queue(tx, app, &Message::email(&r.new_value, "中国教师资格网修改邮箱地址审核结果", text)).await?;
        }
        (ContactKind::Phone, false) => {
            let text = format!(
                "【中国教师资格网】您提交的修改手机号码申请审核不通过。不通过原因：{}。您可按照要求再次提交申请。",
                reason.unwrap_or("")
            );
            notify::queue(tx, app, &Message::sms_notice(&r.new_value, text)).await?;
        }
    }
    Ok(())
}
