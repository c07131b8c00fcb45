//! The development outbox page (NOTE-2): where a developer reads codes and links.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use crate::app::App;
use crate::http::api::dev::{list_messages, OutboxQuery};

pub fn router() -> Router<App> {
    Router::new().route("/dev/outbox", get(page))
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
        Ok(list) => super::render(&OutboxPage {
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
