//! `/wechat/callback`, the platform's side of the service account (WX-1; API.md "WeChat").
//!
//! A request whose `signature` does not check gets 401 and nothing is done. A signed one always
//! gets 200 within the platform's 5 s: a passive reply, or `success`. An error body would show the
//! applicant 该公众号暂时无法提供服务, so what cannot be read is logged and answered `success`.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use rand::RngCore;
use serde::Deserialize;

use crate::adapters::wechat::{safe_mode, wire, ServiceAccount};
use crate::app::App;
use crate::flows::wechat as chat;
use crate::message::{Channel, Message};

/// Answer before the platform gives up (5 s) with room for the network.
const DEADLINE: Duration = Duration::from_millis(4000);
/// How far a request's timestamp may be from now: the platform retries within a minute.
const FRESHNESS: i64 = 300;

pub fn router() -> Router<App> {
    Router::new().route("/wechat/callback", get(verify).post(receive))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Signed {
    signature: String,
    timestamp: String,
    nonce: String,
    echostr: String,
    encrypt_type: String,
    msg_signature: String,
}

fn text(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

fn refused() -> Response {
    text(StatusCode::UNAUTHORIZED, "invalid signature".to_owned())
}

fn success() -> Response {
    text(StatusCode::OK, "success".to_owned())
}

fn not_configured() -> Response {
    text(StatusCode::NOT_FOUND, "the service account is not configured".to_owned())
}

/// The platform signs with its own clock: compare with the real time, never the development clock.
fn real_now() -> i64 {
    #[allow(clippy::disallowed_methods)]
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn fresh(timestamp: &str) -> bool {
    timestamp.parse::<i64>().is_ok_and(|t| (t - real_now()).abs() <= FRESHNESS)
}

fn signed(account: &ServiceAccount, q: &Signed) -> bool {
    fresh(&q.timestamp) && safe_mode::signature_ok(&q.signature, &[&account.token, &q.timestamp, &q.nonce])
}

/// URL verification when the callback is set in the console: the `echostr` back, for a fresh
/// signature only (a captured one must not verify another URL a month later).
async fn verify(State(app): State<App>, query: Result<Query<Signed>, QueryRejection>) -> Response {
    let q = query.map(|Query(q)| q).unwrap_or_default();
    let Some(account) = app.wechat.as_deref() else { return not_configured() };
    if !signed(account, &q) {
        return refused();
    }
    text(StatusCode::OK, q.echostr)
}

/// The URL signature (`signature`, `timestamp`, `nonce`) does not cover the body: remember each
/// triple with its body for the freshness window, so a captured one carries no other body.
async fn fresh_triple(app: &App, q: &Signed, body: &[u8]) -> crate::error::AppResult<bool> {
    let key = app.vault.mac(&[b"wechat_nonce", q.timestamp.as_bytes(), q.nonce.as_bytes(), q.signature.as_bytes()]);
    let body_hash = app.vault.mac(&[b"wechat_body", body]);
    Ok(crate::store::wechat::nonce_fits(&app.db, &key, &body_hash, real_now()).await?)
}

async fn queue_late(app: &App, message: &Message) -> crate::error::AppResult<()> {
    let mut tx = app.db.begin().await?;
    crate::flows::notify::queue(&mut tx, app, message).await?;
    tx.commit().await?;
    app.wake_outbox();
    Ok(())
}

async fn receive(State(app): State<App>, query: Result<Query<Signed>, QueryRejection>, body: Bytes) -> Response {
    let Some(account) = app.wechat.clone() else { return not_configured() };
    let q = query.map(|Query(q)| q).unwrap_or_default();
    if !signed(&account, &q) {
        tracing::info!("wechat callback with a bad or stale signature refused");
        return refused();
    }
    // Safe mode configured: only encrypted, envelope-signed messages. A plaintext body with the
    // URL signature of a captured safe-mode call is a downgrade.
    let encrypted = q.encrypt_type.eq_ignore_ascii_case("aes");
    if account.safe_mode.is_some() && (!encrypted || q.msg_signature.is_empty()) {
        tracing::info!("wechat callback without encryption refused: safe mode is configured");
        return refused();
    }
    match fresh_triple(&app, &q, &body).await {
        Ok(true) => {}
        Ok(false) => {
            tracing::info!("wechat callback signature replayed with another body refused");
            return refused();
        }
        Err(err) => {
            tracing::error!(%err, "wechat nonce not recorded");
            return success();
        }
    }
    let Ok(body) = std::str::from_utf8(&body) else {
        tracing::info!("wechat callback body is not UTF-8");
        return success();
    };
    // Safe mode: the envelope's own signature, then the AES layer.
    let xml = if encrypted {
        let Some(safe) = account.safe_mode.as_ref() else {
            tracing::warn!("an encrypted wechat message arrived but no encoding_aes_key is configured");
            return success();
        };
        let Ok(encrypt) = wire::envelope(body) else {
            tracing::info!("wechat envelope unreadable");
            return success();
        };
        if !safe_mode::signature_ok(&q.msg_signature, &[&account.token, &q.timestamp, &q.nonce, &encrypt]) {
            tracing::info!("wechat msg_signature refused");
            return refused();
        }
        match safe.decrypt(&encrypt) {
            Ok(xml) => xml,
            Err(err) => {
                tracing::info!(%err, "wechat envelope refused");
                return success();
            }
        }
    } else {
        body.to_owned()
    };
    let message = match wire::Inbound::parse(&xml) {
        Ok(m) => m,
        Err(err) => {
            tracing::info!(%err, "wechat message unreadable");
            return success();
        }
    };
    // The chat runs on its own task: if it outlives the deadline, its reply goes out as a
    // customer-service message through the outbox instead of the lost passive reply.
    let (to, from, sent_at) = (message.openid.clone(), message.account.clone(), message.create_time);
    let task_app = app.clone();
    let (tx, rx) = tokio::sync::oneshot::channel::<Option<String>>();
    tokio::spawn(async move {
        let reply = match chat::receive(&task_app, &message).await {
            Ok(reply) => reply,
            Err(err) => {
                tracing::error!(%err, "wechat message failed");
                None
            }
        };
        if let Err(Some(late)) = tx.send(reply) {
            let late = Message { channel: Channel::Wechat, to: message.openid, subject: None, body: late, html: None, sms: None };
            if let Err(err) = queue_late(&task_app, &late).await {
                tracing::error!(%err, "late wechat reply lost");
            }
        }
    });
    let reply = match tokio::time::timeout(DEADLINE, rx).await {
        Ok(Ok(Some(reply))) => reply,
        _ => return success(),
    };
    let xml = wire::text_reply(&to, &from, sent_at.max(0), &reply);
    match (encrypted, account.safe_mode.as_ref()) {
        (true, Some(safe)) => {
            let mut random = [0u8; 16];
            rand::rngs::OsRng.fill_bytes(&mut random);
            // Sixteen random letters, as the platform's own samples and wechatpy use.
            for b in &mut random {
                *b = b'a' + (*b % 26);
            }
            let envelope = safe.reply(&account.token, &xml, &q.timestamp, &q.nonce, random);
            (StatusCode::OK, [(header::CONTENT_TYPE, "application/xml; charset=utf-8")], envelope).into_response()
        }
        _ => (StatusCode::OK, [(header::CONTENT_TYPE, "application/xml; charset=utf-8")], xml).into_response(),
    }
}
