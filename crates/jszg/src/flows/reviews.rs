//! 人工审核 (MR-1..6): an applicant whose self-check failed sends the
//! identity data, three photos and a reason; staff decide within seven
//! working days. Photos must be real JPEGs under 190 KB (`adapters/photos.rs`), and are stored
//! sealed and without metadata, readable only through staff endpoints.

use serde::{Deserialize, Serialize};

use jszg_domain::{PersonName, ReviewPeriod, Validity};

use crate::adapters::photos::{Photo, Upload};
use crate::app::App;
use crate::crypto::random_token;
use crate::error::{ErrorCode, AppError, AppResult};
use crate::flows::applicant::review_pending;
use crate::flows::applicant::{Applicant, RealnameStatus};
use crate::flows::notify;
use crate::flows::registration::{parse_validity, ValidityInput};
use crate::message::Message;
use crate::store::{accounts, audit, reviews, unless_taken, Tx};
use crate::vault::Field;

/// MR-2: applications per period (1 Jan–31 Aug, 1 Sep–31 Dec).
pub const PERIOD_LIMIT: i64 = 3;
/// MR-3 and CC-3: working days staff have to decide.
pub const IDENTITY_WORKING_DAYS: u32 = 7;
pub const CONTACT_WORKING_DAYS: u32 = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Identity,
    ContactChange,
    /// 账号被占用 (REG-7): someone claims the number another account holds.
    OwnershipClaim,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Identity => "identity",
            Kind::ContactChange => "contact_change",
            Kind::OwnershipClaim => "ownership_claim",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "identity" => Some(Kind::Identity),
            "contact_change" => Some(Kind::ContactChange),
            "ownership_claim" => Some(Kind::OwnershipClaim),
            _ => None,
        }
    }
}

/// Where an item stands (`reviews.status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Pending,
    Approved,
    Rejected,
    /// A contact change stopped by the account holder through the link announced to them.
    Withdrawn,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Approved => "approved",
            Status::Rejected => "rejected",
            Status::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "pending" => Some(Status::Pending),
            "approved" => Some(Status::Approved),
            "rejected" => Some(Status::Rejected),
            "withdrawn" => Some(Status::Withdrawn),
            _ => None,
        }
    }

    /// A status read back from the database: anything else is a fault of ours, not the caller's.
    pub fn stored(raw: &str) -> AppResult<Self> {
        Self::parse(raw).ok_or_else(|| AppError::internal(format!("unknown review status {raw:?}")))
    }
}

impl Kind {
    /// A kind read back from the database.
    pub fn stored(raw: &str) -> AppResult<Self> {
        Self::parse(raw).ok_or_else(|| AppError::internal(format!("unknown review kind {raw:?}")))
    }
}

/// The three photos of an application, decoded (after every cheap check of the request) in
/// the bounded decoder.
pub async fn admit_photos(app: &App, front: Upload, back: Upload, handheld: Upload) -> AppResult<[Photo; 3]> {
    Ok([app.photos.admit(front).await?, app.photos.admit(back).await?, app.photos.admit(handheld).await?])
}

/// What an identity review asks staff to confirm.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct IdentityClaim {
    pub name: String,
    pub validity_period: String,
    pub validity_start: String,
    pub validity_end: Option<String>,
}

pub struct IdentityApplication {
    pub name: String,
    pub validity: ValidityInput,
    pub reason: String,
    pub front: Upload,
    pub back: Upload,
    pub handheld: Upload,
}

pub struct Submitted {
    pub id: String,
    pub due_date: String,
    pub remaining_in_period: i64,
}

/// A reviewer's reason as one clause: the sentence punctuation at its end removed, so every
/// message that quotes it ends in exactly one 。 (the messages add it), whichever channel.
pub fn clause(reason: &str) -> &str {
    reason.trim().trim_end_matches(|c: char| c.is_whitespace() || "。．.！!；;，,、".contains(c))
}

pub fn parse_reason(raw: &str) -> AppResult<String> {
    let reason = raw.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(AppError::invalid(ErrorCode::InvalidReason, "reason", "请填写申请原因（500字以内）。"));
    }
    Ok(reason.to_owned())
}

pub fn due_date(app: &App, working_days: u32) -> String {
    jszg_domain::format_date(app.calendar.add_working_days(app.clock.today(), working_days))
}

async fn log(
    tx: &mut Tx,
    app: &App,
    actor_kind: &str,
    actor_id: Option<i64>,
    account_id: i64,
    action: &str,
    detail: &str,
) -> AppResult<()> {
    audit::append(tx, &app.vault, audit::Entry { at: app.clock.unix(), actor_kind, actor_id, account_id: Some(account_id), action, detail }).await?;
    Ok(())
}

