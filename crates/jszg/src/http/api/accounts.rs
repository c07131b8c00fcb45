//! Registration (API.md "Accounts").

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use jszg_domain::{DocNumber, Email, PersonName, Phone};

use crate::app::App;
use crate::error::{ErrorCode, AppError, AppResult};
use crate::flows::registration::{parse_doc_type, parse_validity, Registered, RegistrationForm};
use crate::flows::upstream_login;
use crate::http::{ClientIp, Json};

pub fn router() -> Router<App> {
    Router::new().route("/api/v1/accounts", post(create)).route("/api/v1/accounts/checks", post(check))
}

#[derive(Serialize, ToSchema)]
pub struct ValidityView {
    #[schema(example = "10y")]
    pub period: String,
    #[schema(example = "2020-05-01")]
    pub start: String,
    /// Computed: start plus the period; null for 长期.
    #[schema(example = "2030-05-01")]
    pub end: Option<String>,
}

impl ValidityView {
    pub fn of(v: &jszg_domain::Validity) -> Self {
        Self {
            period: v.period().as_str().to_owned(),
            start: jszg_domain::format_date(v.start()),
            end: v.end().map(jszg_domain::format_date),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AccountSummary {
    pub doc_type: String,
    #[schema(example = "11*****1X")]
    pub doc_number_masked: String,
    pub name: String,
    pub validity: ValidityView,
}

#[derive(Serialize, ToSchema)]
pub struct AccountCreated {
    pub account: AccountSummary,
    /// Present when the number as typed was shortened (renewal or issue count dropped).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
}

impl AccountCreated {
    pub fn of(r: &Registered) -> Self {
        Self {
            account: AccountSummary {
                doc_type: r.doc.doc_type().as_str().to_owned(),
                doc_number_masked: r.doc.masked(),
                name: r.name.as_str().to_owned(),
                validity: ValidityView::of(&r.validity),
            },
            notice: r.notice.as_ref().map(|n| n.message().to_owned()),
        }
    }
}

#[utoipa::path(post, path = "/api/v1/accounts", tag = "accounts", request_body = crate::http::api::me::RegistrationFormDoc,
    responses((status = 201, body = AccountCreated),
              (status = 422, description = "invalid_doc_number, invalid_name, invalid_validity, document_expired, weak_password, password_mismatch, invalid_email, invalid_phone, invalid_verification_code, terms_not_accepted", body = crate::error::ErrorBody),
              (status = 409, description = "account_exists; validity_warning (with expected_period)", body = crate::error::ErrorBody)))]
pub async fn create(
    State(app): State<App>,
    ClientIp(source): ClientIp,
    headers: axum::http::HeaderMap,
    Json(form): Json<RegistrationForm>,
) -> AppResult<(StatusCode, axum::Json<AccountCreated>)> {
    let registration = form.parse(app.clock.today())?;
    let upstream = crate::http::session::cookie(&headers, upstream_login::PENDING_COOKIE);
    let registered = upstream_login::register(&app, registration, &source, upstream).await?;
    Ok((StatusCode::CREATED, axum::Json(AccountCreated::of(&registered))))
}

#[derive(serde::Deserialize, ToSchema)]
pub struct FieldCheck {
    /// `doc_number`, `name`, `validity`, `email` or `phone`. Anything but a string is a
    /// malformed request (422 `invalid_request`), not a verdict.
    #[serde(default)]
    #[schema(example = "doc_number")]
    pub field: Option<String>,
    #[serde(flatten)]
    #[schema(value_type = crate::http::api::me::RegistrationFormDoc)]
    pub form: RegistrationForm,
}

#[derive(Serialize, ToSchema)]
pub struct FieldVerdict {
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Something the applicant should know even though the value is accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
    /// The value as the server will store and check it (`name`, `doc_number`): the page shows
    /// this, not what was typed, where it asks the applicant to confirm (阿依古丽•买买提 →
    /// 阿依古丽·买买提).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// Check one field of the registration form with the server's own rules,
/// so the page can tell the applicant as they type. Nothing is stored.
#[utoipa::path(post, path = "/api/v1/accounts/checks", tag = "accounts", request_body = FieldCheck,
    responses((status = 200, body = FieldVerdict),
              (status = 422, description = "invalid_request: a field of another type than documented", body = crate::error::ErrorBody)))]
