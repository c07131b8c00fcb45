//! The development outbox page (NOTE-2): where a developer reads codes and links.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use crate::app::App;
use crate::http::dev::api::{list_messages, OutboxQuery};

pub fn router() -> Router<App> {
    Router::new()
        .route("/dev/outbox", get(page))
        .route("/dev/wechat", get(wechat_phone))
        .route("/dev/wechat/qrcode.svg", get(wechat_qr))
        .route("/dev/wechat/follow.svg", get(wechat_follow_qr))
}

#[derive(Template)]
#[template(path = "dev_wechat.html")]
struct WechatPhonePage;

/// WX-4: the phone. The page keeps its openid in the browser; `?scan=` and `?follow=1` are what
/// the QR codes encode, so opening one is scanning it.
async fn wechat_phone(State(app): State<App>) -> Response {
    if app.wechat_simulator().is_none() {
        return crate::http::status_response(axum::http::StatusCode::NOT_FOUND, false);
    }
    crate::http::pages::render(&WechatPhonePage)
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct TicketQuery {
    ticket: String,
}

fn svg(content: Option<String>) -> Response {
    use axum::response::IntoResponse;
    match content.as_deref().and_then(crate::adapters::wechat::simulator::qr_svg) {
        Some(svg) => ([(axum::http::header::CONTENT_TYPE, "image/svg+xml"), (axum::http::header::CACHE_CONTROL, "no-store")], svg).into_response(),
        None => crate::http::status_response(axum::http::StatusCode::NOT_FOUND, false),
    }
}

/// The picture of a simulated QR code (the platform's `showqrcode`).
async fn wechat_qr(State(app): State<App>, query: Result<Query<TicketQuery>, axum::extract::rejection::QueryRejection>) -> Response {
    let ticket = query.map(|Query(q)| q.ticket).unwrap_or_default();
    svg(app.wechat_simulator().and_then(|sim| sim.qr_content(&ticket)))
}

/// The simulated account's own QR code: scanning it follows the account.
async fn wechat_follow_qr(State(app): State<App>) -> Response {
    svg(app.wechat_simulator().map(|sim| sim.follow_content()))
}

struct Item {
    channel: String,
    channel_label: &'static str,
    to: String,
    subject: Option<String>,
    body: String,
    created_at: String,
    status: String,
}

#[derive(Template)]
#[template(path = "dev_outbox.html")]
struct OutboxPage {
    to: String,
    messages: Vec<Item>,
}

async fn page(State(app): State<App>, Query(q): Query<OutboxQuery>) -> Response {
    let to = q.to.unwrap_or_default();
    let filter = Some(to.as_str()).filter(|t| !t.trim().is_empty());
    match list_messages(&app, filter, 100).await {
        Ok(list) => crate::http::pages::render(&OutboxPage {
            to: to.clone(),
            messages: list
                .into_iter()
                .map(|m| Item {
                    channel_label: match m.channel.as_str() {
                        "sms" => "短信",
                        "email" => "邮件",
                        _ => "微信",
                    },
                    channel: m.channel,
                    to: m.to,
                    subject: m.subject,
                    body: m.body,
                    created_at: m.created_at,
                    status: m.status,
                })
                .collect(),
        }),
        Err(err) => axum::response::IntoResponse::into_response(err),
    }
}
