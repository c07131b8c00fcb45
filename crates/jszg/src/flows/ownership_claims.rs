//! 账号被占用 (REG-7): someone whose document number is already registered,
//! not by them, files an ownership claim: the registration data (phone
//! proven by an SMS code), the three photos of manual review and a reason.
//! Staff decide within seven working days. Approval archives the holder's
//! account and creates the claimant's in one transaction; rejection tells
//! the claimant why.
//!
//! A claim lives in the review queue (`kind = ownership_claim`,
//! `account_id` = the holder), so one pending claim per number is the
//! queue's partial unique index, and a decision is won by exactly one
//! reviewer. Nothing of the claim becomes an account before approval; the
//! password is hashed at once and kept only sealed in the claim.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::adapters::authority::Answer;
use crate::app::App;
use crate::crypto::random_token;
use crate::error::{ErrorCode, AppError, AppResult};
use crate::flows::applicant::{mask_email, mask_phone, Applicant, Entry, RealnameStatus};
use crate::flows::codes::{self, CodePurpose};
use crate::flows::notify;
use crate::flows::quotas::Source;
use crate::flows::registration::{check_validity_warning, Registration, LEGACY_CUTOFF};
use crate::adapters::photos::Upload;
use crate::flows::reviews::{self, Kind, IDENTITY_WORKING_DAYS};
use crate::message::{BusinessEvent, Message};
use crate::store::{accounts, audit, enrollments, ownership_claims as claim_store, reviews as store, throttles, unless_taken, Tx};
use crate::vault::{Field, Holder};

/// Claims per phone number, and per source address, in [`THROTTLE_WINDOW`].
pub const PER_PHONE: i64 = 3;
pub const PER_ADDRESS: i64 = 10;
pub const THROTTLE_WINDOW: i64 = 86_400;
/// `accounts.archived_reason` of an account that lost its number to a claim.
pub const ARCHIVED_REASON: &str = "ownership_claim";
/// Whom the archived holder should turn to.
const CONTACT: &str = "如有异议，请携带本人有效身份证件原件联系您所在地的教师资格认定机构";

/// What the former holder hears at login with that account's password.
pub const ARCHIVED_MESSAGE: &str =
    "经账号申诉审核，该证件号码属于他人，您注册的该账号已停用，不能再登录。如有异议，请携带本人有效身份证件原件联系您所在地的教师资格认定机构。";

/// What a claim asks for, sealed in the review payload (it holds the
/// claimant's personal data and, until decided, the password hash).
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct ClaimData {
    pub doc_type: String,
    pub doc_number: String,
    pub name: String,
    pub validity_period: String,
    pub validity_start: String,
    pub validity_end: Option<String>,
    pub email: String,
    pub phone: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_hash: Option<String>,
    /// The identity authority's answer for the claimant's name at
    /// submission: `match`, `mismatch` or `unavailable`.
    pub authority: String,
    pub authority_checked_at: i64,
}

pub struct ClaimApplication {
    pub registration: Registration,
    pub reason: String,
    pub front: Upload,
    pub back: Upload,
    pub handheld: Upload,
}

pub struct Submitted {
    pub id: String,
    pub due_date: String,
}

pub fn no_account() -> AppError {
    AppError::new(ErrorCode::NoAccount, "该证件号码尚未注册（或为2019年3月1日前注册的旧账号），无需申诉，请直接注册。")
}

pub fn claim_pending() -> AppError {
    AppError::new(ErrorCode::ClaimPending, "该证件号码已有一份账号申诉正在审核中，请耐心等待审核结果短信通知，审核期间不可重复提交。")
}

fn throttled(retry_after: i64) -> AppError {
    AppError::too_many(ErrorCode::TooManyAttempts, "账号申诉提交次数过多，请明天再试。", Some(retry_after))
}


