//! 审核系统 (STAFF-1..5): the staff console pages. Server-rendered HTML
//! forms carrying a synchronizer token derived from the staff session; the
//! only script adds confirmation dialogs. Staff pages read only the
//! `jszg_staff` cookie: an applicant's session gets the staff login page.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Form, FromRequestParts, Path, Query, State};
use axum::http::{header, request::Parts, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use time::macros::format_description;
use time::PrimitiveDateTime;

use jszg_domain::{DocType, Period, BEIJING};

use crate::app::App;
use crate::error::{AppError, ErrorCode};
use crate::flows::applicant::RealnameStatus;
use crate::flows::profile::Me;
use crate::flows::reviews::{Kind, Status};
use crate::flows::staff::{self, Role, StaffCurrent, COMMON_REASONS};
use crate::http::session::{clear_staff_cookie, cookie, staff_cookie};

mod audit;
mod auth;
mod queue;
mod review;

use audit::audit_page;
use auth::{login_page, login_submit, logout, password_page, password_submit};
use queue::queue_page;
use review::{decide, detail_page, photo};

pub fn router() -> Router<App> {
    Router::new()
        .route("/staff", get(queue_page))
        .route(
            "/staff/login",
            get(login_page).post(login_submit).route_layer(axum::middleware::from_fn(crate::http::refuse_cross_site_login)),
        )
        .route("/staff/logout", axum::routing::post(logout))
        .route("/staff/password", get(password_page).post(password_submit))
        .route("/staff/reviews/{id}", get(detail_page))
        .route("/staff/reviews/{id}/photos/{slot}", get(photo))
        .route("/staff/reviews/{id}/decision", axum::routing::post(decide))
        .route("/staff/audit", get(audit_page))
        // Every staff page shows personal data: never keep it in a cache.
        .layer(axum::middleware::map_response(|mut response: Response| async move {
            response.headers_mut().entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
            response
        }))
}

// ---------------------------------------------------------------------------
// Session, synchronizer token, page chrome

/// The staff member signed in with `jszg_staff`, if any. Nothing else counts.
struct MaybeStaff(Option<StaffCurrent>);

impl FromRequestParts<App> for MaybeStaff {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let Some(token) = cookie(&parts.headers, staff::COOKIE) else {
            return Ok(MaybeStaff(None));
        };
        let current = staff::resolve(app, token).await.map_err(error_page)?;
        // In production the initial password opens nothing but its own change (API.md "Staff").
        let free = ["/staff/password", "/staff/logout", "/staff/login"].contains(&parts.uri.path());
        if let Some(c) = &current {
            if !free && c.ready(app).is_err() {
                return Err(Redirect::to("/staff/password").into_response());
            }
        }
        Ok(MaybeStaff(current))
    }
}

/// Signed in, or sent to the staff login page.
fn require(current: Option<StaffCurrent>) -> Result<StaffCurrent, Redirect> {
    current.ok_or_else(|| Redirect::to("/staff/login"))
}

fn form_token(app: &App, id_hash: &[u8]) -> String {
    use base64::Engine;
    let mac = app.vault.mac(&[b"staff_form_token", id_hash]);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&mac[..24.min(mac.len())])
}

fn form_token_ok(app: &App, id_hash: &[u8], presented: &str) -> bool {
    use subtle::ConstantTimeEq;
    form_token(app, id_hash).as_bytes().ct_eq(presented.as_bytes()).into()
}

type Fields = HashMap<String, String>;

fn field<'a>(f: &'a Fields, name: &str) -> &'a str {
    f.get(name).map(String::as_str).unwrap_or("")
}

fn token_ok(app: &App, me: &StaffCurrent, f: &Fields) -> bool {
    form_token_ok(app, &me.id_hash, field(f, "form_token"))
}

/// What every signed-in page shows around its content.
pub struct Chrome {
    pub username: String,
    pub role_label: &'static str,
    pub admin: bool,
    pub form_token: String,
    pub must_change_password: bool,
    pub active: &'static str,
}

impl Chrome {
    fn new(app: &App, me: &StaffCurrent, active: &'static str) -> Self {
        Self {
            username: me.member.username.clone(),
            role_label: role_label(me.role()),
            admin: me.role() == Role::Admin,
            form_token: form_token(app, &me.id_hash),
            must_change_password: me.member.must_change_password,
            active,
        }
    }
}

