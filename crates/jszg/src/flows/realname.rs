//! 实名认证 (RN-1..6): three attempts per applicant per Beijing day against
//! the identity authority; an outage spends nothing; a success may carry a
//! new name (RN-6), which is saved only then and announced to the
//! businesses the applicant enrolled in.

use time::{Date, OffsetDateTime};

use jszg_domain::{DocType, PersonName};

use crate::app::App;
use crate::error::{ErrorCode, AppError, AppResult};
use crate::flows::applicant::review_pending;
use crate::flows::applicant::{Applicant, RealnameStatus};
use crate::flows::notify;
use crate::flows::reviews;
use crate::message::BusinessEvent;
use crate::store::{accounts, audit, enrollments, realname};

/// RN-3.
pub const DAILY_ATTEMPTS: i64 = 3;

pub async fn remaining_today(app: &App, account_id: i64) -> AppResult<i64> {
    let day = jszg_domain::format_date(app.clock.today());
    Ok((DAILY_ATTEMPTS - realname::used(&app.db, account_id, &day).await?).max(0))
}

/// Which day, review period and review kind the standing is read for.
pub struct StandingKeys {
    pub day: String,
    pub period_key: String,
    pub kind: &'static str,
}

impl StandingKeys {
    pub fn today(app: &App) -> Self {
        let today = app.clock.today();
        StandingKeys {
            day: jszg_domain::format_date(today),
            period_key: jszg_domain::ReviewPeriod::containing(today).key(),
            kind: reviews::Kind::Identity.as_str(),
        }
    }
}

/// Real-name attempts left today and the latest review, in one query (for `/api/v1/me`).
pub async fn standing(app: &App, a: &Applicant) -> AppResult<Standing> {
    let k = StandingKeys::today(app);
    Ok(Standing::from(crate::store::reviews::standing(&app.db, a.id(), &k.day, &k.period_key, k.kind).await?))
}

/// The latest manual review, as the applicant's standing shows it.
pub struct ReviewSummary {
    pub id: String,
    pub status: reviews::Status,
    pub submitted_at: OffsetDateTime,
    pub due_date: Date,
    pub decision_reason: Option<String>,
    /// Applications left in the current review period (MR-2).
    pub remaining_in_period: i64,
}

/// Real-name standing as `/api/v1/me` shows it.
pub struct Standing {
    pub remaining_today: i64,
    pub review: Option<ReviewSummary>,
    pub upstream_linked: bool,
    pub wechat_bound: bool,
}

impl From<crate::store::reviews::Standing> for Standing {
    fn from(s: crate::store::reviews::Standing) -> Self {
        let review = match (s.review_id, s.review_status, s.review_submitted_at, s.review_due_date) {
            (Some(id), Some(status), Some(submitted_at), Some(due_date)) => {
                // Both were written by us; a row that does not read back is left out, not shown wrong.
                match (reviews::Status::parse(&status), jszg_domain::parse_date(&due_date)) {
                    (Some(status), Some(due_date)) => Some(ReviewSummary {
                        id,
                        status,
                        submitted_at: crate::clock::instant(submitted_at),
                        due_date,
                        decision_reason: s.review_decision_reason,
                        remaining_in_period: (reviews::PERIOD_LIMIT - s.reviews_used).max(0),
                    }),
                    _ => None,
                }
            }
            _ => None,
        };
        Standing { remaining_today: (DAILY_ATTEMPTS - s.attempts_used).max(0), review, upstream_linked: s.upstream_linked, wechat_bound: s.wechat_bound }
    }
}

pub struct Verified {
    pub remaining_today: i64,
    pub name: String,
}