/// REG-7: file a claim. Checks run before anything is spent or revealed: the SMS code first
/// (only someone who proved the phone learns whether the number is held, API.md "Order of
/// checks"); then the number must be held by a live, non-legacy account; the throttles; the
/// photos are decoded; the password hashed; then one transaction inserts the claim (the unique
/// index refuses a second pending one), spends the code and stores the sealed photos.
pub async fn submit(app: &App, form: ClaimApplication, source: &Source) -> AppResult<Submitted> {
    let reg = &form.registration;
    check_validity_warning(reg)?;
    let target = reg.code_target();
    codes::verify(app, target, CodePurpose::Register, &reg.code).await?;
    let holder = match accounts::find_live(&app.db, &app.vault.lookups(Field::DocNumber, reg.doc.as_str())).await? {
        Some(holder) if holder.registered_at >= LEGACY_CUTOFF => holder,
        // A legacy account is superseded by registering again (REG-4).
        _ => {
            codes::count_reveal(app, target, CodePurpose::Register).await?;
            return Err(no_account());
        }
    };
    if claim_store::pending_for(&app.db, holder.id).await? {
        codes::count_reveal(app, target, CodePurpose::Register).await?;
        return Err(claim_pending());
    }
    let now = app.clock.unix();
    let phone_key = app.vault.mac(&[b"claim_phone", reg.phone.as_str().as_bytes()]);
    let address_key = app.vault.mac(&[b"claim_address", source.address().as_bytes()]);
    for (scope, key, limit) in [("claim_phone", &phone_key, PER_PHONE), ("claim_address", &address_key, PER_ADDRESS)] {
        let (hits, window_end) = throttles::hit(&app.db, scope, key, now, THROTTLE_WINDOW).await?;
        if hits > limit {
            return Err(throttled(window_end - now));
        }
    }

    let photos = reviews::admit_photos(app, form.front, form.back, form.handheld).await?;
    let id = random_token(12);
    let password_hash = app.hasher.hash(reg.password.expose_secret()).await?;
    let answer = app.authority.verify(&reg.doc, &reg.name, &format!("claim-{id}")).await;
    if let Err(err) = &answer {
        tracing::warn!(error = %err, "authority unavailable for a claim; staff will see it unchecked");
    }
    let data = ClaimData {
        doc_type: reg.doc.doc_type().as_str().to_owned(),
        doc_number: reg.doc.as_str().to_owned(),
        name: reg.name.as_str().to_owned(),
        validity_period: reg.validity.period().as_str().to_owned(),
        validity_start: jszg_domain::format_date(reg.validity.start()),
        validity_end: reg.validity.end().map(jszg_domain::format_date),
        email: reg.email.as_str().to_owned(),
        phone: reg.phone.as_str().to_owned(),
        password_hash: Some(password_hash),
        authority: AuthorityAnswer::of(&answer).as_str().to_owned(),
        authority_checked_at: app.clock.unix(),
    };
    let payload = serde_json::to_vec(&data).map_err(AppError::internal)?;
    let due = reviews::due_date(app, IDENTITY_WORKING_DAYS);

    let mut tx = app.db.begin().await?;
    let inserted = unless_taken(
        store::insert(
            &mut tx,
            store::NewReview {
                id: &id,
                kind: Kind::OwnershipClaim.as_str(),
                account_id: holder.id,
                submitted_at: app.clock.unix(),
                due_date: &due,
                period_key: None,
                payload_enc: &app.vault.seal(Field::Contact, &payload),
                reason: &form.reason,
            },
        )
        .await,
    )?;
    if inserted.is_none() {
        tx.rollback().await?;
        return Err(claim_pending());
    }
    // Spent with the claim: a request that raced this one for the same code finds it gone.
    if !codes::consume(&mut tx, app, target, CodePurpose::Register, &reg.code).await? {
        tx.rollback().await?;
        return Err(codes::wrong_code());
    }
    for (slot, photo) in ["front", "back", "handheld"].into_iter().zip(&photos) {
        store::insert_photo(&mut tx, &id, slot, &app.vault.seal(Field::Photo, photo.bytes())).await?;
    }
    audit::append(&mut tx, &app.vault, audit::Entry {
            at: app.clock.unix(),
            actor_kind: "applicant",
            actor_id: None,
            account_id: Some(holder.id),
            action: "ownership_claim_submitted",
            detail: &format!("{id} authority={}", data.authority),
        },
    )
    .await?;
    tx.commit().await?;
    tracing::info!(holder = holder.id, authority = %data.authority, "ownership claim filed");
    Ok(Submitted { id, due_date: due })
}

pub fn open(app: &App, review: &store::Review) -> AppResult<ClaimData> {
    let bytes = app.vault.open(Field::Contact, &review.payload_enc)?;
    serde_json::from_slice(&bytes).map_err(AppError::internal)
}

/// What staff see of the claimant: the number in full (to compare with
/// the photos), contacts masked, never the password hash.
pub struct ClaimantForStaff {
    pub doc_type: String,
    pub doc_number: String,
    pub name: String,
    pub validity_period: String,
    pub validity_start: String,
    pub validity_end: Option<String>,
    pub phone_masked: String,
    pub email_masked: String,
}

pub fn claimant_for_staff(data: &ClaimData) -> ClaimantForStaff {
    ClaimantForStaff {
        doc_type: data.doc_type.clone(),
        doc_number: data.doc_number.clone(),
        name: data.name.clone(),
        validity_period: data.validity_period.clone(),
        validity_start: data.validity_start.clone(),
        validity_end: data.validity_end.clone(),
        phone_masked: mask_phone(&data.phone),
        email_masked: mask_email(&data.email),
    }
}

