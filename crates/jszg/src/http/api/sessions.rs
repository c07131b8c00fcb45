//! Login, logout, the applicant's own data and the business entry gate
//! (API.md "Sessions").

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{AppendHeaders, IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::Router;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use jszg_domain::{LoginName, PasswordAttempt, PasswordChoice};

use crate::app::App;
use crate::error::{ErrorCode, AppError, AppResult};
use crate::flows::account_changes;
use crate::flows::applicant::Entry;
use crate::flows::captcha::{self, Purpose};
use crate::flows::loose::loose_string;
use crate::flows::profile::{self, ProfileForm};
use crate::http::api::me::{Me, ProfileFormDoc};
use crate::flows::{login, sessions, upstream_login};
use crate::http::session::{clear_session_cookie, cookie, lax_cookie, session_cookie, SignedIn};
use crate::http::{ClientIp, Json};

pub fn router() -> Router<App> {
    Router::new()
        .route("/api/v1/sessions", post(create).route_layer(axum::middleware::from_fn(crate::http::refuse_cross_site_login)))
        .route("/api/v1/sessions/current", delete(destroy))
        .route("/api/v1/sessions/upstream-link", post(upstream_link))
        .route("/api/v1/me/upstream", delete(upstream_unlink))
        .route("/api/v1/me", get(me))
        .route("/api/v1/me/profile", put(update_profile))
        .route("/api/v1/me/password", post(change_password))
        .route("/api/v1/me/phone", post(change_phone))
        .route("/api/v1/me/email", post(change_email))
        .route("/api/v1/entries/{entry}", get(entry))
}

#[derive(Deserialize, Serialize, ToSchema, Default)]
#[serde(default)]
pub struct LoginForm {
    /// 账号: the document number.
    #[serde(deserialize_with = "loose_string")]
    pub doc_number: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub password: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub captcha_token: Option<String>,
    /// `certification` or `renewal`.
    #[serde(deserialize_with = "loose_string")]
    #[schema(example = "certification")]
    pub entry: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AccountBrief {
    pub doc_type: String,
    pub doc_number_masked: String,
    pub name: String,
}

#[derive(Serialize, ToSchema)]
pub struct LoginResult {
    /// `complete_profile`, `realname` or `business`.
    pub next: &'static str,
    /// `certification` or `renewal`.
    pub entry: &'static str,
    pub account: AccountBrief,
}

pub fn parse_entry(raw: &str) -> AppResult<Entry> {
    Entry::parse(raw).ok_or_else(|| AppError::invalid(ErrorCode::InvalidRequest, "entry", "请从认定或定期注册入口登录。"))
}

#[utoipa::path(post, path = "/api/v1/sessions", tag = "sessions", request_body = LoginForm,
    responses((status = 200, body = LoginResult, description = "Sets the jszg_session cookie"),
              (status = 401, description = "invalid_credentials", body = crate::error::ErrorBody),
              (status = 422, description = "captcha_required, captcha_failed", body = crate::error::ErrorBody),
              (status = 429, description = "account_locked (retry_after), too_many_attempts", body = crate::error::ErrorBody)))]
pub async fn create(
    State(app): State<App>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Json(form): Json<LoginForm>,
) -> AppResult<Response> {
    let entry = parse_entry(form.entry.as_deref().unwrap_or("certification"))?;
    let number = form.doc_number.unwrap_or_default();
    if number.trim().is_empty() {
        return Err(AppError::invalid(ErrorCode::InvalidRequest, "doc_number", "请填写有效身份证件号码。"));
    }
    let password = PasswordAttempt::new(form.password.unwrap_or_default());
    captcha::spend(&app, form.captcha_token.as_deref(), Purpose::Login).await?;
    let logged_in = login::login(&app, &LoginName::read(&number, app.clock.today()), &password, entry, &ip).await?;
    // A new id at every login: whatever session the browser held is ended.
    if let Some(old) = cookie(&headers, sessions::COOKIE) {
        sessions::end(&app, old).await?;
    }
    Ok(([(header::SET_COOKIE, session_cookie(&app, &logged_in.token))], axum::Json(login_result(&logged_in, entry))).into_response())
}

fn login_result(logged_in: &login::LoggedIn, entry: Entry) -> LoginResult {
    let a = &logged_in.applicant;
    LoginResult {
        next: a.next().as_str(),
        entry: entry.as_str(),
        account: AccountBrief { doc_type: a.doc_type().as_str().into(), doc_number_masked: a.doc.masked(), name: a.row.name.clone() },
    }
}

