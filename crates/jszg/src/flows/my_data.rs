//! 我的数据 (PRIV-2, PIPL art. 45): an applicant downloads everything held
//! about them and sees every staff access to their data. The access list
//! comes from the audit log alone, so it cannot drift from what was audited.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use time::OffsetDateTime;

use crate::app::App;
use crate::error::AppResult;
use crate::flows::applicant::Applicant;
use crate::flows::profile::ValidityOut;
use crate::store::{audit, personal, reviews};
use crate::vault::Field;

use crate::flows::contact_change::ContactRequest;
use crate::flows::reviews::IdentityClaim;

fn at(unix: i64) -> OffsetDateTime {
    crate::clock::instant(unix)
}

/// One staff access, as the applicant reads it.
#[derive(Clone)]
pub struct Access {
    pub at: OffsetDateTime,
    /// Which role: `reviewer` or `admin` (the person stays anonymous).
    pub role: String,
    pub role_label: String,
    /// The audit action, e.g. `review_viewed`, `photo_viewed`.
    pub action: String,
    /// What was opened: `doc_number` (the full number), `photo`, `review` (the submitted material).
    pub opened: Vec<&'static str>,
    /// The same in Chinese: 完整证件号码, 照片, 审核材料.
    pub opened_label: String,
    /// The review, contact change or claim it concerned.
    pub item: Option<String>,
}

fn role_label(role: &str) -> &'static str {
    match role {
        "admin" => "管理员",
        "reviewer" => "审核员",
        _ => "工作人员",
    }
}

fn slot_label(slot: &str) -> &'static str {
    match slot {
        "front" => "证件正面照片",
        "back" => "证件背面照片",
        "handheld" => "手持证件照片",
        _ => "照片",
    }
}

/// The claims single sign-on may give a business, with what the applicant reads.
const DISCLOSABLE: [(&str, &str); 10] = [
    ("sub", "账号标识"),
    ("name", "姓名"),
    ("doc_type", "证件类型"),
    ("doc_number", "完整证件号码"),
    ("realname_status", "实名认证状态"),
    ("sex", "性别"),
    ("birth_date", "出生日期"),
    ("ethnicity", "民族"),
    ("email", "邮箱"),
    ("phone_number", "手机号码"),
];

fn business_label(client: &str) -> &'static str {
    match client {
        "certification" => "教师资格认定系统",
        "renewal" => "中小学教师资格定期注册系统",
        _ => "业务系统",
    }
}

/// What each staff action opened. Opening an item shows its material and
/// the full document number beside it; decisions are listed as what they are.
fn describe(action: &str, detail: &str) -> (Vec<&'static str>, String) {
    let mut words = detail.split_whitespace();
    let _item = words.next();
    match action {
        "review_viewed" => (vec!["review", "doc_number"], "审核材料、完整证件号码".into()),
        "photo_viewed" => (vec!["photo"], slot_label(words.next().unwrap_or("")).into()),
        "doc_number_viewed" => (vec!["doc_number"], "完整证件号码".into()),
        // Single sign-on (SSO-4, PRIV-2): `client claim,claim,…`.
        "sso_claims_disclosed" => {
            let claims: Vec<&'static str> =
                words.next().unwrap_or("").split(',').filter_map(|c| DISCLOSABLE.iter().find(|(k, _)| *k == c).map(|(k, _)| *k)).collect();
            let label = claims.iter().filter_map(|c| DISCLOSABLE.iter().find(|(k, _)| k == c).map(|(_, l)| *l)).collect::<Vec<_>>().join("、");
            (claims, label)
        }
        a if a.ends_with("_approved") => (Vec::new(), "审核决定：通过".into()),
        a if a.ends_with("_rejected") => (Vec::new(), "审核决定：不通过".into()),
        _ => (Vec::new(), "其他操作".into()),
    }
}

/// `GET /api/v1/me/access-log`: every staff access, newest first.
pub async fn access_log(app: &App, a: &Applicant) -> AppResult<Vec<Access>> {
    let rows = personal::staff_accesses(&app.db, a.id(), 10_000).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let (opened, opened_label) = describe(&r.action, &r.detail);
            let business = (r.action == "sso_claims_disclosed").then(|| r.detail.split_whitespace().next().unwrap_or("").to_owned());
            let role = business.clone().or(r.role).unwrap_or_else(|| "staff".into());
            Access {
                at: at(r.at),
                role_label: match &business {
                    Some(client) => business_label(client).into(),
                    None => role_label(&role).into(),
                },
                role,
                action: r.action,
                opened,
                opened_label,
                item: if business.is_some() { None } else { r.detail.split_whitespace().next().map(str::to_owned) },
            }
        })
        .collect())
}

pub struct ExportAccount {
    pub doc_type: &'static str,
    /// In full: this goes to the owner only.
    pub doc_number: String,
    pub name: String,
    pub validity: Option<ValidityOut>,
    pub registered_at: OffsetDateTime,
    pub realname_status: String,
    pub profile_completed_at: Option<OffsetDateTime>,
}

pub struct ExportProfile {
    pub sex: Option<&'static str>,
    pub birth_date: Option<String>,
    pub ethnicity: Option<String>,
    pub ethnicity_name: Option<String>,
    pub region: Option<String>,
    pub local_id_number: Option<String>,
    pub permit_number: Option<String>,
}

pub struct ExportContacts {
    pub email: Option<String>,
    pub phone: Option<String>,
}

pub struct ExportAttempts {
    pub day: String,
    pub used: i64,
}

pub struct ExportPhoto {
    pub slot: String,
    /// The JPEG as uploaded, base64.
    pub jpeg_base64: String,
}