/// The identity authority's answer for a claimant's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthorityAnswer {
    Match,
    Mismatch,
    Unavailable,
}

impl AuthorityAnswer {
    fn of(answer: &Result<Answer, crate::adapters::authority::Unavailable>) -> Self {
        match answer {
            Ok(Answer::Match) => Self::Match,
            Ok(Answer::Mismatch) => Self::Mismatch,
            Err(_) => Self::Unavailable,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Match => "match",
            Self::Mismatch => "mismatch",
            Self::Unavailable => "unavailable",
        }
    }

    fn stored(raw: &str) -> Self {
        match raw {
            "match" => Self::Match,
            "mismatch" => Self::Mismatch,
            _ => Self::Unavailable,
        }
    }
}

/// The authority's answer and when it was given.
pub struct AuthorityEvidence {
    pub answer: AuthorityAnswer,
    pub checked_at: OffsetDateTime,
}

/// The authority's answer as staff see it. An answer that was unavailable
/// at submission is asked again now (not stored: evidence of the moment).
pub async fn authority_evidence(app: &App, review: &store::Review, data: &ClaimData) -> AppResult<AuthorityEvidence> {
    let stored = AuthorityAnswer::stored(&data.authority);
    if stored != AuthorityAnswer::Unavailable {
        return Ok(AuthorityEvidence { answer: stored, checked_at: crate::clock::instant(data.authority_checked_at) });
    }
    let doc_type: jszg_domain::DocType = data.doc_type.parse().map_err(|_| AppError::internal("unknown doc_type in claim"))?;
    let doc = jszg_domain::DocNumber::from_storage(doc_type, data.doc_number.clone());
    let name = jszg_domain::PersonName::from_storage(data.name.clone());
    let answer = app.authority.verify(&doc, &name, &format!("claim-{}-view", review.id)).await;
    Ok(AuthorityEvidence { answer: AuthorityAnswer::of(&answer), checked_at: app.clock.now() })
}

/// A staff decision on a claim, inside the caller's transaction (which has
/// already won the decision). Approval: the holder archived with its
/// sessions ended and its other pending items closed, the claimant's
/// account created, everyone concerned told through the outbox.
pub async fn apply_decision(
    tx: &mut Tx,
    app: &App,
    review: &store::Review,
    approve: bool,
    reason: Option<&str>,
    staff_id: i64,
) -> AppResult<()> {
    let mut data = open(app, review)?;
    let now = app.clock.unix();
    let masked = match data.doc_type.parse() {
        Ok(t) => jszg_domain::DocNumber::from_storage(t, data.doc_number.clone()).masked(),
        Err(_) => String::new(),
    };
    if !approve {
        let text = format!(
            "【中国教师资格网】您提交的证件号码{masked}的账号申诉审核不通过。不通过原因：{}。您可按要求补充材料后重新提交申诉。",
            crate::flows::reviews::clause(reason.unwrap_or(""))
        );
        notify::queue(tx, app, &Message::sms_notice(&data.phone, text)).await?;
    } else {
        approve_claim(tx, app, review, &data, &masked, staff_id, now).await?;
    }
    // The password hash has done its work (or is refused): drop it.
    data.password_hash = None;
    let payload = serde_json::to_vec(&data).map_err(AppError::internal)?;
    claim_store::set_payload(tx, &review.id, &app.vault.seal(Field::Contact, &payload)).await?;
    Ok(())
}