pub async fn check(State(app): State<App>, Json(raw): Json<Value>) -> AppResult<axum::Json<FieldVerdict>> {
    // Registration reads mistyped fields as missing, to name the field in its answer; a live
    // check of such a body has nothing to say about the field, so it is a malformed request.
    let body: FieldCheck = typed_as_documented(&raw)
        .then(|| serde_json::from_value(raw).ok())
        .flatten()
        .ok_or_else(|| AppError::invalid(ErrorCode::InvalidRequest, "body", "请求格式不正确，请检查后重新提交。"))?;
    let today = app.clock.today();
    let f = &body.form;
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    // (notice, value as stored)
    let result: Result<(Option<String>, Option<String>), AppError> = (|| match body.field.as_deref().unwrap_or("") {
        "doc_number" => {
            let doc_type = parse_doc_type(&text(&f.doc_type))?;
            let (doc, notice) = DocNumber::parse_with_notice(doc_type, &text(&f.doc_number), today)
                .map_err(|e| AppError::invalid(ErrorCode::InvalidDocNumber, "doc_number", e.to_string()))?;
            Ok((notice.map(|n| n.message().to_owned()), Some(doc.as_str().to_owned())))
        }
        "name" => {
            let doc_type = parse_doc_type(&text(&f.doc_type))?;
            let name =
                PersonName::parse(doc_type, &text(&f.name)).map_err(|e| AppError::invalid(ErrorCode::InvalidName, "name", e.to_string()))?;
            Ok((None, Some(name.as_str().to_owned())))
        }
        "validity" => {
            let doc_type = parse_doc_type(&text(&f.doc_type))?;
            let validity = parse_validity(doc_type, f.validity.as_ref(), today)?;
            let warning = DocNumber::parse(doc_type, &text(&f.doc_number), today)
                .ok()
                .and_then(|doc| doc.birth_date())
                .and_then(|birth| validity.age_warning(birth))
                .map(|expected| format!("提示：按您的出生日期，有效时间段一般应为“{}”，请核对证件。", expected.label_zh()));
            Ok((warning, None))
        }
        "email" => {
            Email::parse(&text(&f.email)).map_err(|e| AppError::invalid(ErrorCode::InvalidEmail, "email", e.to_string()))?;
            Ok((None, None))
        }
        "phone" => {
            Phone::parse(&text(&f.phone)).map_err(|e| AppError::invalid(ErrorCode::InvalidPhone, "phone", e.to_string()))?;
            Ok((None, None))
        }
        _ => Err(AppError::invalid(ErrorCode::InvalidRequest, "field", "未知的检查项。")),
    })();
    Ok(axum::Json(match result {
        Ok((notice, value)) => FieldVerdict { ok: true, message: None, notice, value },
        Err(err) => FieldVerdict { ok: false, message: Some(err.message.into_owned()), notice: None, value: None },
    }))
}

/// Whether every field of a registration form has the documented type: strings (or null), the
/// validity object of strings (or null), the two booleans.
fn typed_as_documented(body: &Value) -> bool {
    const TEXT: [&str; 10] =
        ["field", "doc_type", "doc_number", "name", "password", "password_confirm", "email", "phone", "verification_code", "verification_channel"];
    let Some(fields) = body.as_object() else { return false };
    crate::http::mistyped(body, &TEXT).is_none()
        && fields.iter().all(|(key, v)| match key.as_str() {
            "agree_terms" | "confirm_validity_warning" => v.is_boolean(),
            "validity" => v.is_null() || (v.is_object() && crate::http::mistyped(v, &["period", "start"]).is_none()),
            _ => true,
        })
}
