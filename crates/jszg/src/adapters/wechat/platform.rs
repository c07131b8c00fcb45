//! The platform's API (WX-1..3): access tokens, temporary QR codes and customer-service messages.
//!
//! Tokens come from `stable_token`, never `/cgi-bin/token`: the latter hands out a new token on each
//! call and so invalidates the one every other instance holds, while `stable_token` (without
//! `force_refresh`) returns the same token to every caller until it expires. Each instance caches
//! it and asks again five minutes before expiry; a call refused with 40001/42001/40014 (token
//! invalid or expired) drops the cache and is retried once.

use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::Mutex;

use crate::config::WechatConfig;

/// Refresh this long before the platform's expiry.
const MARGIN: Duration = Duration::from_secs(300);
/// Error codes meaning the token is no longer good.
const TOKEN_ERRORS: [i64; 3] = [40001, 40014, 42001];

pub struct Platform {
    config: WechatConfig,
    http: reqwest::Client,
    token: Mutex<Option<(String, Instant)>>,
}

/// A temporary QR code: `url` is what the code encodes.
#[derive(Debug, Clone, Deserialize)]
pub struct QrCode {
    pub ticket: String,
    pub url: String,
    pub expire_seconds: u64,
}

impl Platform {
    pub fn new(config: &WechatConfig) -> Result<Self, String> {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().map_err(|e| format!("wechat http client: {e}"))?;
        Ok(Self { config: config.clone(), http, token: Mutex::new(None) })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.config.api_base.trim_end_matches('/'))
    }

    async fn access_token(&self) -> Result<String, String> {
        let mut cached = self.token.lock().await;
        if let Some((token, until)) = cached.as_ref() {
            if Instant::now() < *until {
                return Ok(token.clone());
            }
        }
        let body = json!({"grant_type": "client_credential", "appid": self.config.app_id, "secret": self.config.app_secret, "force_refresh": false});
        let answer: Value = self.post_json(&self.url("/cgi-bin/stable_token"), &body).await?;
        let token = answer.get("access_token").and_then(Value::as_str).filter(|t| !t.is_empty());
        let Some(token) = token else { return Err(format!("wechat stable_token: {}", describe(&answer))) };
        let lifetime = Duration::from_secs(answer.get("expires_in").and_then(Value::as_u64).unwrap_or(7200));
        *cached = Some((token.to_owned(), Instant::now() + lifetime.saturating_sub(MARGIN)));
        Ok(token.to_owned())
    }

    async fn post_json(&self, url: &str, body: &Value) -> Result<Value, String> {
        let response = self.http.post(url).json(body).send().await.map_err(|e| format!("wechat {}: {e}", path_of(url)))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("wechat {}: HTTP {status}", path_of(url)));
        }
        response.json::<Value>().await.map_err(|e| format!("wechat {}: {e}", path_of(url)))
    }

    /// Call an API that takes `access_token`; once more with a fresh token if it was refused.
    async fn call(&self, path: &str, body: &Value) -> Result<Value, String> {
        for attempt in 0..2 {
            let token = self.access_token().await?;
            let url = format!("{}?access_token={token}", self.url(path));
            let answer = self.post_json(&url, body).await?;
            match answer.get("errcode").and_then(Value::as_i64).unwrap_or(0) {
                0 => return Ok(answer),
                code if TOKEN_ERRORS.contains(&code) && attempt == 0 => {
                    let mut cached = self.token.lock().await;
                    if cached.as_ref().is_some_and(|(t, _)| *t == token) {
                        *cached = None;
                    }
                }
                _ => return Err(format!("wechat {path}: {}", describe(&answer))),
            }
        }
        Err(format!("wechat {path}: the access token was refused twice"))
    }

    /// A temporary QR code for `scene` (QR_STR_SCENE, at most 64 characters).
    pub async fn qr_code(&self, scene: &str, expire_seconds: u64) -> Result<QrCode, String> {
        let body = json!({"expire_seconds": expire_seconds, "action_name": "QR_STR_SCENE", "action_info": {"scene": {"scene_str": scene}}});
        let answer = self.call("/cgi-bin/qrcode/create", &body).await?;
        serde_json::from_value(answer).map_err(|e| format!("wechat qrcode/create: {e}"))
    }

    /// A customer-service text message (outside the 5 s of a passive reply).
    pub async fn send_text(&self, openid: &str, content: &str) -> Result<(), String> {
        let body = json!({"touser": openid, "msgtype": "text", "text": {"content": content}});
        self.call("/cgi-bin/message/custom/send", &body).await.map(|_| ())
    }
}

/// The picture of a QR code, served by the platform for its ticket.
pub fn qr_image_url(ticket: &str) -> String {
    let query = serde_urlencoded::to_string([("ticket", ticket)]).unwrap_or_default();
    format!("https://mp.weixin.qq.com/cgi-bin/showqrcode?{query}")
}

fn path_of(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}