async fn approve_claim(
    tx: &mut Tx,
    app: &App,
    review: &store::Review,
    data: &ClaimData,
    masked: &str,
    staff_id: i64,
    now: i64,
) -> AppResult<()> {
    let holder = claim_store::account_any_tx(tx, review.account_id).await?.ok_or_else(|| AppError::internal("claimed account missing"))?;
    let holder = Applicant::open(app, holder.account)?;
    if claim_store::archive(tx, holder.id(), ARCHIVED_REASON, now).await? {
        let ended = claim_store::end_sessions(tx, holder.id()).await?;
        claim_store::close_pending_of(tx, holder.id(), &review.id, "该账号已因账号申诉审核通过而停用", staff_id, now).await?;
        log(tx, app, now, staff_id, holder.id(), "account_archived", &format!("{} sessions_ended={ended}", review.id)).await?;
        // The holder's bound contacts learn why, and whom to turn to.
        let text = format!("【中国教师资格网】经账号申诉审核，证件号码{masked}属于他人，您注册的该账号已停用。{CONTACT}。");
        if let Some(phone) = holder.phone(app)? {
            notify::queue(tx, app, &Message::sms_notice(&phone, text)).await?;
        }
        if let Some(email) = holder.email(app)? {
            let body = format!(
                "您好：\n\n证件号码{masked}的持有人提交了账号申诉（账号被占用），经工作人员核验证件照片和身份信息，确认该证件号码属于申诉人。您以该证件号码注册的账号已停用并归档保存，不能再登录，已登录的会话均已退出。\n\n{CONTACT}。\n\n中国教师资格网"
            );
            notify::queue(tx, app, &Message::email(&email, "中国教师资格网账号停用通知", body)).await?;
        }
        // Businesses where the archived account enrolled (SSO-3).
        for entry in enrollments::entries_of_tx(tx, holder.id()).await? {
            let event = BusinessEvent {
                kind: "applicant.account_archived",
                entry: &entry,
                doc_type: holder.doc_type().as_str(),
                doc_number: holder.doc.as_str(),
                name: &holder.row.name,
                reason: Some(ARCHIVED_REASON),
                resubmit_required: true,
                occurred_at: crate::clock::rfc3339(now),
            };
            notify::queue(tx, app, &event.message()).await?;
        }
    }

    let doc_hash = app.vault.lookup(Field::DocNumber, &data.doc_number);
    let password_hash = data.password_hash.as_deref().ok_or_else(|| AppError::internal("claim without password hash"))?;
    let created = unless_taken(
        accounts::insert(
            tx,
            accounts::NewAccount {
                doc_type: &data.doc_type,
                doc_hash: &doc_hash,
                doc_number_enc: &app.vault.seal_str(Field::DocNumber, &data.doc_number),
                name: &data.name,
                validity_period: Some(&data.validity_period),
                validity_start: Some(&data.validity_start),
                validity_end: data.validity_end.as_deref(),
                password_hash: Some(password_hash),
                email_enc: Some(&app.vault.seal_str(Field::Email, &data.email)),
                email_hash: Some(&app.vault.lookup(Field::Email, &data.email)),
                phone_enc: Some(&app.vault.seal_str(Field::Phone, &data.phone)),
                phone_hash: Some(&app.vault.lookup(Field::Phone, &data.phone)),
                registered_at: now,
            },
        )
        .await,
    )?;
    let Some(account_id) = created else {
        // Someone registered the number again meanwhile (after a legacy
        // supersede): the decision is not taken, the transaction rolls back.
        return Err(AppError::new(ErrorCode::AccountExists, "该证件号码已有新的注册账号，请刷新后重新核对。"));
    };
    accounts::set_password_tag(tx, account_id, password_hash, &app.vault.password_tag(Holder::Account, account_id, password_hash)).await?;
    log(tx, app, now, staff_id, account_id, "account_created_by_claim", &review.id).await?;
    let text = format!("【中国教师资格网】您提交的证件号码{masked}的账号申诉已审核通过，该账号已归您所有。请使用申诉时设置的密码登录。");
    notify::queue(tx, app, &Message::sms_notice(&data.phone, text)).await?;
    Ok(())
}

async fn log(tx: &mut Tx, app: &App, at: i64, staff_id: i64, account_id: i64, action: &str, detail: &str) -> AppResult<()> {
    audit::append(tx, &app.vault, audit::Entry { at, actor_kind: "staff", actor_id: Some(staff_id), account_id: Some(account_id), action, detail })
        .await?;
    Ok(())
}

/// The holder's account history for the reviewer: when it registered,
/// whether it is archived, its latest logins, real-name state and enrollments.
pub struct HolderHistory {
    pub registered_at: OffsetDateTime,
    pub archived_at: Option<OffsetDateTime>,
    pub archived_reason: Option<String>,
    pub realname_status: RealnameStatus,
    pub profile_completed_at: Option<OffsetDateTime>,
    /// Newest first: when, and through which entry (unknown entries left out).
    pub last_logins: Vec<(OffsetDateTime, Option<Entry>)>,
    pub enrollments: Vec<Entry>,
}

pub async fn holder_history(app: &App, account_id: i64) -> AppResult<Option<HolderHistory>> {
    let Some(any) = claim_store::account_any(&app.db, account_id).await? else {
        return Ok(None);
    };
    let logins = claim_store::last_logins(&app.db, account_id, 5).await?;
    let entries = enrollments::entries_of(&app.db, account_id).await?;
    let at = crate::clock::instant;
    Ok(Some(HolderHistory {
        registered_at: at(any.account.registered_at),
        archived_at: any.archived_at.map(at),
        archived_reason: any.archived_reason,
        realname_status: RealnameStatus::parse(&any.account.realname_status),
        profile_completed_at: any.account.profile_completed_at.map(at),
        last_logins: logins.iter().map(|(t, entry)| (at(*t), Entry::parse(entry))).collect(),
        enrollments: entries.iter().filter_map(|e| Entry::parse(e)).collect(),
    }))
}
