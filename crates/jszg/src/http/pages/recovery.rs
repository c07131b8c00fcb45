//! 忘记密码 (REC-1..3, manual §2.2.2): step 1 and step 2 on one page, with
//! the contact change form (CC-1) behind 修改邮箱地址 / 修改手机号码; and the
//! page behind the emailed reset link. The scripts call the recovery API.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use jszg_domain::DocType;

use crate::app::App;
use crate::clock::beijing_minutes;
use crate::flows::{contact_change, recovery};

use super::register::EntryQuery;

pub fn router() -> Router<App> {
    Router::new()
        .route("/recover", get(recover_page))
        .route("/reset/{token}", get(reset_page))
        .route("/wechat/reset", get(wechat_reset_page))
        .route("/contact-changes/cancel", get(cancel_page).post(cancel_submit))
}

/// What the withdrawal page shows of the request before asking.
struct PendingView {
    submitted: String,
    what: &'static str,
    new_value_masked: String,
}

#[derive(Template)]
#[template(path = "contact_change_cancel.html")]
struct CancelPage {
    pending: Option<PendingView>,
    token: String,
    message: String,
}

/// The page behind the link sent to the account's current phone and email when a contact
/// change was filed: what was asked and when, and a button that withdraws it. Opening the link
/// changes nothing (mail scanners open links); only the button does.
async fn cancel_page(State(app): State<App>, query: Result<Query<TokenQuery>, axum::extract::rejection::QueryRejection>) -> Response {
    let token = query.map(|Query(q)| q.token).unwrap_or_default().trim().to_owned();
    let page = match contact_change::by_cancel_link(&app, &token).await {
        Ok((_, p, _)) => CancelPage {
            pending: Some(PendingView { submitted: beijing_minutes(p.submitted_at), what: p.kind.label(), new_value_masked: p.new_value_masked }),
            token,
            message: String::new(),
        },
        Err(err) if err.status.is_client_error() => CancelPage { pending: None, token: String::new(), message: err.message.into_owned() },
        Err(err) => return err.into_response(),
    };
    let status = if page.pending.is_some() { StatusCode::OK } else { StatusCode::GONE };
    (status, [(header::CACHE_CONTROL, "no-store")], super::render(&page)).into_response()
}

async fn cancel_submit(State(app): State<App>, axum::extract::Form(f): axum::extract::Form<TokenQuery>) -> Response {
    let (status, message) = match contact_change::withdraw_by_link(&app, f.token.trim()).await {
        Ok(()) => (StatusCode::OK, "已撤销该修改联系方式申请，账号绑定的联系方式保持不变。建议您登录账号修改密码。".to_owned()),
        Err(err) if err.status.is_client_error() => (err.status, err.message.into_owned()),
        Err(err) => return err.into_response(),
    };
    let page = CancelPage { pending: None, token: String::new(), message };
    (status, [(header::CACHE_CONTROL, "no-store")], super::render(&page)).into_response()
}

#[derive(Template)]
#[template(path = "recover.html")]
struct RecoverPage {
    doc_types: Vec<(&'static str, &'static str)>,
    entry: &'static str,
    /// The service account is set up here: 微信验证重置密码 is shown to everyone, as in the
    /// manual, with the reason when the account is not bound yet.
    wechat: bool,
}

async fn recover_page(State(app): State<App>, Query(q): Query<EntryQuery>) -> Response {
    let entry = super::entry_or_default(q.entry.as_deref());
    let page = super::render(&RecoverPage {
        doc_types: DocType::ALL.iter().map(|t| (t.as_str(), t.label_zh())).collect(),
        entry,
        wechat: app.wechat.is_some(),
    });
    ([(header::CACHE_CONTROL, "no-store")], page).into_response()
}

#[derive(Template)]
#[template(path = "reset.html")]
struct ResetPage {
    live: bool,
    endpoint: &'static str,
    /// The chat's link (REC-2c): opened in WeChat on a phone.
    wechat: bool,
}

/// The page behind the emailed link (REC-2a). The token stays in the
/// address bar only: the page neither repeats it nor loads anything from
/// elsewhere, and its script reads it from the path.
async fn reset_page(State(app): State<App>, Path(token): Path<String>) -> Response {
    let live = match recovery::link_live(&app, recovery::ResetLink::Email, token.trim()).await {
        Ok(live) => live,
        Err(err) => return err.into_response(),
    };
    let status = if live { StatusCode::OK } else { StatusCode::GONE };
    let page = ResetPage { live, endpoint: "/api/v1/password-resets", wechat: false };
    (status, [(header::CACHE_CONTROL, "no-store")], super::render(&page)).into_response()
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct TokenQuery {
    token: String,
}

/// The page behind the link the bound WeChat gets in the chat (REC-2c).
async fn wechat_reset_page(State(app): State<App>, query: Result<Query<TokenQuery>, axum::extract::rejection::QueryRejection>) -> Response {
    let token = query.map(|Query(q)| q.token).unwrap_or_default();
    let live = match recovery::link_live(&app, recovery::ResetLink::Wechat, token.trim()).await {
        Ok(live) => live,
        Err(err) => return err.into_response(),
    };
    let status = if live { StatusCode::OK } else { StatusCode::GONE };
    let page = ResetPage { live, endpoint: "/api/v1/wechat/password-resets", wechat: true };
    (status, [(header::CACHE_CONTROL, "no-store")], super::render(&page)).into_response()
}