/// `errcode errmsg`, never the token or the secret.
fn describe(answer: &Value) -> String {
    let code = answer.get("errcode").and_then(Value::as_i64).unwrap_or(-1);
    let message = answer.get("errmsg").and_then(Value::as_str).unwrap_or("");
    format!("errcode {code} {message}")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::sync::{Arc, Mutex as StdMutex};

    use axum::extract::{Query, State};
    use axum::routing::post;
    use axum::{Json, Router};

    use super::*;

    /// What the fake platform saw: (path, token in the query, body).
    type Calls = Arc<StdMutex<Vec<(String, Option<String>, Value)>>>;

    /// A local stand-in of api.weixin.qq.com: `stable_token` hands out `token-N` (N counting forced
    /// refreshes only, as the platform does), the first message send is refused with 40001.
    async fn fake_platform() -> (String, Calls) {
        let calls: Calls = Arc::default();
        async fn record(path: &str, calls: &Calls, query: &std::collections::HashMap<String, String>, body: &Value) -> usize {
            let mut calls = calls.lock().unwrap();
            calls.push((path.to_owned(), query.get("access_token").cloned(), body.clone()));
            calls.iter().filter(|(p, _, _)| p == path).count()
        }
        let app = Router::new()
            .route(
                "/cgi-bin/stable_token",
                post(|State(calls): State<Calls>, Query(q): Query<std::collections::HashMap<String, String>>, Json(body): Json<Value>| async move {
                    record("/cgi-bin/stable_token", &calls, &q, &body).await;
                    if body["appid"] != "wx_app" || body["secret"] != "s3cret" {
                        return Json(json!({"errcode": 40013, "errmsg": "invalid appid"}));
                    }
                    Json(json!({"access_token": "token-0", "expires_in": 7200}))
                }),
            )
            .route(
                "/cgi-bin/message/custom/send",
                post(|State(calls): State<Calls>, Query(q): Query<std::collections::HashMap<String, String>>, Json(body): Json<Value>| async move {
                    let n = record("/cgi-bin/message/custom/send", &calls, &q, &body).await;
                    Json(if n == 1 { json!({"errcode": 40001, "errmsg": "invalid credential"}) } else { json!({"errcode": 0, "errmsg": "ok"}) })
                }),
            )
            .route(
                "/cgi-bin/qrcode/create",
                post(|State(calls): State<Calls>, Query(q): Query<std::collections::HashMap<String, String>>, Json(body): Json<Value>| async move {
                    record("/cgi-bin/qrcode/create", &calls, &q, &body).await;
                    let scene = body["action_info"]["scene"]["scene_str"].as_str().unwrap_or_default().to_owned();
                    Json(json!({"ticket": format!("t-{scene}"), "expire_seconds": body["expire_seconds"], "url": format!("http://weixin.qq.com/q/{scene}")}))
                }),
            )
            .with_state(calls.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (base, calls)
    }

    fn config(base: &str, secret: &str) -> WechatConfig {
        WechatConfig { app_id: "wx_app".into(), app_secret: secret.into(), token: "t".into(), encoding_aes_key: String::new(), api_base: base.into(), follow_qr_url: None }
    }

    #[tokio::test]
    async fn tokens_are_shared_cached_and_retried_once() {
        let (base, calls) = fake_platform().await;
        let a = Platform::new(&config(&base, "s3cret")).unwrap();
        let b = Platform::new(&config(&base, "s3cret")).unwrap();
        let qr = a.qr_code("scene-1", 300).await.unwrap();
        assert_eq!(qr.url, "http://weixin.qq.com/q/scene-1");
        assert_eq!(qr.expire_seconds, 300);
        a.qr_code("scene-2", 300).await.unwrap();
        // The first send is refused with 40001: the cache is dropped and the call retried once.
        b.send_text("o_applicant", "您的验证码是123456").await.unwrap();
        let calls = calls.lock().unwrap();
        let tokens: Vec<_> = calls.iter().filter(|(p, _, _)| p == "/cgi-bin/stable_token").collect();
        // a: once (cached for the second QR code); b: once, then once more after 40001.
        assert_eq!(tokens.len(), 3, "{calls:?}");
        assert!(tokens.iter().all(|(_, _, body)| body["force_refresh"] == false), "no instance invalidates the others' token");
        let qr_calls: Vec<_> = calls.iter().filter(|(p, _, _)| p == "/cgi-bin/qrcode/create").collect();
        assert!(qr_calls.iter().all(|(_, t, body)| t.as_deref() == Some("token-0") && body["action_name"] == "QR_STR_SCENE"));
        let sends: Vec<_> = calls.iter().filter(|(p, _, _)| p == "/cgi-bin/message/custom/send").collect();
        assert_eq!(sends.len(), 2);
        assert_eq!(sends[1].2, json!({"touser": "o_applicant", "msgtype": "text", "text": {"content": "您的验证码是123456"}}));
    }

    #[tokio::test]
    async fn a_refused_secret_is_an_error_without_the_secret() {
        let (base, _) = fake_platform().await;
        let err = Platform::new(&config(&base, "wrong-secret")).unwrap().send_text("o", "x").await.unwrap_err();
        assert!(err.contains("40013"), "{err}");
        assert!(!err.contains("wrong-secret"), "{err}");
    }
}
