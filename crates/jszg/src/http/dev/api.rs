//! Development mode only (API.md): the outbox, the reference registry and
//! the clock. These routes do not exist outside development mode.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use utoipa::{IntoParams, ToSchema};

use jszg_domain::{DocNumber, Email, PersonName, Phone};

use crate::app::App;
use crate::error::{ErrorCode, AppError, AppResult};
use crate::flows::loose::loose_string;
use crate::flows::notify;
use crate::flows::registration::parse_doc_type;
use crate::http::Json;
use crate::store::{identities, outbox};
use crate::vault::Field;

pub fn router() -> Router<App> {
    Router::new()
        .route("/api/v1/dev/outbox", get(outbox))
        .route("/api/v1/dev/identities", post(add_identity))
        .route("/api/v1/dev/clock", post(advance_clock))
        .route("/api/v1/dev/sweep", post(sweep))
}

#[derive(Deserialize, IntoParams)]
pub struct OutboxQuery {
    /// A phone number or email address; all messages when absent.
    pub to: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct OutboxMessage {
    pub id: i64,
    #[schema(example = "sms")]
    pub channel: String,
    pub to: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    pub body: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    pub created_at: String,
    /// `pending`, `sent` or `failed`.
    pub status: String,
    pub attempts: i64,
    /// The last attempt failed and the message waits for the next (its error is in the log).
    pub last_attempt_failed: bool,
    pub sent_at: Option<String>,
}

/// Normalise an address the way messages are addressed, so `?to=` finds
/// them however the developer typed it.
pub fn normalise_recipient(raw: &str) -> String {
    if let Ok(phone) = Phone::parse(raw) {
        return phone.as_str().to_owned();
    }
    if let Ok(email) = Email::parse(raw) {
        return email.as_str().to_owned();
    }
    raw.trim().to_owned()
}

pub async fn list_messages(app: &App, to: Option<&str>, limit: i64) -> AppResult<Vec<OutboxMessage>> {
    let hash = to.map(|to| notify::recipient_hash(app, &normalise_recipient(to)));
    let rows = outbox::list(&app.db, hash.as_deref(), limit).await?;
    rows.into_iter()
        .map(|row| {
            let message = notify::open(app, &row.payload_enc)?;
            Ok(OutboxMessage {
                id: row.id,
                channel: row.channel,
                to: message.to,
                subject: message.subject,
                body: message.body,
                html: message.html,
                created_at: crate::clock::rfc3339(row.created_at),
                status: row.status,
                attempts: row.attempts,
                last_attempt_failed: row.last_failed != 0,
                sent_at: row.sent_at.map(crate::clock::rfc3339),
            })
        })
        .collect()
}

#[utoipa::path(get, path = "/api/v1/dev/outbox", tag = "dev", params(OutboxQuery),
    responses((status = 200, body = Vec<OutboxMessage>)))]
pub async fn outbox(State(app): State<App>, Query(q): Query<OutboxQuery>) -> AppResult<axum::Json<Vec<OutboxMessage>>> {
    let to = q.to.as_deref().filter(|t| !t.trim().is_empty());
    Ok(axum::Json(list_messages(&app, to, 200).await?))
}

#[derive(Deserialize, Serialize, ToSchema, Default)]
#[serde(default)]
pub struct NewIdentity {
    #[serde(deserialize_with = "loose_string")]
    #[schema(value_type = String, example = "resident_id")]
    pub doc_type: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    #[schema(value_type = String)]
    pub doc_number: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    #[schema(value_type = String)]
    pub name: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct IdentityAdded {
    pub doc_type: String,
    pub doc_number_masked: String,
    pub name: String,
}

#[utoipa::path(post, path = "/api/v1/dev/identities", tag = "dev", request_body = NewIdentity,
    responses((status = 201, body = IdentityAdded), (status = 422, body = crate::error::ErrorBody)))]
pub async fn add_identity(State(app): State<App>, Json(body): Json<NewIdentity>) -> AppResult<(StatusCode, axum::Json<IdentityAdded>)> {
    let doc_type = parse_doc_type(body.doc_type.as_deref().unwrap_or(""))?;
    let doc = DocNumber::parse(doc_type, body.doc_number.as_deref().unwrap_or(""), app.clock.today())
        .map_err(|e| AppError::invalid(ErrorCode::InvalidDocNumber, "doc_number", e.to_string()))?;
    let name = PersonName::parse(doc_type, body.name.as_deref().unwrap_or(""))
        .map_err(|e| AppError::invalid(ErrorCode::InvalidName, "name", e.to_string()))?;
    let doc_hash = app.vault.lookup(Field::DocNumber, doc.as_str());
    identities::upsert(&app.db, &doc_hash, doc_type.as_str(), name.as_str(), app.clock.unix()).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(IdentityAdded {
            doc_type: doc_type.as_str().to_owned(),
            doc_number_masked: doc.masked(),
            name: name.as_str().to_owned(),
        }),
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct ClockAdvance {
    pub advance_seconds: i64,
}

#[derive(Serialize, ToSchema)]
pub struct ClockNow {
    pub now: String,
}

#[utoipa::path(post, path = "/api/v1/dev/clock", tag = "dev", request_body = ClockAdvance,
    responses((status = 200, body = ClockNow), (status = 422, body = crate::error::ErrorBody)))]
pub async fn advance_clock(State(app): State<App>, Json(body): Json<ClockAdvance>) -> AppResult<axum::Json<ClockNow>> {
    // Forward only, and at most about a century in one step.
    if !(0..=3_200_000_000).contains(&body.advance_seconds) {
        return Err(AppError::invalid(ErrorCode::InvalidRequest, "advance_seconds", "advance_seconds 应为不超过一百年的非负秒数。"));
    }
    let now = app.clock.advance(&app.db, body.advance_seconds).await?;
    Ok(axum::Json(ClockNow { now: now.format(&Rfc3339).map_err(AppError::internal)? }))
}

#[derive(Serialize, ToSchema)]
pub struct SweepResult {
    /// Photo blobs deleted.
    pub photos_deleted: u64,
    /// Expired rows deleted, by table.
    #[schema(value_type = Object)]
    pub expired: serde_json::Map<String, serde_json::Value>,
}

/// Run the retention sweep now (PRIV-1), as the background task does every
/// `[privacy] sweep_interval_secs`, ignoring its lease.
#[utoipa::path(post, path = "/api/v1/dev/sweep", tag = "dev", responses((status = 200, body = SweepResult)))]
pub async fn sweep(State(app): State<App>) -> AppResult<axum::Json<SweepResult>> {
    let report = crate::flows::retention::sweep_now(&app).await?;
    Ok(axum::Json(SweepResult {
        photos_deleted: report.photos_deleted(),
        expired: report.expired.iter().map(|(t, n)| ((*t).to_owned(), serde_json::Value::from(*n))).collect(),
    }))
}
