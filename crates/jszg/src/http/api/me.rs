//! The applicant as the API shows them (`GET /api/v1/me`, the profile update's answer and a
//! staff item's `profile`), and the request forms the flows read: their JSON shape and OpenAPI
//! description live here, the flows' types stay free of both.

use serde::Serialize;
use utoipa::ToSchema;

use jszg_domain::Sex;

use crate::flows::{profile, realname};

#[derive(Serialize, ToSchema)]
pub struct ValidityOut {
    /// `5y`, `10y`, `20y` or `long`.
    pub period: String,
    /// `YYYY-MM-DD`.
    pub start: String,
    /// `YYYY-MM-DD`; none for 长期.
    pub end: Option<String>,
}

/// The latest manual review of the applicant's identity.
#[derive(Serialize, ToSchema)]
pub struct ReviewSummary {
    pub id: String,
    /// `pending`, `approved` or `rejected`.
    pub status: &'static str,
    /// RFC 3339.
    pub submitted_at: String,
    /// `YYYY-MM-DD`.
    pub due_date: String,
    pub decision_reason: Option<String>,
    /// Applications left in the current review period (MR-2).
    pub remaining_in_period: i64,
}

#[derive(Serialize, ToSchema)]
pub struct RealnameOut {
    /// `none`, `verified`, `review_pending`, `review_approved`, `review_rejected`.
    pub status: &'static str,
    pub remaining_today: i64,
    pub review: Option<ReviewSummary>,
}

/// `GET /api/v1/me`.
#[derive(Serialize, ToSchema)]
pub struct Me {
    pub doc_type: String,
    pub doc_type_label: String,
    pub doc_number_masked: String,
    pub name: String,
    #[schema(value_type = Option<String>, example = "male")]
    pub sex: Option<Sex>,
    pub birth_date: Option<String>,
    pub ethnicity: Option<String>,
    pub ethnicity_name: Option<String>,
    /// 地区, derived from the number of a residence permit.
    pub region: Option<String>,
    pub local_id_number_masked: Option<String>,
    pub permit_number_masked: Option<String>,
    pub email_masked: Option<String>,
    pub phone_masked: Option<String>,
    pub validity: Option<ValidityOut>,
    pub profile_complete: bool,
    /// Fields the first-login form asks for, by document type.
    pub profile_fields: Vec<&'static str>,
    pub realname: RealnameOut,
    pub wechat_bound: bool,
    /// Linked to a 教育部账号 (LOGIN-5).
    pub upstream_linked: bool,
}

fn review(r: realname::ReviewSummary) -> ReviewSummary {
    ReviewSummary {
        id: r.id,
        status: r.status.as_str(),
        submitted_at: crate::clock::rfc3339_at(r.submitted_at),
        due_date: jszg_domain::format_date(r.due_date),
        decision_reason: r.decision_reason,
        remaining_in_period: r.remaining_in_period,
    }
}

impl From<profile::Me> for Me {
    fn from(m: profile::Me) -> Self {
        Me {
            doc_type: m.doc_type,
            doc_type_label: m.doc_type_label,
            doc_number_masked: m.doc_number_masked,
            name: m.name,
            sex: m.sex,
            birth_date: m.birth_date,
            ethnicity: m.ethnicity,
            ethnicity_name: m.ethnicity_name,
            region: m.region,
            local_id_number_masked: m.local_id_number_masked,
            permit_number_masked: m.permit_number_masked,
            email_masked: m.email_masked,
            phone_masked: m.phone_masked,
            validity: m.validity.map(|v| ValidityOut { period: v.period, start: v.start, end: v.end }),
            profile_complete: m.profile_complete,
            profile_fields: m.profile_fields,
            realname: RealnameOut {
                status: m.realname.status.as_str(),
                remaining_today: m.realname.remaining_today,
                review: m.realname.review.map(review),
            },
            wechat_bound: m.wechat_bound,
            upstream_linked: m.upstream_linked,
        }
    }
}

/// The OpenAPI description of `flows::profile::ProfileForm` (`PUT /api/v1/me/profile`).
#[derive(ToSchema)]
#[schema(as = ProfileForm)]
#[allow(dead_code, reason = "describes the body flows::profile::ProfileForm reads; never built")]
pub struct ProfileFormDoc {
    /// GB 3304 code, e.g. `"01"` 汉族.
    #[schema(example = "01")]
    pub ethnicity: Option<String>,
    /// `male` or `female` (permits only; derived for 18-character numbers).
    pub sex: Option<String>,
    /// `YYYY-MM-DD` (permits only).
    pub birth_date: Option<String>,
    /// 港澳台当地身份证件号码.
    pub local_id_number: Option<String>,
    /// 通行证号码 (residence permits).
    pub permit_number: Option<String>,
}

/// The OpenAPI description of `flows::registration::ValidityInput`.
#[derive(ToSchema)]
#[schema(as = ValidityInput)]
#[allow(dead_code, reason = "describes the body flows::registration::ValidityInput reads; never built")]
pub struct ValidityInputDoc {
    #[schema(example = "10y")]
    pub period: Option<String>,
    #[schema(example = "2020-05-01")]
    pub start: Option<String>,
}

/// The OpenAPI description of `flows::registration::RegistrationForm` (`POST /api/v1/accounts`).
#[derive(ToSchema)]
#[schema(as = RegistrationForm)]
#[allow(dead_code, reason = "describes the body flows::registration::RegistrationForm reads; never built")]
pub struct RegistrationFormDoc {
    #[schema(example = "resident_id")]
    pub doc_type: Option<String>,
    pub doc_number: Option<String>,
    pub name: Option<String>,
    pub validity: Option<ValidityInputDoc>,
    pub password: Option<String>,
    pub password_confirm: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub verification_code: Option<String>,
    /// Where the code came from: `sms` (the default) or `wechat` (the service account, CODE-3).
    #[schema(example = "sms")]
    pub verification_channel: Option<String>,
    #[schema(required = false)]
    pub agree_terms: bool,
    #[schema(required = false)]
    pub confirm_validity_warning: bool,
}