fn role_label(role: Role) -> &'static str {
    match role {
        Role::Admin => "管理员",
        Role::Reviewer => "审核员",
    }
}

#[derive(Template)]
#[template(path = "staff_error.html")]
struct ErrorView<'a> {
    chrome: Option<Chrome>,
    title: &'a str,
    message: &'a str,
}

fn error_view(status: StatusCode, chrome: Option<Chrome>, title: &str, message: &str) -> Response {
    (status, super::render(&ErrorView { chrome, title, message })).into_response()
}

/// A failed flow as a page: its status and its Chinese message.
fn error_page(err: AppError) -> Response {
    error_page_for(err, None)
}

fn error_page_for(err: AppError, chrome: Option<Chrome>) -> Response {
    if let Some(source) = &err.source {
        tracing::error!(code = err.code.as_str(), cause = %source, "staff page failed");
    }
    let title = match err.status {
        StatusCode::NOT_FOUND => "未找到",
        StatusCode::FORBIDDEN => "无权访问",
        s if s.is_server_error() => "系统繁忙",
        _ => "操作未完成",
    };
    error_view(err.status, chrome, title, &err.message)
}

// ---------------------------------------------------------------------------
// Labels and times

fn kind_label(kind: Kind) -> &'static str {
    match kind {
        Kind::Identity => "身份核验人工审核",
        Kind::ContactChange => "修改联系方式申请",
        Kind::OwnershipClaim => "账号申诉（账号被占用）",
    }
}

fn status_label(status: Status) -> &'static str {
    match status {
        Status::Pending => "待审核",
        Status::Approved => "已通过",
        Status::Rejected => "未通过",
        Status::Withdrawn => "账号持有人已撤销",
    }
}

fn doc_type_label(code: &str) -> &'static str {
    code.parse::<DocType>().map(|t| t.label_zh()).unwrap_or("")
}

fn period_label(code: &str) -> &'static str {
    code.parse::<Period>().map(|p| p.label_zh()).unwrap_or("")
}

fn validity_text(period: &str, start: &str, end: Option<&str>) -> String {
    if period.is_empty() && start.is_empty() {
        return String::new();
    }
    let end = end.filter(|e| !e.is_empty()).unwrap_or("长期");
    format!("{}（{} 至 {}）", period_label(period), start, end)
}

/// Staff pages show instants as Beijing wall time to the minute, `2026-03-02 14:05`.
use crate::clock::beijing_minutes_at as beijing;

/// A `datetime-local` value (Beijing time) as a Unix instant.
fn parse_local(raw: &str) -> Option<i64> {
    let raw = raw.trim();
    let with_seconds = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    let without = format_description!("[year]-[month]-[day]T[hour]:[minute]");
    PrimitiveDateTime::parse(raw, with_seconds)
        .or_else(|_| PrimitiveDateTime::parse(raw, without))
        .ok()
        .map(|t| t.assume_offset(BEIJING).unix_timestamp())
}

fn days_left_text(status: Status, overdue: bool, left: i64) -> String {
    if status != Status::Pending {
        "—".to_owned()
    } else if overdue {
        if left < 0 {
            format!("已超期 {} 个工作日", -left)
        } else {
            "已超期".to_owned()
        }
    } else if left == 0 {
        "今日到期".to_owned()
    } else {
        format!("{left} 个工作日")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beijing_time_is_utc_plus_eight() {
        assert_eq!(beijing(time::macros::datetime!(2026-03-02 06:05 UTC)), "2026-03-02 14:05");
    }

    #[test]
    fn datetime_local_is_read_as_beijing_time() {
        assert_eq!(parse_local("2026-03-02T14:05"), Some(1_772_431_500));
        assert_eq!(parse_local("2026-03-02T14:05:00"), Some(1_772_431_500));
        assert_eq!(parse_local("2026-03-02"), None);
    }

    #[test]
    fn days_left_reads_like_a_person_says_it() {
        assert_eq!(days_left_text(Status::Pending, false, 3), "3 个工作日");
        assert_eq!(days_left_text(Status::Pending, false, 0), "今日到期");
        assert_eq!(days_left_text(Status::Pending, true, -2), "已超期 2 个工作日");
        assert_eq!(days_left_text(Status::Pending, true, 0), "已超期");
        assert_eq!(days_left_text(Status::Approved, false, 5), "—");
    }
}
