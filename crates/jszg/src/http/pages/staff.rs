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
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

use jszg_domain::{DocType, Period, BEIJING};

use crate::app::App;
use crate::error::AppError;
use crate::flows::applicant::RealnameStatus;
use crate::flows::profile::Me;
use crate::flows::reviews::Kind;
use crate::flows::staff::{self, Role, StaffCurrent, COMMON_REASONS};
use crate::http::session::{clear_staff_cookie, cookie, staff_cookie};

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
        tracing::error!(code = err.code, cause = %source, "staff page failed");
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

fn kind_label(kind: &str) -> &'static str {
    match kind {
        "identity" => "身份核验人工审核",
        "contact_change" => "修改联系方式申请",
        "ownership_claim" => "账号申诉（账号被占用）",
        _ => "审核申请",
    }
}

fn status_label(status: &str) -> &'static str {
    match status {
        "pending" => "待审核",
        "approved" => "已通过",
        "rejected" => "未通过",
        "withdrawn" => "账号持有人已撤销",
        _ => "未知",
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

const MINUTES: &[time::format_description::FormatItem<'static>] = format_description!("[year]-[month]-[day] [hour]:[minute]");

/// An RFC 3339 instant as Beijing wall time, `2026-03-02 14:05`.
fn beijing(rfc: &str) -> String {
    OffsetDateTime::parse(rfc, &Rfc3339)
        .ok()
        .and_then(|t| t.checked_to_offset(BEIJING))
        .and_then(|t| t.format(MINUTES).ok())
        .unwrap_or_else(|| rfc.to_owned())
}

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

fn days_left_text(status: &str, overdue: bool, left: i64) -> String {
    if status != "pending" {
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

// ---------------------------------------------------------------------------
// 登录, 退出, 修改密码

#[derive(Template)]
#[template(path = "staff_login.html")]
struct LoginView {
    chrome: Option<Chrome>,
    dev: bool,
    username: String,
    error: Option<String>,
}

async fn login_page(State(app): State<App>, MaybeStaff(current): MaybeStaff) -> Response {
    if current.is_some() {
        return Redirect::to("/staff").into_response();
    }
    super::render(&LoginView { chrome: None, dev: app.dev, username: String::new(), error: None })
}

/// A login form posted from another site (login CSRF) is refused by
/// `refuse_cross_site_login` on the route.
async fn login_submit(State(app): State<App>, Form(f): Form<Fields>) -> Response {
    let username = field(&f, "username").trim().to_owned();
    let totp = Some(field(&f, "totp")).filter(|t| !t.trim().is_empty());
    match staff::sign_in(&app, &username, field(&f, "password"), totp).await {
        Ok(token) => ([(header::SET_COOKIE, staff_cookie(&app, &token))], Redirect::to("/staff")).into_response(),
        Err(err) => {
            if let Some(source) = &err.source {
                tracing::error!(code = err.code, cause = %source, "staff sign-in failed");
            }
            let view = LoginView { chrome: None, dev: app.dev, username, error: Some(err.message.into_owned()) };
            (err.status, super::render(&view)).into_response()
        }
    }
}

async fn logout(State(app): State<App>, headers: HeaderMap, MaybeStaff(current): MaybeStaff, Form(f): Form<Fields>) -> Response {
    let Some(me) = current else { return Redirect::to("/staff/login").into_response() };
    if !token_ok(&app, &me, &f) {
        return super::csrf_page();
    }
    if let Some(token) = cookie(&headers, staff::COOKIE) {
        if let Err(err) = staff::sign_out(&app, token).await {
            return error_page(err);
        }
    }
    ([(header::SET_COOKIE, clear_staff_cookie(&app))], Redirect::to("/staff/login")).into_response()
}

#[derive(Template)]
#[template(path = "staff_password.html")]
struct PasswordView {
    chrome: Option<Chrome>,
    error: Option<String>,
}

async fn password_page(State(app): State<App>, MaybeStaff(current): MaybeStaff) -> Response {
    match require(current) {
        Ok(me) => super::render(&PasswordView { chrome: Some(Chrome::new(&app, &me, "password")), error: None }),
        Err(r) => r.into_response(),
    }
}

async fn password_submit(State(app): State<App>, MaybeStaff(current): MaybeStaff, Form(f): Form<Fields>) -> Response {
    let me = match require(current) {
        Ok(me) => me,
        Err(r) => return r.into_response(),
    };
    if !token_ok(&app, &me, &f) {
        return super::csrf_page();
    }
    let new = field(&f, "new_password");
    let result = if new != field(&f, "new_password_confirm") {
        Err(AppError::invalid("password_mismatch", "new_password_confirm", "两次输入的新密码不一致，请重新输入。"))
    } else {
        staff::change_password(&app, &me, field(&f, "current_password"), new).await
    };
    match result {
        Ok(()) => Redirect::to("/staff?flash=password").into_response(),
        Err(err) if err.status.is_server_error() => error_page_for(err, Some(Chrome::new(&app, &me, "password"))),
        Err(err) => {
            let view = PasswordView { chrome: Some(Chrome::new(&app, &me, "password")), error: Some(err.message.into_owned()) };
            (err.status, super::render(&view)).into_response()
        }
    }
}

// ---------------------------------------------------------------------------
// 审核队列

#[derive(Deserialize)]
struct QueueQuery {
    kind: Option<String>,
    status: Option<String>,
    flash: Option<String>,
}

struct Row {
    id: String,
    submitted_at: String,
    doc_type: &'static str,
    masked: String,
    name: String,
    due_date: String,
    left: String,
    overdue: bool,
    status: &'static str,
}

#[derive(Template)]
#[template(path = "staff_queue.html")]
struct QueueView {
    chrome: Option<Chrome>,
    kinds: [(&'static str, &'static str); 3],
    statuses: [(&'static str, &'static str); 3],
    kind: &'static str,
    status: &'static str,
    flash: Option<(&'static str, &'static str)>,
    rows: Vec<Row>,
    overdue: usize,
}

fn flash(code: Option<&str>) -> Option<(&'static str, &'static str)> {
    match code? {
        "approved" => Some(("good", "审核完成：已通过该申请。")),
        "rejected" => Some(("good", "审核完成：该申请未通过，申请人将收到不通过原因。")),
        "password" => Some(("good", "密码修改成功。")),
        "already_decided" => Some(("bad", "该申请已由其他工作人员处理。")),
        _ => None,
    }
}

async fn queue_page(State(app): State<App>, MaybeStaff(current): MaybeStaff, Query(q): Query<QueueQuery>) -> Response {
    let me = match require(current) {
        Ok(me) => me,
        Err(r) => return r.into_response(),
    };
    let kind = q.kind.as_deref().and_then(Kind::parse).unwrap_or(Kind::Identity);
    let status = match q.status.as_deref() {
        Some("approved") => "approved",
        Some("rejected") => "rejected",
        _ => "pending",
    };
    let items = match staff::queue(&app, Some(kind), status).await {
        Ok(items) => items,
        Err(err) => return error_page_for(err, Some(Chrome::new(&app, &me, "queue"))),
    };
    let rows: Vec<Row> = items
        .into_iter()
        .map(|i| Row {
            left: days_left_text(&i.status, i.overdue, i.working_days_left),
            submitted_at: beijing(&i.submitted_at),
            doc_type: doc_type_label(&i.doc_type),
            masked: i.doc_number_masked,
            name: i.name,
            due_date: i.due_date,
            overdue: i.overdue,
            status: status_label(&i.status),
            id: i.id,
        })
        .collect();
    super::render(&QueueView {
        chrome: Some(Chrome::new(&app, &me, "queue")),
        kinds: [("identity", "身份核验人工审核"), ("contact_change", "修改联系方式申请"), ("ownership_claim", "账号申诉")],
        statuses: [("pending", "待审核"), ("approved", "已通过"), ("rejected", "未通过")],
        kind: kind.as_str(),
        status,
        flash: flash(q.flash.as_deref()),
        overdue: rows.iter().filter(|r| r.overdue).count(),
        rows,
    })
}

// ---------------------------------------------------------------------------
// 审核详情, 照片, 审核决定

struct Line {
    label: &'static str,
    value: String,
    differs: bool,
}

fn line(label: &'static str, value: impl Into<String>) -> Line {
    Line { label, value: value.into(), differs: false }
}

struct PhotoView {
    url: String,
    caption: &'static str,
}

struct HistoryRow {
    kind: &'static str,
    submitted_at: String,
    status: &'static str,
    reason: String,
    decision_reason: String,
    decided_at: String,
}

#[derive(Template)]
#[template(path = "staff_review.html")]
struct ReviewView {
    chrome: Option<Chrome>,
    id: String,
    kind: &'static str,
    kind_label: &'static str,
    status: String,
    status_label: &'static str,
    pending: bool,
    submitted_at: String,
    due_date: String,
    left: String,
    overdue: bool,
    applicant: String,
    submitted_title: &'static str,
    current_title: &'static str,
    submitted: Vec<Line>,
    current: Vec<Line>,
    reason: String,
    decision_reason: String,
    photos: Vec<PhotoView>,
    /// Beijing time of the deletion, when the retention rule removed the photos.
    photos_deleted: Option<String>,
    history: Vec<HistoryRow>,
    reasons: &'static [&'static str],
    error: Option<String>,
    claim: Option<ClaimPanel>,
}

/// An ownership claim's evidence: the authority's answer and the holder's history.
struct ClaimPanel {
    authority: &'static str,
    authority_class: &'static str,
    checked_at: String,
    registered_at: String,
    archived_at: String,
    realname: &'static str,
    logins: Vec<String>,
    enrollments: Vec<&'static str>,
}

fn claim_panel(c: &staff::ClaimEvidence) -> ClaimPanel {
    let (authority, authority_class) = match c.authority.get("answer").and_then(Value::as_str) {
        Some("match") => ("一致：身份核验机构确认申诉人姓名与该证件号码相符", "good"),
        Some("mismatch") => ("不一致：身份核验机构记录的姓名与申诉人姓名不符", "bad"),
        _ => ("未能核验：身份核验服务暂时不可用", "warn"),
    };
    let h = &c.holder;
    let at = |key: &str| h.get(key).and_then(Value::as_str).map(beijing).unwrap_or_default();
    ClaimPanel {
        authority,
        authority_class,
        checked_at: c.authority.get("checked_at").and_then(Value::as_str).map(beijing).unwrap_or_default(),
        registered_at: at("registered_at"),
        archived_at: at("archived_at"),
        realname: RealnameStatus::parse(h.get("realname_status").and_then(Value::as_str).unwrap_or("")).label_zh(),
        logins: h
            .get("last_logins")
            .and_then(Value::as_array)
            .map(|l| {
                l.iter()
                    .map(|e| {
                        let when = e.get("at").and_then(Value::as_str).map(beijing).unwrap_or_default();
                        let entry = match e.get("entry").and_then(Value::as_str) {
                            Some("renewal") => "定期注册入口",
                            _ => "认定入口",
                        };
                        format!("{when}（{entry}）")
                    })
                    .collect()
            })
            .unwrap_or_default(),
        enrollments: h
            .get("enrollments")
            .and_then(Value::as_array)
            .map(|l| {
                l.iter()
                    .map(|e| match e.as_str() {
                        Some("renewal") => "中小学教师资格定期注册",
                        _ => "教师资格认定",
                    })
                    .collect()
            })
            .unwrap_or_default(),
    }
}

fn text(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or("").to_owned()
}

fn current_lines(me: &Me, doc_number: &str) -> Vec<Line> {
    let (period, start, end) = match &me.validity {
        Some(v) => (v.period.as_str(), v.start.as_str(), v.end.as_deref()),
        None => ("", "", None),
    };
    vec![
        line("证件类型", me.doc_type_label.clone()),
        line("证件号码", doc_number.to_owned()),
        line("姓名", me.name.clone()),
        line("证件有效期", validity_text(period, start, end)),
        line("性别", me.sex.map(|s| s.label_zh()).unwrap_or("")),
        line("出生日期", me.birth_date.clone().unwrap_or_default()),
        line("民族", me.ethnicity_name.clone().unwrap_or_default()),
        line("手机号码", me.phone_masked.clone().unwrap_or_default()),
        line("安全邮箱", me.email_masked.clone().unwrap_or_default()),
        line("实名认证状态", me.realname.status.label_zh()),
    ]
}

fn submitted_lines(kind: Option<Kind>, submitted: &Value, me: &Me) -> Vec<Line> {
    match kind {
        Some(Kind::Identity) => {
            let name = text(submitted, "name");
            let period = text(submitted, "validity_period");
            let start = text(submitted, "validity_start");
            let end = submitted.get("validity_end").and_then(Value::as_str);
            let validity = validity_text(&period, &start, end);
            let current_validity = me.validity.as_ref().map(|v| validity_text(&v.period, &v.start, v.end.as_deref())).unwrap_or_default();
            vec![
                Line { label: "姓名", differs: name != me.name, value: name },
                Line { label: "证件有效期", differs: validity != current_validity, value: validity },
            ]
        }
        Some(Kind::OwnershipClaim) => {
            let name = text(submitted, "name");
            let validity = validity_text(
                &text(submitted, "validity_period"),
                &text(submitted, "validity_start"),
                submitted.get("validity_end").and_then(Value::as_str),
            );
            let holder_validity = me.validity.as_ref().map(|v| validity_text(&v.period, &v.start, v.end.as_deref())).unwrap_or_default();
            vec![
                line("证件类型", doc_type_label(&text(submitted, "doc_type"))),
                line("证件号码", text(submitted, "doc_number")),
                Line { label: "姓名", differs: name != me.name, value: name },
                Line { label: "证件有效期", differs: validity != holder_validity, value: validity },
                line("手机号码", text(submitted, "phone_masked")),
                line("安全邮箱", text(submitted, "email_masked")),
            ]
        }
        _ => {
            let (what, current) = match text(submitted, "kind").as_str() {
                "email" => ("修改邮箱地址", me.email_masked.clone().unwrap_or_default()),
                _ => ("修改手机号码", me.phone_masked.clone().unwrap_or_default()),
            };
            vec![line("申请类型", what), line("新的联系方式", text(submitted, "new_value")), line("当前联系方式", current)]
        }
    }
}

fn photo_caption(slot: &str) -> &'static str {
    match slot {
        "front" => "证件正面（A面）",
        "back" => "证件背面（B面）",
        _ => "手持证件照",
    }
}

async fn render_review(app: &App, me: &StaffCurrent, id: &str, error: Option<AppError>) -> Response {
    let chrome = Chrome::new(app, me, "queue");
    let d = match staff::detail(app, me, id).await {
        Ok(d) => d,
        Err(err) => return error_page_for(err, Some(chrome)),
    };
    let kind = Kind::parse(&d.item.kind);
    let status = error.as_ref().map_or(StatusCode::OK, |e| e.status);
    let view = ReviewView {
        chrome: Some(chrome),
        kind: kind.map(Kind::as_str).unwrap_or("identity"),
        kind_label: kind_label(&d.item.kind),
        status_label: status_label(&d.item.status),
        pending: d.item.status == "pending",
        left: days_left_text(&d.item.status, d.item.overdue, d.item.working_days_left),
        overdue: d.item.overdue,
        submitted_at: beijing(&d.item.submitted_at),
        due_date: d.item.due_date.clone(),
        applicant: format!("{}（{} {}）", d.item.name, doc_type_label(&d.item.doc_type), d.item.doc_number_masked),
        submitted_title: if kind == Some(Kind::OwnershipClaim) { "申诉人提交的信息" } else { "申请提交的信息" },
        current_title: if kind == Some(Kind::OwnershipClaim) { "现账号持有人的信息" } else { "当前账号信息" },
        claim: d.claim.as_ref().map(claim_panel),
        submitted: submitted_lines(kind, &d.submitted, &d.profile),
        current: current_lines(&d.profile, &d.doc_number),
        reason: d.reason.clone(),
        decision_reason: d.decision_reason.clone().unwrap_or_default(),
        photos: d
            .photos
            .iter()
            .map(|slot| PhotoView { url: format!("/staff/reviews/{}/photos/{slot}", d.item.id), caption: photo_caption(slot) })
            .collect(),
        photos_deleted: d.photos_deleted_at.as_deref().map(beijing),
        history: d
            .history
            .iter()
            .map(|h| HistoryRow {
                kind: kind_label(&h.kind),
                submitted_at: beijing(&h.submitted_at),
                status: status_label(&h.status),
                reason: h.reason.clone(),
                decision_reason: h.decision_reason.clone().unwrap_or_default(),
                decided_at: h.decided_at.as_deref().map(beijing).unwrap_or_default(),
            })
            .collect(),
        reasons: &COMMON_REASONS,
        error: error.map(|e| e.message.into_owned()),
        status: d.item.status,
        id: d.item.id,
    };
    (status, super::render(&view)).into_response()
}

async fn detail_page(State(app): State<App>, MaybeStaff(current): MaybeStaff, Path(id): Path<String>) -> Response {
    match require(current) {
        Ok(me) => render_review(&app, &me, &id, None).await,
        Err(r) => r.into_response(),
    }
}

/// A photo of an item, for the `<img>` of the review page. Audited by the
/// flow; 401 (not a redirect) without a staff session.
async fn photo(State(app): State<App>, MaybeStaff(current): MaybeStaff, Path((id, slot)): Path<(String, String)>) -> Response {
    let Some(me) = current else {
        return AppError::unauthorized("not_logged_in", "请先以工作人员身份登录审核系统。").into_response();
    };
    if !matches!(slot.as_str(), "front" | "back" | "handheld") {
        return AppError::not_found("not_found", "没有这张照片。").into_response();
    }
    match staff::photo(&app, &me, &id, &slot).await {
        Ok(bytes) => ([(header::CONTENT_TYPE, "image/jpeg"), (header::CACHE_CONTROL, "no-store")], bytes).into_response(),
        Err(err) => err.into_response(),
    }
}

async fn decide(State(app): State<App>, MaybeStaff(current): MaybeStaff, Path(id): Path<String>, Form(f): Form<Fields>) -> Response {
    let me = match require(current) {
        Ok(me) => me,
        Err(r) => return r.into_response(),
    };
    if !token_ok(&app, &me, &f) {
        return super::csrf_page();
    }
    let kind = Kind::parse(field(&f, "kind")).unwrap_or(Kind::Identity).as_str();
    let common = field(&f, "common_reason").trim();
    // A common-reason chip is a 不通过 in one click; otherwise the button says.
    let (approve, reason) = match field(&f, "decision") {
        _ if !common.is_empty() => (false, Some(common)),
        "approve" => (true, None),
        "reject" => (false, Some(field(&f, "reason_text"))),
        _ => {
            let err = AppError::invalid("invalid_request", "decision", "请选择“通过”或“不通过”。");
            return render_review(&app, &me, &id, Some(err)).await;
        }
    };
    match staff::decide(&app, &me, &id, approve, reason).await {
        Ok(()) => {
            let done = if approve { "approved" } else { "rejected" };
            Redirect::to(&format!("/staff?kind={kind}&flash={done}")).into_response()
        }
        Err(err) if err.status.is_client_error() && err.status != StatusCode::NOT_FOUND => render_review(&app, &me, &id, Some(err)).await,
        Err(err) => error_page_for(err, Some(Chrome::new(&app, &me, "queue"))),
    }
}

// ---------------------------------------------------------------------------
// 审计日志 (admins)

#[derive(Deserialize)]
struct AuditQuery {
    account: Option<String>,
    staff: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

struct AuditRow {
    at: String,
    actor: String,
    account: String,
    action: &'static str,
    code: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "staff_audit.html")]
struct AuditView {
    chrome: Option<Chrome>,
    account: String,
    staff: String,
    from: String,
    to: String,
    searched: bool,
    rows: Vec<AuditRow>,
    limit: usize,
    error: Option<String>,
}

const AUDIT_LIMIT: usize = 1000;

fn action_label(action: &str) -> &'static str {
    match action {
        "login" => "申请人登录",
        "profile_updated" => "完善或修改个人信息",
        "realname_verified" => "实名认证成功",
        "realname_verified_renamed" => "实名认证成功并修改姓名",
        "password_changed" => "申请人修改密码",
        "phone_changed" => "修改手机号码",
        "email_changed" => "修改安全邮箱",
        "password_reset" => "重置密码",
        "identity_review_submitted" => "提交人工审核申请",
        "contact_change_submitted" => "提交修改联系方式申请",
        "identity_approved" => "人工审核通过",
        "identity_rejected" => "人工审核不通过",
        "contact_change_approved" => "修改联系方式申请通过",
        "contact_change_rejected" => "修改联系方式申请不通过",
        "ownership_claim_submitted" => "提交账号申诉",
        "ownership_claim_approved" => "账号申诉通过",
        "ownership_claim_rejected" => "账号申诉不通过",
        "account_archived" => "账号因申诉通过停用归档",
        "account_created_by_claim" => "账号申诉通过后创建账号",
        "photo_viewed" => "查看申请照片",
        "staff_login" => "工作人员登录",
        "staff_password_changed" => "工作人员修改密码",
        "staff_added" => "添加工作人员",
        "audit_searched" => "查询审计日志",
        "accounts_imported" => "导入旧系统账号",
        _ => "",
    }
}

fn actor_kind_label(kind: &str) -> &'static str {
    match kind {
        "applicant" => "申请人",
        "staff" => "工作人员",
        "operator" => "运维人员",
        _ => "系统",
    }
}

