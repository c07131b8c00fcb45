//! The applicant's own data (API.md "Personal data (PRIV)").

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use serde::Serialize;
use utoipa::ToSchema;

use crate::app::App;
use crate::clock::rfc3339_at as rfc3339;
use crate::error::AppResult;
use crate::flows::my_data::{self, ExportSubmitted};
use crate::http::api::me::ValidityOut;
use crate::http::session::SignedIn;

pub fn router() -> Router<App> {
    Router::new().route("/api/v1/me/export", get(export)).route("/api/v1/me/access-log", get(access_log))
}

/// One staff access, as the applicant reads it.
#[derive(Serialize, ToSchema)]
pub struct Access {
    /// When (RFC 3339).
    pub at: String,
    /// Which role: `reviewer` or `admin` (the person stays anonymous), or the business system.
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

impl From<my_data::Access> for Access {
    fn from(a: my_data::Access) -> Self {
        Access { at: rfc3339(a.at), role: a.role, role_label: a.role_label, action: a.action, opened: a.opened, opened_label: a.opened_label, item: a.item }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ExportAccount {
    pub doc_type: &'static str,
    /// In full: this goes to the owner only.
    pub doc_number: String,
    pub name: String,
    pub validity: Option<ValidityOut>,
    pub registered_at: String,
    pub realname_status: String,
    pub profile_completed_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ExportProfile {
    pub sex: Option<&'static str>,
    pub birth_date: Option<String>,
    pub ethnicity: Option<String>,
    pub ethnicity_name: Option<String>,
    pub region: Option<String>,
    pub local_id_number: Option<String>,
    pub permit_number: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ExportContacts {
    pub email: Option<String>,
    pub phone: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ExportAttempts {
    pub day: String,
    pub used: i64,
}

#[derive(Serialize, ToSchema)]
pub struct ExportPhoto {
    pub slot: String,
    /// The JPEG as uploaded, base64.
    pub jpeg_base64: String,
}

#[derive(Serialize, ToSchema)]
pub struct ExportReview {
    pub id: String,
    pub kind: String,
    pub status: String,
    pub submitted_at: String,
    pub due_date: String,
    pub reason: String,
    /// What was submitted (identity data, or the new contact).
    #[schema(value_type = Object)]
    pub submitted: serde_json::Value,
    pub decision_reason: Option<String>,
    pub decided_at: Option<String>,
    /// The photos still held; empty once deleted under the retention rule.
    pub photos: Vec<ExportPhoto>,
    pub photos_deleted_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ExportEnrollment {
    pub entry: String,
    pub enrolled_at: String,
}

/// `GET /api/v1/me/export`.
#[derive(Serialize, ToSchema)]
pub struct Export {
    pub exported_at: String,
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

fn review(r: my_data::ExportReview) -> ExportReview {
    let submitted = match &r.submitted {
        ExportSubmitted::Identity(claim) => serde_json::to_value(claim).unwrap_or_default(),
        ExportSubmitted::ContactChange(request) => serde_json::to_value(request).unwrap_or_default(),
        ExportSubmitted::Unreadable => serde_json::Value::Null,
    };
    ExportReview {
        id: r.id,
        kind: r.kind,
        status: r.status,
        submitted_at: rfc3339(r.submitted_at),
        due_date: r.due_date,
        reason: r.reason,
        submitted,
        decision_reason: r.decision_reason,
        decided_at: r.decided_at.map(rfc3339),
        photos: r.photos.into_iter().map(|p| ExportPhoto { slot: p.slot, jpeg_base64: p.jpeg_base64 }).collect(),
        photos_deleted_at: r.photos_deleted_at.map(rfc3339),
    }
}

impl From<my_data::Export> for Export {
    fn from(e: my_data::Export) -> Self {
        let (a, p) = (e.account, e.profile);
        Export {
            exported_at: rfc3339(e.exported_at),
            account: ExportAccount {
                doc_type: a.doc_type,
                doc_number: a.doc_number,
                name: a.name,
                validity: a.validity.map(|v| ValidityOut { period: v.period, start: v.start, end: v.end }),
                registered_at: rfc3339(a.registered_at),
                realname_status: a.realname_status,
                profile_completed_at: a.profile_completed_at.map(rfc3339),
            },
            profile: ExportProfile {
                sex: p.sex,
                birth_date: p.birth_date,
                ethnicity: p.ethnicity,
                ethnicity_name: p.ethnicity_name,
                region: p.region,
                local_id_number: p.local_id_number,
                permit_number: p.permit_number,
            },
            contacts: ExportContacts { email: e.contacts.email, phone: e.contacts.phone },
            realname_attempts: e.realname_attempts.into_iter().map(|d| ExportAttempts { day: d.day, used: d.used }).collect(),
            reviews: e.reviews.into_iter().map(review).collect(),
            contact_changes: e.contact_changes.into_iter().map(review).collect(),
            enrollments: e.enrollments.into_iter().map(|x| ExportEnrollment { entry: x.entry, enrolled_at: rfc3339(x.enrolled_at) }).collect(),
            access_log: e.access_log.into_iter().map(Access::from).collect(),
        }
    }
}

/// Personal data never sits in a shared or browser cache.
const NO_STORE: (header::HeaderName, &str) = (header::CACHE_CONTROL, "no-store");

#[utoipa::path(get, path = "/api/v1/me/export", tag = "privacy",
    responses((status = 200, body = Export, description = "Everything held about the applicant, contacts in clear; Cache-Control: no-store"),
              (status = 401, description = "not_logged_in", body = crate::error::ErrorBody)))]
pub async fn export(State(app): State<App>, SignedIn(current): SignedIn) -> AppResult<Response> {
    let export = my_data::export(&app, &current.applicant).await?;
    Ok(([NO_STORE], axum::Json(Export::from(export))).into_response())
}

#[utoipa::path(get, path = "/api/v1/me/access-log", tag = "privacy",
    responses((status = 200, body = Vec<Access>, description = "Every staff access to the applicant's data, newest first"),
              (status = 401, description = "not_logged_in", body = crate::error::ErrorBody)))]
pub async fn access_log(State(app): State<App>, SignedIn(current): SignedIn) -> AppResult<Response> {
    let log = my_data::access_log(&app, &current.applicant).await?;
    Ok(([NO_STORE], axum::Json(log.into_iter().map(Access::from).collect::<Vec<_>>())).into_response())
}
