//! The one error type. Flows return it; the HTTP layer renders it as the
//! JSON of API.md or as a page. Codes are the fixed strings of API.md and
//! messages are Chinese and say what to do next. Internal failures are
//! logged with their cause and shown only as a generic message.

use std::borrow::Cow;

use axum::http::StatusCode;
use serde_json::{Map, Value};

mod codes;

pub use codes::ErrorCode;

#[derive(Debug)]
pub struct AppError {
    pub status: StatusCode,
    pub code: ErrorCode,
    pub message: Cow<'static, str>,
    pub field: Option<&'static str>,
    pub extra: Map<String, Value>,
    /// Cause of an internal failure, for the log only.
    pub source: Option<String>,
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    /// `code` with its status (codes.rs) and a message for this occasion.
    pub fn new(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self { status: code.status(), code, message: message.into(), field: None, extra: Map::new(), source: None }
    }

    /// `code` with its status and its usual message.
    pub fn of(code: ErrorCode) -> Self {
        Self::new(code, code.message())
    }

    /// 422: the input is wrong; `field` names it.
    pub fn invalid(code: ErrorCode, field: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(code, message).field(field)
    }

    /// 429 with the number of seconds until the limit lifts, when known.
    pub fn too_many(code: ErrorCode, message: impl Into<Cow<'static, str>>, retry_after: Option<i64>) -> Self {
        let err = Self::new(code, message);
        match retry_after {
            Some(secs) => err.with("retry_after", secs.max(1)),
            None => err,
        }
    }

    /// 500. The cause goes to the log, never to the client.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        let mut err = Self::of(ErrorCode::Internal);
        err.source = Some(cause.to_string());
        err
    }

    /// Another status than the code's own: the framework's statuses (`http::status_error`).
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// 410 instead of the code's 404: the thing existed and has run out. Only `captcha_expired`
    /// has both (API.md).
    pub fn run_out(self) -> Self {
        self.with_status(StatusCode::GONE)
    }

    pub fn field(mut self, field: &'static str) -> Self {
        self.field = Some(field);
        self
    }

    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.extra.insert(key.to_owned(), value.into());
        self
    }

    pub fn retry_after(&self) -> Option<i64> {
        self.extra.get("retry_after").and_then(Value::as_i64)
    }

    pub fn body(&self) -> Value {
        let mut error = Map::new();
        error.insert("code".into(), self.code.as_str().into());
        error.insert("message".into(), Value::String(self.message.to_string()));
        if let Some(field) = self.field {
            error.insert("field".into(), field.into());
        }
        for (k, v) in &self.extra {
            error.insert(k.clone(), v.clone());
        }
        serde_json::json!({ "error": error })
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.code)
    }
}

impl From<sqlx::Error> for AppError {
    fn from(err: sqlx::Error) -> Self {
        AppError::internal(format_args!("database: {err}"))
    }
}

impl From<crate::vault::VaultError> for AppError {
    fn from(err: crate::vault::VaultError) -> Self {
        AppError::internal(format_args!("vault: {err}"))
    }
}

impl From<tokio::task::JoinError> for AppError {
    fn from(err: tokio::task::JoinError) -> Self {
        AppError::internal(format_args!("blocking task: {err}"))
    }
}

/// The error body as published in the OpenAPI document.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Fixed snake_case code of API.md, e.g. `invalid_phone`.
    pub code: String,
    /// What went wrong and what to do, in Chinese.
    pub message: String,
    /// The offending field, when there is one.
    pub field: Option<String>,
    /// Seconds until a limit lifts (429).
    pub retry_after: Option<i64>,
}