async fn audit_page(State(app): State<App>, MaybeStaff(current): MaybeStaff, Query(q): Query<AuditQuery>) -> Response {
    let me = match require(current) {
        Ok(me) => me,
        Err(r) => return r.into_response(),
    };
    let chrome = Chrome::new(&app, &me, "audit");
    if me.role() != Role::Admin {
        return error_view(StatusCode::FORBIDDEN, Some(chrome), "无权访问", "只有管理员可以查询审计日志。");
    }
    let searched = q.account.is_some() || q.staff.is_some() || q.from.is_some() || q.to.is_some();
    let mut view = AuditView {
        chrome: Some(chrome),
        account: q.account.unwrap_or_default().trim().to_owned(),
        staff: q.staff.unwrap_or_default().trim().to_owned(),
        from: q.from.unwrap_or_default().trim().to_owned(),
        to: q.to.unwrap_or_default().trim().to_owned(),
        searched,
        rows: Vec::new(),
        limit: AUDIT_LIMIT,
        error: None,
    };
    if !searched {
        return super::render(&view);
    }
    let bound = |raw: &str, default: i64| if raw.is_empty() { Some(default) } else { parse_local(raw) };
    let (Some(from), Some(to)) = (bound(&view.from, 0), bound(&view.to, i64::MAX / 2)) else {
        view.error = Some("起止时间格式不正确，请重新选择。".to_owned());
        return (StatusCode::UNPROCESSABLE_ENTITY, super::render(&view)).into_response();
    };
    // datetime-local has minute precision: `to` includes its whole minute.
    let to = if view.to.is_empty() { to } else { to.saturating_add(59) };
    match staff::search_audit(&app, &me, Some(view.account.as_str()), Some(view.staff.as_str()), from, to).await {
        Ok(entries) => {
            view.rows = entries
                .into_iter()
                .map(|e| AuditRow {
                    at: beijing(&e.at),
                    actor: match e.actor {
                        Some(a) => format!("{} {a}", actor_kind_label(&e.actor_kind)),
                        None => actor_kind_label(&e.actor_kind).to_owned(),
                    },
                    account: e.account.unwrap_or_default(),
                    action: action_label(&e.action),
                    code: e.action,
                    detail: e.detail,
                })
                .collect();
            super::render(&view)
        }
        Err(err) if err.status.is_server_error() => error_page_for(err, Some(Chrome::new(&app, &me, "audit"))),
        Err(err) => {
            let status = err.status;
            view.error = Some(err.message.into_owned());
            (status, super::render(&view)).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beijing_time_is_utc_plus_eight() {
        assert_eq!(beijing("2026-03-02T06:05:00Z"), "2026-03-02 14:05");
        assert_eq!(beijing("not a time"), "not a time");
    }

    #[test]
    fn datetime_local_is_read_as_beijing_time() {
        assert_eq!(parse_local("2026-03-02T14:05"), Some(1_772_431_500));
        assert_eq!(parse_local("2026-03-02T14:05:00"), Some(1_772_431_500));
        assert_eq!(parse_local("2026-03-02"), None);
    }

    #[test]
    fn days_left_reads_like_a_person_says_it() {
        assert_eq!(days_left_text("pending", false, 3), "3 个工作日");
        assert_eq!(days_left_text("pending", false, 0), "今日到期");
        assert_eq!(days_left_text("pending", true, -2), "已超期 2 个工作日");
        assert_eq!(days_left_text("pending", true, 0), "已超期");
        assert_eq!(days_left_text("approved", false, 5), "—");
    }
}