/// What an item's applicant submitted, as it was sealed.
pub enum ExportSubmitted {
    Identity(IdentityClaim),
    ContactChange(ContactRequest),
    /// A payload that does not open or read back (never expected).
    Unreadable,
}

pub struct ExportReview {
    pub id: String,
    pub kind: String,
    pub status: String,
    pub submitted_at: OffsetDateTime,
    pub due_date: String,
    pub reason: String,
    pub submitted: ExportSubmitted,
    pub decision_reason: Option<String>,
    pub decided_at: Option<OffsetDateTime>,
    /// The photos still held; empty once deleted under the retention rule.
    pub photos: Vec<ExportPhoto>,
    pub photos_deleted_at: Option<OffsetDateTime>,
}

pub struct ExportEnrollment {
    pub entry: String,
    pub enrolled_at: OffsetDateTime,
}

/// Everything held about the applicant (`GET /api/v1/me/export`).
pub struct Export {
    pub exported_at: OffsetDateTime,
    pub account: ExportAccount,
    pub profile: ExportProfile,
    pub contacts: ExportContacts,
    pub realname_attempts: Vec<ExportAttempts>,
    /// Identity reviews (and any other item with photos but contact changes).
    pub reviews: Vec<ExportReview>,
    pub contact_changes: Vec<ExportReview>,
    pub enrollments: Vec<ExportEnrollment>,
    pub access_log: Vec<Access>,
}

/// A review payload, whichever column binding it was sealed with.
fn open_payload(app: &App, kind: &str, sealed: &[u8]) -> ExportSubmitted {
    let bytes = [Field::Photo, Field::Contact].into_iter().find_map(|field| app.vault.open(field, sealed).ok());
    let Some(bytes) = bytes else { return ExportSubmitted::Unreadable };
    let read = match kind {
        "contact_change" => serde_json::from_slice(&bytes).ok().map(ExportSubmitted::ContactChange),
        _ => serde_json::from_slice(&bytes).ok().map(ExportSubmitted::Identity),
    };
    read.unwrap_or(ExportSubmitted::Unreadable)
}

pub async fn export(app: &App, a: &Applicant) -> AppResult<Export> {
    let open = |field: Field, value: &Option<Vec<u8>>| -> AppResult<Option<String>> {
        value.as_deref().map(|v| app.vault.open_str(field, v)).transpose().map_err(Into::into)
    };
    let row = &a.row;
    let ethnicity = a.ethnicity();
    let mut own_reviews = Vec::new();
    let mut contact_changes = Vec::new();
    let mut kept_photos = reviews::photos_of_account(&app.db, a.id()).await?;
    for r in reviews::history(&app.db, a.id()).await? {
        // A claim against this account holds the claimant's data and photos, not the holder's.
        if r.kind == "ownership_claim" {
            continue;
        }
        let mut photos = Vec::new();
        for (_, slot, sealed) in kept_photos.extract_if(.., |(review, _, _)| *review == r.id) {
            photos.push(ExportPhoto { jpeg_base64: B64.encode(app.vault.open(Field::Photo, &sealed)?), slot });
        }
        let item = ExportReview {
            submitted: open_payload(app, &r.kind, &r.payload_enc),
            id: r.id,
            status: r.status,
            submitted_at: at(r.submitted_at),
            due_date: r.due_date,
            reason: r.reason,
            decision_reason: r.decision_reason,
            decided_at: r.decided_at.map(at),
            photos,
            photos_deleted_at: r.photos_deleted_at.map(at),
            kind: r.kind,
        };
        if item.kind == "contact_change" {
            contact_changes.push(item);
        } else {
            own_reviews.push(item);
        }
    }
    let export = Export {
        exported_at: at(app.clock.unix()),
        account: ExportAccount {
            doc_type: a.doc_type().as_str(),
            doc_number: a.doc.as_str().into(),
            name: row.name.clone(),
            validity: a.validity().map(|v| ValidityOut {
                period: v.period().as_str().into(),
                start: jszg_domain::format_date(v.start()),
                end: v.end().map(jszg_domain::format_date),
            }),
            registered_at: at(row.registered_at),
            realname_status: row.realname_status.clone(),
            profile_completed_at: row.profile_completed_at.map(at),
        },
        profile: ExportProfile {
            sex: a.sex().map(|s| s.as_str()),
            birth_date: a.birth_date().map(jszg_domain::format_date),
            ethnicity: ethnicity.map(|e| e.code().to_owned()),
            ethnicity_name: ethnicity.map(|e| e.name_zh().to_owned()),
            region: a.doc.region().map(|r| r.label_zh().to_owned()),
            local_id_number: open(Field::LocalIdNumber, &row.local_id_enc)?,
            permit_number: open(Field::PermitNumber, &row.permit_number_enc)?,
        },
        contacts: ExportContacts { email: a.email(app)?, phone: a.phone(app)? },
        realname_attempts: personal::realname_attempts(&app.db, a.id())
            .await?
            .into_iter()
            .map(|d| ExportAttempts { day: d.day, used: d.used })
            .collect(),
        reviews: own_reviews,
        contact_changes,
        enrollments: personal::enrollments(&app.db, a.id())
            .await?
            .into_iter()
            .map(|e| ExportEnrollment { entry: e.entry, enrolled_at: at(e.enrolled_at) })
            .collect(),
        access_log: access_log(app, a).await?,
    };
    let mut tx = app.db.begin().await?;
    audit::append(&mut tx, &app.vault, audit::Entry::by_applicant(app.clock.unix(), a.id(), "data_exported", "")).await?;
    tx.commit().await?;
    Ok(export)
}