/// MR-1..4: file an identity review.
pub async fn submit_identity(app: &App, a: &Applicant, form: IdentityApplication) -> AppResult<Submitted> {
    if a.realname() == RealnameStatus::ReviewPending {
        return Err(review_pending());
    }
    let today = app.clock.today();
    let name = PersonName::parse(a.doc_type(), &form.name).map_err(|e| AppError::invalid(ErrorCode::InvalidName, "name", e.to_string()))?;
    let validity: Validity = parse_validity(a.doc_type(), Some(&form.validity), today)?;
    let reason = parse_reason(&form.reason)?;
    let claim = IdentityClaim {
        name: name.as_str().to_owned(),
        validity_period: validity.period().as_str().to_owned(),
        validity_start: jszg_domain::format_date(validity.start()),
        validity_end: validity.end().map(jszg_domain::format_date),
    };
    let period = ReviewPeriod::containing(today);
    let id = random_token(12);
    let due = due_date(app, IDENTITY_WORKING_DAYS);
    let payload = serde_json::to_vec(&claim).map_err(AppError::internal)?;
    let photos = admit_photos(app, form.front, form.back, form.handheld).await?;

    let mut tx = app.db.begin().await?;
    let Some(used) = reviews::take_quota(&mut tx, a.id(), &period.key(), PERIOD_LIMIT).await? else {
        tx.rollback().await?;
        return Err(AppError::too_many(
            ErrorCode::PeriodLimit,
            format!(
                "每年1月1日到8月31日、9月1日到12月31日，每个周期您最多可以申请三次人工审核。本周期（截至{}）的次数已用完。",
                jszg_domain::format_date(period.end())
            ),
            Some(
                (jszg_domain::next_beijing_midnight(period.end().midnight().assume_offset(jszg_domain::BEIJING)) - app.clock.now())
                    .whole_seconds(),
            ),
        ));
    };
    let inserted = unless_taken(
        reviews::insert(
            &mut tx,
            reviews::NewReview {
                id: &id,
                kind: Kind::Identity.as_str(),
                account_id: a.id(),
                submitted_at: app.clock.unix(),
                due_date: &due,
                period_key: Some(&period.key()),
                payload_enc: &app.vault.seal(Field::Photo, &payload),
                reason: &reason,
            },
        )
        .await,
    )?;
    if inserted.is_none() {
        tx.rollback().await?;
        return Err(review_pending());
    }
    for (slot, photo) in ["front", "back", "handheld"].into_iter().zip(&photos) {
        reviews::insert_photo(&mut tx, &id, slot, &app.vault.seal(Field::Photo, photo.bytes())).await?;
    }
    accounts::set_realname_status(&mut tx, a.id(), RealnameStatus::ReviewPending.as_str()).await?;
    log(&mut tx, app, "applicant", Some(a.id()), a.id(), "identity_review_submitted", &id).await?;
    tx.commit().await?;
    Ok(Submitted { id, due_date: due, remaining_in_period: (PERIOD_LIMIT - used).max(0) })
}

pub fn open_claim(app: &App, review: &reviews::Review) -> AppResult<IdentityClaim> {
    let bytes = app.vault.open(Field::Photo, &review.payload_enc)?;
    serde_json::from_slice(&bytes).map_err(AppError::internal)
}

/// The text an applicant reads about their latest review (MR-4..6).
pub fn status_text(status: RealnameStatus, decision_reason: Option<&str>) -> String {
    match status {
        RealnameStatus::ReviewPending => "您已提交人工审核，请耐心等待".to_owned(),
        RealnameStatus::ReviewApproved => "人工审核通过，可正常办理业务。如有需要，仍可进行实名认证。".to_owned(),
        RealnameStatus::ReviewRejected => format!("人工审核不通过。不通过原因：{}。", clause(decision_reason.unwrap_or(""))),
        RealnameStatus::Verified => "实名认证成功。".to_owned(),
        RealnameStatus::None => "您还未进行实名认证。".to_owned(),
    }
}

/// A staff decision on an identity review (MR-5, MR-6), inside the
/// caller's transaction, with the applicant told by SMS.
pub async fn apply_identity_decision(
    tx: &mut Tx,
    app: &App,
    review: &reviews::Review,
    approve: bool,
    reason: Option<&str>,
) -> AppResult<()> {
    let claim = open_claim(app, review)?;
    if approve {
        accounts::set_reviewed_identity(
            tx,
            review.account_id,
            &claim.name,
            &claim.validity_period,
            &claim.validity_start,
            claim.validity_end.as_deref(),
        )
        .await?;
    } else {
        accounts::set_realname_status(tx, review.account_id, RealnameStatus::ReviewRejected.as_str()).await?;
    }
    let Some(account) = accounts::find_by_id(&app.db, review.account_id).await? else {
        return Ok(());
    };
    let text = if approve {
        "【中国教师资格网】您提交的人工审核已通过，可正常办理业务。".to_owned()
    } else {
        format!("【中国教师资格网】您提交的人工审核不通过。不通过原因：{}。请按要求修改后重新提交。", clause(reason.unwrap_or("")))
    };
    if let Some(phone) = account.phone_enc.as_deref() {
        let to = app.vault.open_str(Field::Phone, phone)?;
        notify::queue(tx, app, &Message::sms_notice(&to, text)).await?;
    }
    Ok(())
}
