//! Ownership claims (API.md "Ownership claims: 账号被占用", REG-7).

use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use serde::Serialize;
use utoipa::ToSchema;

use crate::adapters::photos;
use crate::app::App;
use crate::error::AppResult;
use crate::flows::ownership_claims::{self, ClaimApplication};
use crate::flows::registration::{RegistrationForm, ValidityInput};
use crate::flows::reviews;
use crate::http::api::realname::{multipart_body, read_multipart};
use crate::http::ClientIp;

pub fn router() -> Router<App> {
    Router::new().route("/api/v1/ownership-claims", post(create).layer(crate::http::upload_limit()))
}

#[derive(Serialize, ToSchema)]
pub struct ClaimSubmitted {
    pub id: String,
    #[schema(example = "pending")]
    pub status: &'static str,
    pub due_date: String,
}

/// The multipart body of an ownership claim.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ClaimForm {
    doc_type: String,
    doc_number: String,
    name: String,
    validity_period: String,
    validity_start: String,
    password: String,
    password_confirm: String,
    email: String,
    phone: String,
    /// The SMS code sent to `phone` with purpose `register`.
    verification_code: String,
    /// `true`.
    agree_terms: String,
    /// `true` to accept a validity period that does not fit the age (after 409 `validity_warning`).
    confirm_validity_warning: Option<String>,
    reason: String,
    #[schema(value_type = String, format = Binary)]
    front: Vec<u8>,
    #[schema(value_type = String, format = Binary)]
    back: Vec<u8>,
    #[schema(value_type = String, format = Binary)]
    handheld: Vec<u8>,
}

fn truthy(raw: &str) -> bool {
    matches!(raw.trim().to_ascii_lowercase().as_str(), "true" | "1" | "on" | "yes")
}

#[utoipa::path(post, path = "/api/v1/ownership-claims", tag = "accounts",
    request_body(content = ClaimForm, content_type = "multipart/form-data"),
    responses((status = 201, body = ClaimSubmitted),
              (status = 409, description = "no_account (the number is free: register), claim_pending, validity_warning", body = crate::error::ErrorBody),
              (status = 422, description = "the registration codes (invalid_doc_number … terms_not_accepted), invalid_photo (field names the file), invalid_reason", body = crate::error::ErrorBody),
              (status = 429, description = "too_many_attempts: claims per phone and per source address", body = crate::error::ErrorBody)))]
pub async fn create(
    State(app): State<App>,
    ClientIp(source): ClientIp,
    multipart: Result<Multipart, MultipartRejection>,
) -> AppResult<(StatusCode, axum::Json<ClaimSubmitted>)> {
    let mut parts = read_multipart(multipart_body(multipart)?).await?;
    let mut take = |name: &str| parts.remove(name).unwrap_or_default();
    let (front, back, handheld) = (take("front"), take("back"), take("handheld"));
    let text = |name: &str| parts.get(name).map(|b| String::from_utf8_lossy(b).into_owned());
    let form = RegistrationForm {
        doc_type: text("doc_type"),
        doc_number: text("doc_number"),
        name: text("name"),
        validity: Some(ValidityInput { period: text("validity_period"), start: text("validity_start") }),
        password: text("password"),
        password_confirm: text("password_confirm"),
        email: text("email"),
        phone: text("phone"),
        verification_code: text("verification_code"),
        verification_channel: text("verification_channel"),
        agree_terms: text("agree_terms").is_some_and(|v| truthy(&v)),
        confirm_validity_warning: text("confirm_validity_warning").is_some_and(|v| truthy(&v)),
    };
    // The cheap checks first: the registration rules in the order of the form, the reason, then
    // what the photos' headers declare. Decoding comes last, in the flow, after the code.
    let registration = form.parse(app.clock.today())?;
    let reason = reviews::parse_reason(&text("reason").unwrap_or_default())?;
    let application = ClaimApplication {
        front: photos::inspect("front", front)?,
        back: photos::inspect("back", back)?,
        handheld: photos::inspect("handheld", handheld)?,
        reason,
        registration,
    };
    let submitted = ownership_claims::submit(&app, application, &source).await?;
    Ok((StatusCode::CREATED, axum::Json(ClaimSubmitted { id: submitted.id, status: "pending", due_date: submitted.due_date })))
}