#[derive(Deserialize, Serialize, ToSchema, Default)]
#[serde(default)]
pub struct UpstreamLinkForm {
    /// The password of the account with the upstream identity's number.
    #[serde(deserialize_with = "loose_string")]
    pub password: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub captcha_token: Option<String>,
}

/// 教育部账号登录, first time: prove the account's password once; the
/// identity waiting in the `jszg_upstream` cookie is then linked.
#[utoipa::path(post, path = "/api/v1/sessions/upstream-link", tag = "sessions", request_body = UpstreamLinkForm,
    responses((status = 200, body = LoginResult, description = "Signed in and linked; sets the jszg_session cookie"),
              (status = 401, description = "invalid_credentials (no link made)", body = crate::error::ErrorBody),
              (status = 410, description = "upstream_expired: no identity waiting", body = crate::error::ErrorBody),
              (status = 409, description = "upstream_link_conflict", body = crate::error::ErrorBody),
              (status = 422, description = "captcha_required, captcha_failed", body = crate::error::ErrorBody),
              (status = 429, description = "account_locked (retry_after), too_many_attempts", body = crate::error::ErrorBody)))]
pub async fn upstream_link(
    State(app): State<App>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Json(form): Json<UpstreamLinkForm>,
) -> AppResult<Response> {
    let pending = cookie(&headers, upstream_login::PENDING_COOKIE);
    if upstream_login::pending(&app, pending).await?.filter(upstream_login::PendingIdentity::needs_password).is_none() {
        return Err(AppError::new(ErrorCode::UpstreamExpired, "教育部账号登录已超时，请返回登录页重新点击“教育部账号登录”。"));
    }
    let password = PasswordAttempt::new(form.password.unwrap_or_default());
    captcha::spend(&app, form.captcha_token.as_deref(), Purpose::Login).await?;
    let (logged_in, entry) = upstream_login::link_with_password(&app, pending, &password, &ip).await?;
    if let Some(old) = cookie(&headers, sessions::COOKIE) {
        sessions::end(&app, old).await?;
    }
    let cookies = AppendHeaders([
        (header::SET_COOKIE, session_cookie(&app, &logged_in.token)),
        (header::SET_COOKIE, lax_cookie(&app, upstream_login::PENDING_COOKIE, "", 0)),
    ]);
    Ok((cookies, axum::Json(login_result(&logged_in, entry))).into_response())
}

#[utoipa::path(delete, path = "/api/v1/me/upstream", tag = "sessions",
    responses((status = 204, description = "The 教育部账号 link is removed (or there was none)"), (status = 401, body = crate::error::ErrorBody)))]
pub async fn upstream_unlink(State(app): State<App>, SignedIn(current): SignedIn) -> AppResult<StatusCode> {
    upstream_login::unlink(&app, current.applicant.id()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/api/v1/sessions/current", tag = "sessions", responses((status = 204)))]
pub async fn destroy(State(app): State<App>, headers: HeaderMap) -> AppResult<Response> {
    if let Some(token) = cookie(&headers, sessions::COOKIE) {
        sessions::end(&app, token).await?;
    }
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, clear_session_cookie(&app))]).into_response())
}

#[utoipa::path(get, path = "/api/v1/me", tag = "sessions",
    responses((status = 200, body = Me), (status = 401, body = crate::error::ErrorBody)))]
pub async fn me(State(app): State<App>, headers: HeaderMap) -> AppResult<axum::Json<Me>> {
    // Not the `SignedIn` extractor: the session and the standing come in one query.
    let token = cookie(&headers, sessions::COOKIE).unwrap_or("");
    let (current, standing) =
        sessions::resolve_with_standing(&app, token).await?.ok_or_else(crate::http::session::not_logged_in)?;
    Ok(axum::Json(profile::me_with(&app, &current.applicant, standing)?.into()))
}

#[utoipa::path(put, path = "/api/v1/me/profile", tag = "sessions", request_body = ProfileFormDoc,
    responses((status = 200, body = Me),
              (status = 422, description = "invalid_ethnicity, invalid_sex, invalid_birth_date, invalid_local_id_number, invalid_permit_number; invalid_request for a field that is not text", body = crate::error::ErrorBody),
              (status = 409, description = "review_pending", body = crate::error::ErrorBody)))]