/// The guidance after a failed check (RN-5): the CTID guide for resident
/// IDs, and manual review for everybody.
pub fn failure_message(doc_type: DocType) -> &'static str {
    match doc_type {
        DocType::ResidentId => "实名认证不通过。请仔细核对姓名是否与证件完全一致，勿直接重复提交。如确认信息无误，可能是您的身份信息近期发生过变化，请参照《居民身份证网上功能凭证开通指南》开通CTID网证后再进行实名认证，或点击“申请人工审核”。",
        _ => "实名认证不通过。请仔细核对姓名是否与证件完全一致，勿直接重复提交。如确认信息无误，请点击“申请人工审核”，上传证件照片等材料等待人工审核。",
    }
}

/// The name a real-name check is for: the one on record, or (RN-6) a corrected one, which the name
/// rules of the applicant's document type must accept.
pub fn name_to_check(a: &Applicant, given: Option<&str>) -> AppResult<PersonName> {
    match given.map(str::trim).filter(|n| !n.is_empty()) {
        Some(raw) => PersonName::parse(a.doc_type(), raw).map_err(|e| AppError::invalid(ErrorCode::InvalidName, "name", e.to_string())),
        None => Ok(PersonName::from_storage(a.row.name.clone())),
    }
}

pub async fn verify(app: &App, a: &Applicant, name: PersonName) -> AppResult<Verified> {
    if a.realname() == RealnameStatus::ReviewPending {
        return Err(review_pending());
    }
    let now = app.clock.now();
    let day = jszg_domain::format_date(jszg_domain::beijing_date(now));
    let Some(used) = realname::take(&app.db, a.id(), &day, DAILY_ATTEMPTS).await? else {
        return Err(AppError::too_many(
            ErrorCode::DailyLimit,
            "每日您最多可进行三次实名认证，今日次数已用完，请于明日0点（北京时间）后再试。",
            Some(app.clock.secs_to_next_day()),
        )
        .with("remaining_today", 0));
    };
    let remaining = (DAILY_ATTEMPTS - used).max(0);
    let request_id = format!("rn-{}-{}-{}", a.id(), day, used);
    let answer = match app.authority.verify(&a.doc, &name, &request_id).await {
        Ok(answer) => answer,
        Err(err) => {
            tracing::warn!(error = %err, "real-name check not judged; attempt returned");
            realname::give_back(&app.db, a.id(), &day).await?;
            return Err(AppError::new(ErrorCode::AuthorityUnavailable, "实名认证服务暂时不可用，本次不计入认证次数，请稍后再试。")
                .with("remaining_today", remaining + 1));
        }
    };
    if answer == crate::adapters::authority::Answer::Mismatch {
        // A failed self-check changes nothing: an approved review stands (MR-5).
        let mut err = AppError::invalid(ErrorCode::RealnameFailed, "name", failure_message(a.doc_type())).with("remaining_today", remaining);
        if a.doc_type() == DocType::ResidentId {
            err = err.with("guide", "/guide/ctid");
        }
        return Err(err);
    }

    let renamed = name.as_str() != a.row.name;
    let mut tx = app.db.begin().await?;
    accounts::set_verified(&mut tx, a.id(), name.as_str()).await?;
    audit::append(&mut tx, &app.vault, audit::Entry::by_applicant(now.unix_timestamp(), a.id(), if renamed { "realname_verified_renamed" } else { "realname_verified" }, "")).await?;
    if renamed {
        // RN-6: a business the applicant enrolled in must have them resubmit.
        for entry in enrollments::entries_of_tx(&mut tx, a.id()).await? {
            let event = BusinessEvent {
                kind: "applicant.name_changed",
                entry: &entry,
                doc_type: a.doc_type().as_str(),
                doc_number: a.doc.as_str(),
                name: name.as_str(),
                reason: None,
                resubmit_required: true,
                occurred_at: crate::clock::rfc3339(now.unix_timestamp()),
            };
            notify::queue(&mut tx, app, &event.message()).await?;
        }
    }
    tx.commit().await?;
    if renamed {
        app.wake_outbox();
    }
    Ok(Verified { remaining_today: remaining, name: name.as_str().to_owned() })
}