pub async fn update_profile(
    State(app): State<App>,
    SignedIn(current): SignedIn,
    Json(raw): Json<serde_json::Value>,
) -> AppResult<axum::Json<Me>> {
    const TEXT: [&str; 5] = ["ethnicity", "sex", "birth_date", "local_id_number", "permit_number"];
    if let Some(field) = crate::http::mistyped(&raw, &TEXT) {
        return Err(AppError::invalid(ErrorCode::InvalidRequest, field, "该项须为文本，请检查后重新提交。"));
    }
    let form: ProfileForm = crate::http::read_json(raw)?;
    profile::update(&app, &current.applicant, &form).await?;
    let refreshed = sessions::resolve_by_hash(&app, &current.id_hash).await?.ok_or_else(crate::http::session::not_logged_in)?;
    Ok(axum::Json(profile::me(&app, &refreshed.applicant).await?.into()))
}

#[derive(Deserialize, Serialize, ToSchema, Default)]
#[serde(default)]
pub struct PasswordChange {
    #[serde(deserialize_with = "loose_string")]
    pub current_password: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub new_password: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub new_password_confirm: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/me/password", tag = "sessions", request_body = PasswordChange,
    responses((status = 204, description = "Changed; every other session ended"),
              (status = 401, description = "invalid_credentials (current password)", body = crate::error::ErrorBody),
              (status = 422, description = "weak_password, password_mismatch", body = crate::error::ErrorBody)))]
pub async fn change_password(
    State(app): State<App>,
    SignedIn(current): SignedIn,
    Json(body): Json<PasswordChange>,
) -> AppResult<StatusCode> {
    let change = account_changes::PasswordChange {
        current: PasswordAttempt::new(body.current_password.unwrap_or_default()),
        new: PasswordChoice::new(body.new_password.unwrap_or_default(), body.new_password_confirm.unwrap_or_default()),
    };
    account_changes::change_password(&app, &current.applicant, &current.id_hash, &change).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, Serialize, ToSchema, Default)]
#[serde(default)]
pub struct PhoneChange {
    #[serde(deserialize_with = "loose_string")]
    pub phone: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub verification_code: Option<String>,
}

#[derive(Deserialize, Serialize, ToSchema, Default)]
#[serde(default)]
pub struct EmailChange {
    #[serde(deserialize_with = "loose_string")]
    pub email: Option<String>,
    #[serde(deserialize_with = "loose_string")]
    pub verification_code: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/me/phone", tag = "sessions", request_body = PhoneChange,
    responses((status = 204), (status = 422, description = "invalid_phone, invalid_verification_code", body = crate::error::ErrorBody),
              (status = 409, description = "review_pending", body = crate::error::ErrorBody)))]
pub async fn change_phone(State(app): State<App>, SignedIn(current): SignedIn, Json(body): Json<PhoneChange>) -> AppResult<StatusCode> {
    let change = account_changes::PhoneChange::parse(body.phone.as_deref().unwrap_or(""), body.verification_code.as_deref().unwrap_or(""))?;
    account_changes::change_phone(&app, &current.applicant, &change).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/me/email", tag = "sessions", request_body = EmailChange,
    responses((status = 204), (status = 422, description = "invalid_email, invalid_verification_code", body = crate::error::ErrorBody),
              (status = 409, description = "review_pending", body = crate::error::ErrorBody)))]
pub async fn change_email(State(app): State<App>, SignedIn(current): SignedIn, Json(body): Json<EmailChange>) -> AppResult<StatusCode> {
    let change = account_changes::EmailChange::parse(body.email.as_deref().unwrap_or(""), body.verification_code.as_deref().unwrap_or(""))?;
    account_changes::change_email(&app, &current.applicant, &change).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct EntryRedirect {
    pub redirect: String,
}

#[utoipa::path(get, path = "/api/v1/entries/{entry}", tag = "sessions", params(("entry" = String, Path)),
    responses((status = 200, body = EntryRedirect),
              (status = 409, description = "profile_incomplete", body = crate::error::ErrorBody),
              (status = 403, description = "realname_required", body = crate::error::ErrorBody),
              (status = 404, description = "unknown_entry: neither certification nor renewal", body = crate::error::ErrorBody),
              (status = 401, body = crate::error::ErrorBody)))]
pub async fn entry(State(app): State<App>, Path(entry): Path<String>, SignedIn(current): SignedIn) -> AppResult<axum::Json<EntryRedirect>> {
    let entry = Entry::parse(&entry).ok_or_else(|| AppError::new(ErrorCode::UnknownEntry, "没有这个业务入口。"))?;
    Ok(axum::Json(EntryRedirect { redirect: account_changes::entry_gate(&app, &current.applicant, entry)? }))
}
