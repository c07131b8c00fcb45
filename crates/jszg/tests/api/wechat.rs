//! The WeChat callback (WX-1) through the whole app: signatures, retries acted on once across two
//! instances, and a late reply through the outbox. wechatpy plays the platform in `.ci/wechat.sh`;
//! here the messages are signed with jszg's own helpers.

use std::time::Duration;

use jszg::adapters::wechat::safe_mode::{signature, SafeMode};
use jszg::config::WechatConfig;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

const TOKEN: &str = "api-test-token";
const KEY: &str = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR";
const APP_ID: &str = "wx49f0ab532d5d035a";

fn wechat(encoding_aes_key: &str) -> Option<WechatConfig> {
    Some(WechatConfig {
        app_id: APP_ID.into(),
        app_secret: "api-test-secret".into(),
        token: TOKEN.into(),
        encoding_aes_key: encoding_aes_key.into(),
        // Nothing in these tests may reach the platform's API.
        api_base: "http://127.0.0.1:9".into(),
        follow_qr_url: None,
    })
}

async fn spawn_wechat(key: &str) -> TestApp {
    let (url, dir) = fresh_database().await;
    let mut config = test_config(&url);
    config.wechat = wechat(key);
    spawn_with(config, dir).await
}

fn now() -> String {
    #[allow(clippy::disallowed_methods)]
    time::OffsetDateTime::now_utc().unix_timestamp().to_string()
}

fn query(timestamp: &str, nonce: &str) -> String {
    format!("signature={}&timestamp={timestamp}&nonce={nonce}", signature(&[TOKEN, timestamp, nonce]))
}

fn text_message(openid: &str, msg_id: &str, content: &str) -> String {
    format!("<xml><ToUserName><![CDATA[gh_test]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>")
}

async fn post(api: &Api, query: &str, body: String) -> (StatusCode, String) {
    let res = api.client.post(api.url(&format!("/wechat/callback?{query}"))).body(body).send().await.unwrap();
    (res.status(), res.text().await.unwrap())
}

#[tokio::test]
async fn a_message_retried_on_two_instances_is_acted_on_once() {
    let a = spawn_wechat("").await;
    let mut config = test_config(&a.database_url);
    config.keys = a.app.config.keys.clone();
    config.wechat = wechat("");
    let b = spawn_with(config, None).await;
    let ts = now();
    let q = query(&ts, "n1");
    let xml = text_message("o_retry", "7000000000000000001", "你好");
    // The platform's retries land on whichever instance the balancer picks, at once.
    let mut answers = Vec::new();
    for round in futures::future::join_all((0..6).map(|i| {
        let api = if i % 2 == 0 { &a.api } else { &b.api };
        post(api, &q, xml.clone())
    }))
    .await
    {
        answers.push(round);
    }
    assert!(answers.iter().all(|(status, _)| *status == StatusCode::OK), "{answers:?}");
    let replies = answers.iter().filter(|(_, body)| body.contains("<Content>")).count();
    let successes = answers.iter().filter(|(_, body)| body == "success").count();
    assert_eq!((replies, successes), (1, 5), "{answers:?}");
    // Another message from the same applicant (its own nonce) is answered.
    let (_, body) = post(&b.api, &query(&ts, "n2"), text_message("o_retry", "7000000000000000002", "你好")).await;
    assert!(body.contains("<ToUserName><![CDATA[o_retry]]></ToUserName>"), "{body}");
}

#[tokio::test]
async fn unsigned_stale_or_unconfigured_requests_do_nothing() {
    let app = spawn_wechat(KEY).await;
    let xml = text_message("o_bad", "7100000000000000001", "你好");
    let ts = now();
    let forged = format!("signature={}&timestamp={ts}&nonce=n", "0".repeat(40));
    assert_eq!(post(&app.api, &forged, xml.clone()).await.0, StatusCode::UNAUTHORIZED);
    let stale = (ts.parse::<i64>().unwrap() - 600).to_string();
    assert_eq!(post(&app.api, &query(&stale, "n"), xml.clone()).await.0, StatusCode::UNAUTHORIZED);
    // Safe mode: the envelope's own signature must check.
    let sealed = SafeMode::new(KEY, APP_ID).unwrap().encrypt(&xml, *b"abcdefghijklmnop");
    let envelope = format!("<xml><ToUserName>gh_test</ToUserName><Encrypt><![CDATA[{sealed}]]></Encrypt></xml>");
    let wrong = format!("{}&encrypt_type=aes&msg_signature={}", query(&ts, "n"), "1".repeat(40));
    assert_eq!(post(&app.api, &wrong, envelope.clone()).await.0, StatusCode::UNAUTHORIZED);
    // None of that was recorded: the genuine message, sealed, is answered, sealed.
    let good = format!("{}&encrypt_type=aes&msg_signature={}", query(&ts, "n"), signature(&[TOKEN, &ts, "n", &sealed]));
    let (status, body) = post(&app.api, &good, envelope).await;
    assert_eq!(status, StatusCode::OK);
    let inner = jszg::adapters::wechat::wire::envelope(&body).unwrap();
    let reply = SafeMode::new(KEY, APP_ID).unwrap().decrypt(&inner).unwrap();
    assert!(reply.contains("<ToUserName><![CDATA[o_bad]]></ToUserName>"), "{reply}");

    // Development's simulated account has its own secrets: our token's signature is refused.
    let simulated = spawn_app().await;
    assert_eq!(post(&simulated.api, &query(&ts, "n"), xml.clone()).await.0, StatusCode::UNAUTHORIZED);
    // Without [wechat] (and without the simulator) the callback does not exist.
    let plain = spawn_without_wechat().await;
    assert_eq!(post(&plain.api, &query(&ts, "n"), xml).await.0, StatusCode::NOT_FOUND);
}

/// Development without the simulator is a deployment without `[wechat]`.
async fn spawn_without_wechat() -> TestApp {
    let (url, dir) = fresh_database().await;
    let mut config = test_config(&url);
    config.wechat_simulator = false;
    spawn_with(config, dir).await
}

fn click(openid: &str, created: i64, key: &str) -> String {
    format!("<xml><ToUserName>gh_test</ToUserName><FromUserName>{openid}</FromUserName><CreateTime>{created}</CreateTime><MsgType>event</MsgType><Event>CLICK</Event><EventKey>{key}</EventKey></xml>")
}

/// A chat with the service account: each message gets a fresh MsgId, answered in plaintext mode.
struct Chat<'a> {
    api: &'a Api,
    openid: String,
    sent: u64,
}

impl<'a> Chat<'a> {
    fn new(api: &'a Api, openid: &str) -> Self {
        Chat { api, openid: openid.into(), sent: 0 }
    }

    async fn say(&mut self, content: &str) -> String {
        self.sent += 1;
        let msg_id = format!("{}{:06}", 8_000_000_000_000u64 + u64::from(rand::random::<u16>()), self.sent);
        reply_to(self.api, text_message(&self.openid, &msg_id, content)).await
    }

    async fn tap_get_code(&mut self) -> String {
        self.sent += 1;
        reply_to(self.api, click(&self.openid, 1_700_000_000 + self.sent as i64, "GET_CODE")).await
    }

    /// 取验证码, then the number: the code in the reply.
    async fn code_for(&mut self, doc: &str) -> String {
        assert!(self.tap_get_code().await.contains("请输入您注册时填写的证件号码"));
        let reply = self.say(doc).await;
        extract_code(&reply).unwrap_or_else(|| panic!("no code in {reply}"))
    }
}

#[tokio::test]
async fn a_code_from_the_chat_registers_an_account_bound_to_that_wechat() {
    let app = spawn_wechat("").await;
    let doc = resident_id(date("1990-03-07"));
    let mut chat = Chat::new(&app.api, "o_registrant");
    // A number typed without 取验证码 first is not taken.
    assert!(chat.say(&doc).await.contains("取验证码"));
    assert!(chat.say("取验证码").await.contains("请输入您注册时填写的证件号码"));
    // A wrong number keeps the chat waiting for the right one.
    assert!(chat.say(&bad_check(&doc)).await.contains("证件号码有误"));
    let reply = chat.say(&doc).await;
    let code = extract_code(&reply).unwrap_or_else(|| panic!("{reply}"));
    assert!(reply.contains("5分钟内有效"), "{reply}");
    assert!(!reply.contains(&doc), "the reply masks the number: {reply}");

    let phone = phone();
    // The WeChat code is not an SMS code.
    let (status, error) = error_code(app.register(&form(&doc, &phone, &code)).await).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_verification_code")));
    let mut body = form(&doc, &phone, &code);
    body["verification_channel"] = json!("carrier pigeon");
    let (status, error) = error_code(app.register(&body).await).await;
    assert_eq!((status, error["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("verification_channel")), "{error}");
    body["verification_channel"] = json!("wechat");
    let res = app.register(&body).await;
    assert_eq!(res.status(), StatusCode::CREATED, "{}", res.text().await.unwrap());
    assert_eq!(app.login(&doc, PASSWORD, "certification").await.status(), StatusCode::OK);
    let me: Value = app.get("/api/v1/me").await.json().await.unwrap();
    assert_eq!(me["wechat_bound"], true, "{me}");
    // The code is spent.
    let other = app.another_client();
    let mut again = form(&doc, &crate::helpers::phone(), &code);
    again["verification_channel"] = json!("wechat");
    assert_ne!(other.register(&again).await.status(), StatusCode::CREATED);

    // An SMS registration is not bound to anything.
    let sms_app = app.another_client();
    let sms_doc = resident_id(date("1991-04-08"));
    let sms_phone = crate::helpers::phone();
    let res = sms_app.request_sms(&sms_phone, "register").await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let sms_code = app.last_code(&sms_phone).await;
    assert_eq!(sms_app.register(&form(&sms_doc, &sms_phone, &sms_code)).await.status(), StatusCode::CREATED);
    assert_eq!(sms_app.login(&sms_doc, PASSWORD, "certification").await.status(), StatusCode::OK);
    let me: Value = sms_app.get("/api/v1/me").await.json().await.unwrap();
    assert_eq!(me["wechat_bound"], false);
}

#[tokio::test]
async fn three_codes_per_number_per_day_across_wechats_and_instances() {
    let a = spawn_wechat("").await;
    let mut config = test_config(&a.database_url);
    config.keys = a.app.config.keys.clone();
    config.wechat = wechat("");
    let b = spawn_with(config, None).await;
    let doc = resident_id(date("1988-08-08"));
    // Five WeChats ask at once for the same number, on two instances.
    let replies = futures::future::join_all((0..5).map(|i| {
        let api = if i % 2 == 0 { &a.api } else { &b.api };
        let doc = doc.clone();
        async move {
            let mut chat = Chat::new(api, &format!("o_quota_{i}"));
            assert!(chat.tap_get_code().await.contains("证件号码"));
            chat.say(&doc).await
        }
    }))
    .await;
    // A reply later than the platform's 5 seconds (a busy machine) is "success" and goes out as a
    // customer-service message instead: read that one.
    let mut replies = replies;
    for (i, reply) in replies.iter_mut().enumerate() {
        if reply == "success" {
            let api = if i % 2 == 0 { &a.api } else { &b.api };
            let openid = format!("o_quota_{i}");
            *reply = eventually("the late reply sent as a customer-service message", Duration::from_secs(10), || async {
                api.outbox(&openid).await.first().map(|m| m["body"].as_str().unwrap_or_default().to_owned())
            })
            .await;
        }
    }
    let codes = replies.iter().filter(|r| extract_code(r).is_some()).count();
    let refused = replies.iter().filter(|r| r.contains("每天最多3次")).count();
    assert_eq!((codes, refused), (3, 2), "{replies:?}");
    // Only the last code given works, and it binds the WeChat it went to.
    let last_day = a.another_client();
    a.advance_clock(24 * 3600).await;
    let mut chat = Chat::new(&a.api, "o_next_day");
    let code = chat.code_for(&doc).await;
    let mut body = form(&doc, &phone(), &code);
    body["verification_channel"] = json!("wechat");
    assert_eq!(last_day.register(&body).await.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn one_wechat_cannot_ask_for_codes_without_end() {
    let app = spawn_wechat("").await;
    let mut chat = Chat::new(&app.api, "o_greedy");
    let mut given = 0;
    for i in 0..12 {
        let doc = resident_id(date("1980-01-01") + time::Duration::days(i));
        assert!(chat.tap_get_code().await.contains("证件号码"));
        let reply = chat.say(&doc).await;
        if extract_code(&reply).is_some() {
            given += 1;
        } else {
            assert!(reply.contains("过于频繁"), "{reply}");
        }
    }
    assert_eq!(given, 10);
}

/// A local stand-in of the platform's API; keeps the scenes of the QR codes jszg asks for.
async fn fake_platform() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use axum::routing::post as route_post;
    let scenes: std::sync::Arc<std::sync::Mutex<Vec<String>>> = Default::default();
    let kept = scenes.clone();
    let app = axum::Router::new()
        .route("/cgi-bin/stable_token", route_post(|| async { axum::Json(json!({"access_token": "tok", "expires_in": 7200})) }))
        .route(
            "/cgi-bin/qrcode/create",
            route_post(move |axum::Json(body): axum::Json<Value>| {
                let kept = kept.clone();
                async move {
                    assert_eq!(body["action_name"], "QR_STR_SCENE");
                    let scene = body["action_info"]["scene"]["scene_str"].as_str().unwrap().to_owned();
                    assert!(scene.len() <= 64);
                    kept.lock().unwrap().push(scene.clone());
                    axum::Json(json!({"ticket": format!("ticket-{scene}"), "expire_seconds": body["expire_seconds"], "url": "http://weixin.qq.com/q/x"}))
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, scenes)
}

/// An app whose service account talks to a fresh fake platform; the scenes it asked QR codes for.
async fn spawn_with_platform() -> (TestApp, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    let (platform, scenes) = fake_platform().await;
    let (url, dir) = fresh_database().await;
    let mut config = test_config(&url);
    config.wechat = wechat("");
    if let Some(w) = config.wechat.as_mut() {
        w.api_base = platform;
    }
    (spawn_with(config, dir).await, scenes)
}

fn scan(openid: &str, created: i64, event: &str, key: &str) -> String {
    format!("<xml><ToUserName>gh_test</ToUserName><FromUserName>{openid}</FromUserName><CreateTime>{created}</CreateTime><MsgType>event</MsgType><Event>{event}</Event><EventKey><![CDATA[{key}]]></EventKey></xml>")
}

/// Post a signed message; the Content of the passive reply (or the raw body when there is none).
async fn reply_to(api: &Api, xml: String) -> String {
    // A fresh nonce per message, as the platform sends: a signed query carries one body only.
    let nonce = rand::random::<u32>().to_string();
    let (status, body) = post(api, &query(&now(), &nonce), xml).await;
    assert_eq!(status, StatusCode::OK);
    jszg::adapters::wechat::wire::Fields::parse(&body).ok().and_then(|f| f.get("Content").map(str::to_owned)).unwrap_or(body)
}

#[tokio::test]
async fn binding_by_qr_code_one_wechat_one_account_and_unbinding() {
    let (app, scenes) = spawn_with_platform().await;
    let first = app.register_as("resident_id").await;
    assert_eq!(app.login(&first.doc, PASSWORD, "certification").await.status(), StatusCode::OK);
    let qr: Value = {
        let res = app.post("/api/v1/me/wechat/qrcodes", &json!({})).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        res.json().await.unwrap()
    };
    assert!(qr["qr_url"].as_str().unwrap().starts_with("https://mp.weixin.qq.com/cgi-bin/showqrcode?ticket=ticket-"), "{qr}");
    assert_eq!(qr["expires_in"], 300);
    let scene = scenes.lock().unwrap().last().unwrap().clone();
    // Following by scanning: subscribe with qrscene_.
    assert!(reply_to(&app.api, scan("o_binder", 1, "subscribe", &format!("qrscene_{scene}"))).await.contains("绑定成功"));
    let me: Value = app.get("/api/v1/me").await.json().await.unwrap();
    assert_eq!(me["wechat_bound"], true);
    // A QR code is used once.
    assert!(reply_to(&app.api, scan("o_binder", 2, "SCAN", &scene)).await.contains("二维码已失效"));

    // Another account: its QR code scanned by the WeChat bound already is refused.
    let other = app.another_client();
    let second = other.register_as("resident_id").await;
    assert_eq!(other.login(&second.doc, PASSWORD, "certification").await.status(), StatusCode::OK);
    assert_eq!(other.post("/api/v1/me/wechat/qrcodes", &json!({})).await.status(), StatusCode::CREATED);
    let scene2 = scenes.lock().unwrap().last().unwrap().clone();
    assert!(reply_to(&app.api, scan("o_binder", 3, "SCAN", &scene2)).await.contains("已绑定其他"));
    let me2: Value = other.get("/api/v1/me").await.json().await.unwrap();
    assert_eq!(me2["wechat_bound"], false);
    // After the first account unbinds, the same QR code (still live) binds the second.
    let res = app.client.delete(app.url("/api/v1/me/wechat")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let me: Value = app.get("/api/v1/me").await.json().await.unwrap();
    assert_eq!(me["wechat_bound"], false);
    assert!(reply_to(&app.api, scan("o_binder", 4, "SCAN", &scene2)).await.contains("绑定成功"));
    let me2: Value = other.get("/api/v1/me").await.json().await.unwrap();
    assert_eq!(me2["wechat_bound"], true);

    // An expired QR code binds nothing.
    assert_eq!(app.post("/api/v1/me/wechat/qrcodes", &json!({})).await.status(), StatusCode::CREATED);
    let scene3 = scenes.lock().unwrap().last().unwrap().clone();
    app.advance_clock(301).await;
    assert!(reply_to(&app.api, scan("o_late", 5, "SCAN", &scene3)).await.contains("二维码已失效"));
    // Signing in again after the clock moved (sessions may have gone idle).
    assert_eq!(app.login(&first.doc, PASSWORD, "certification").await.status(), StatusCode::OK);
    let me: Value = app.get("/api/v1/me").await.json().await.unwrap();
    assert_eq!(me["wechat_bound"], false);
}

#[tokio::test]
async fn no_service_account_no_qr_code() {
    let app = spawn_without_wechat().await;
    let a = app.register_as("resident_id").await;
    assert_eq!(app.login(&a.doc, PASSWORD, "certification").await.status(), StatusCode::OK);
    let (status, error) = error_code(app.post("/api/v1/me/wechat/qrcodes", &json!({})).await).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::NOT_FOUND, Some("wechat_not_configured")));
    assert_eq!(app.client.delete(app.url("/api/v1/me/wechat")).send().await.unwrap().status(), StatusCode::NO_CONTENT);
    let anonymous = app.another_client();
    assert_eq!(anonymous.post("/api/v1/me/wechat/qrcodes", &json!({})).await.status(), StatusCode::UNAUTHORIZED);
}

async fn start_recovery(api: &Api, doc: &str) -> Value {
    let token = api.captcha_token("recovery").await;
    let res = api.post("/api/v1/recoveries", &json!({ "doc_type": "resident_id", "doc_number": doc, "name": "张三", "captcha_token": token })).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json().await.unwrap()
}

#[tokio::test]
async fn reset_by_the_bound_wechat_only_once_and_it_ends_every_session() {
    let (app, scenes) = spawn_with_platform().await;
    let who = app.register_as("resident_id").await;
    // Not bound yet: WeChat is not offered, and asking for its QR code is refused.
    let started = start_recovery(&app.another_client(), &who.doc).await;
    assert!(started["methods"].as_array().unwrap().iter().all(|m| m["method"] != "wechat"), "{started}");
    let id = started["id"].as_str().unwrap();
    let (status, error) = error_code(app.post(&format!("/api/v1/recoveries/{id}/wechat"), &json!({})).await).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::CONFLICT, Some("wechat_not_bound")));

    // Bind, and keep a signed-in session to see it ended.
    assert_eq!(app.login(&who.doc, PASSWORD, "certification").await.status(), StatusCode::OK);
    assert_eq!(app.post("/api/v1/me/wechat/qrcodes", &json!({})).await.status(), StatusCode::CREATED);
    let bind_scene = scenes.lock().unwrap().last().unwrap().clone();
    assert!(reply_to(&app.api, scan("o_owner", 10, "SCAN", &bind_scene)).await.contains("绑定成功"));

    let browser = app.another_client();
    let started = start_recovery(&browser, &who.doc).await;
    assert!(started["methods"].as_array().unwrap().iter().any(|m| m["method"] == "wechat"), "{started}");
    let id = started["id"].as_str().unwrap();
    let res = browser.post(&format!("/api/v1/recoveries/{id}/wechat"), &json!({})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let qr: Value = res.json().await.unwrap();
    assert!(qr["qr_url"].as_str().unwrap().contains("showqrcode"), "{qr}");
    let scene = scenes.lock().unwrap().last().unwrap().clone();
    // Another WeChat is told it is not the bound one, and gets no link.
    let refused = reply_to(&app.api, scan("o_stranger", 11, "SCAN", &scene)).await;
    assert!(refused.contains("不是该账号绑定的微信") && !refused.contains("token="), "{refused}");
    // The bound WeChat gets the link (the QR code was not spent by the stranger).
    let reply = reply_to(&app.api, scan("o_owner", 12, "SCAN", &scene)).await;
    let link = reply.split_whitespace().find(|w| w.contains("/wechat/reset?token=")).unwrap_or_else(|| panic!("{reply}")).to_owned();
    let token = link.split("token=").nth(1).unwrap().to_owned();
    let page = browser.get(&format!("/wechat/reset?token={token}")).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("/api/v1/wechat/password-resets"));

    let reset = |password: &'static str| {
        let token = token.clone();
        let browser = &browser;
        async move {
            browser
                .post("/api/v1/wechat/password-resets", &json!({ "token": token, "new_password": password, "new_password_confirm": password }))
                .await
        }
    };
    let (status, error) = error_code(reset("weak").await).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("weak_password")));
    assert_eq!(reset("Xyz#2025ab").await.status(), StatusCode::NO_CONTENT);
    // Used once; the page says so.
    let (status, error) = error_code(reset("Xyz#2025cd").await).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::GONE, Some("token_invalid")));
    assert_eq!(browser.get(&format!("/wechat/reset?token={token}")).await.status(), StatusCode::GONE);
    // Every session ended; the new password works, the old one not.
    assert_eq!(app.get("/api/v1/me").await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.login(&who.doc, PASSWORD, "certification").await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.login(&who.doc, "Xyz#2025ab", "certification").await.status(), StatusCode::OK);
    // 重置成功 went to the bound WeChat through the outbox.
    let outbox = app.outbox("o_owner").await;
    assert!(outbox.iter().any(|m| m["channel"] == "wechat" && m["body"].as_str().unwrap_or("").contains("重置成功")), "{outbox:?}");
}

#[tokio::test]
async fn a_reset_link_dies_with_the_binding_and_after_ten_minutes() {
    let (app, scenes) = spawn_with_platform().await;
    let who = app.register_as("resident_id").await;
    assert_eq!(app.login(&who.doc, PASSWORD, "certification").await.status(), StatusCode::OK);
    assert_eq!(app.post("/api/v1/me/wechat/qrcodes", &json!({})).await.status(), StatusCode::CREATED);
    let bind_scene = scenes.lock().unwrap().last().unwrap().clone();
    assert!(reply_to(&app.api, scan("o_owner2", 20, "SCAN", &bind_scene)).await.contains("绑定成功"));
    let link_for = |created: i64| {
        let app = &app;
        let scenes = scenes.clone();
        let doc = who.doc.clone();
        async move {
            let browser = app.another_client();
            let started = start_recovery(&browser, &doc).await;
            let id = started["id"].as_str().unwrap().to_owned();
            assert_eq!(browser.post(&format!("/api/v1/recoveries/{id}/wechat"), &json!({})).await.status(), StatusCode::CREATED);
            let scene = scenes.lock().unwrap().last().unwrap().clone();
            let reply = reply_to(&app.api, scan("o_owner2", created, "SCAN", &scene)).await;
            reply.split("token=").nth(1).unwrap_or_else(|| panic!("{reply}")).split_whitespace().next().unwrap().to_owned()
        }
    };
    let try_reset = |token: String| {
        let app = &app;
        async move {
            app.post("/api/v1/wechat/password-resets", &json!({ "token": token, "new_password": "Xyz#2025ab", "new_password_confirm": "Xyz#2025ab" }))
                .await
                .status()
        }
    };
    let late = link_for(21).await;
    app.advance_clock(601).await;
    assert_eq!(try_reset(late).await, StatusCode::GONE);
    let unbound = link_for(22).await;
    assert_eq!(app.login(&who.doc, PASSWORD, "certification").await.status(), StatusCode::OK);
    assert_eq!(app.client.delete(app.url("/api/v1/me/wechat")).send().await.unwrap().status(), StatusCode::NO_CONTENT);
    assert_eq!(try_reset(unbound).await, StatusCode::GONE);
}

/// The development simulator's phone: one action, the phone's state after it.
async fn on_phone(api: &Api, openid: &str, action: Value) -> Value {
    let res = api.post(&format!("/api/v1/dev/wechat/phones/{openid}/actions"), &action).await;
    assert_eq!(res.status(), StatusCode::OK, "{action}");
    res.json().await.unwrap()
}

fn last_reply(phone: &Value) -> String {
    let last = phone["messages"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["from"], "account", "{phone}");
    last["text"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_simulator_plays_the_phone_through_the_signed_callback() {
    // Development without [wechat]: the account is simulated, in safe mode.
    let app = spawn_app().await;
    let simulated = app.app.wechat.as_deref().expect("a simulated account");
    assert!(simulated.simulator().is_some() && simulated.safe_mode.is_some());
    let page = app.get("/dev/wechat").await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("微信模拟器"));

    // The menu needs a follow; following gets the welcome through the callback.
    let (status, error) = error_code(app.post("/api/v1/dev/wechat/phones/o_sim/actions", &json!({"action": "menu"})).await).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::CONFLICT, Some("not_following")));
    assert!(last_reply(&on_phone(&app.api, "o_sim", json!({"action": "follow"})).await).contains("感谢关注"));
    assert!(last_reply(&on_phone(&app.api, "o_sim", json!({"action": "menu", "key": "GET_CODE"})).await).contains("请输入"));
    let doc = resident_id(date("1992-02-02"));
    let code = extract_code(&last_reply(&on_phone(&app.api, "o_sim", json!({"action": "text", "text": doc})).await)).expect("a code");
    let mut body = form(&doc, &phone(), &code);
    body["verification_channel"] = json!("wechat");
    assert_eq!(app.register(&body).await.status(), StatusCode::CREATED);

    // Recovery by the simulated WeChat: its QR code is the simulator's, and scanning it gets the link.
    let browser = app.another_client();
    let started = start_recovery(&browser, &doc).await;
    let id = started["id"].as_str().unwrap();
    let qr: Value = browser.post(&format!("/api/v1/recoveries/{id}/wechat"), &json!({})).await.json().await.unwrap();
    let qr_url = qr["qr_url"].as_str().unwrap();
    assert!(qr_url.starts_with("/dev/wechat/qrcode.svg?ticket="), "{qr}");
    let picture = browser.get(qr_url).await;
    assert_eq!(picture.headers()["content-type"], "image/svg+xml");
    assert!(picture.text().await.unwrap().contains("<svg"));
    let ticket = qr_url.split("ticket=").nth(1).unwrap().to_owned();
    let state: Value = app.get("/api/v1/dev/wechat/phones/o_sim").await.json().await.unwrap();
    assert_eq!(state["qr_codes"][0]["ticket"], ticket.as_str(), "{state}");
    // A stranger's scan follows the account and is told it is not the bound WeChat.
    assert!(last_reply(&on_phone(&app.api, "o_stranger", json!({"action": "scan", "ticket": ticket})).await).contains("不是该账号绑定的微信"));
    let reply = last_reply(&on_phone(&app.api, "o_sim", json!({"action": "scan", "ticket": ticket})).await);
    let token = reply.split("token=").nth(1).and_then(|t| t.split_whitespace().next()).unwrap_or_else(|| panic!("{reply}")).to_owned();
    let res = browser.post("/api/v1/wechat/password-resets", &json!({"token": token, "new_password": "Xyz#2025ab", "new_password_confirm": "Xyz#2025ab"})).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    // 重置成功 arrives as a customer-service message, through the outbox.
    eventually("重置成功 in the simulated chat", std::time::Duration::from_secs(5), || async {
        let state: Value = app.get("/api/v1/dev/wechat/phones/o_sim").await.json().await.unwrap();
        last_reply(&state).contains("重置成功").then_some(())
    })
    .await;
    assert_eq!(app.login(&doc, "Xyz#2025ab", "certification").await.status(), StatusCode::OK);

    // Bad requests are refused with their codes.
    let (status, error) = error_code(app.post("/api/v1/dev/wechat/phones/o_sim/actions", &json!({"action": "scan", "ticket": "nope"})).await).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::NOT_FOUND, Some("qr_unknown")));
    let (status, error) = error_code(app.post("/api/v1/dev/wechat/phones/o_sim/actions", &json!({"action": "text", "text": " "})).await).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_text")));
    let (status, error) = error_code(app.post("/api/v1/dev/wechat/phones/o%20x/actions", &json!({"action": "follow"})).await).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_openid")));
    let (status, _) = error_code(app.post("/api/v1/dev/wechat/phones/o_sim/actions", &json!({"action": "fly"})).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// Hardening round 2, item 5: with safe mode configured, a plaintext body under a captured
/// URL signature is refused, the same signed query carries no other body, and URL verification
/// needs a fresh timestamp.
#[tokio::test]
async fn safe_mode_cannot_be_downgraded_or_replayed() {
    let app = spawn_wechat(KEY).await;
    let ts = now();
    let xml = text_message("o_victim", "7200000000000000001", "你好");
    let sealed = SafeMode::new(KEY, APP_ID).unwrap().encrypt(&xml, *b"abcdefghijklmnop");
    let envelope = format!("<xml><ToUserName>gh_test</ToUserName><Encrypt><![CDATA[{sealed}]]></Encrypt></xml>");
    let captured = format!("{}&encrypt_type=aes&msg_signature={}", query(&ts, "n9"), signature(&[TOKEN, &ts, "n9", &sealed]));
    assert_eq!(post(&app.api, &captured, envelope.clone()).await.0, StatusCode::OK);
    // The captured URL signature with a plaintext body: without the envelope's parameters...
    let forged = text_message("o_attacker", "7200000000000000002", "取验证码");
    assert_eq!(post(&app.api, &query(&ts, "n9"), forged.clone()).await.0, StatusCode::UNAUTHORIZED);
    // ...and with them.
    assert_eq!(post(&app.api, &captured, forged.clone()).await.0, StatusCode::UNAUTHORIZED);
    // Another sealed body under the same signed query.
    let other = SafeMode::new(KEY, APP_ID).unwrap().encrypt(&forged, *b"ponmlkjihgfedcba");
    let other_envelope = format!("<xml><ToUserName>gh_test</ToUserName><Encrypt><![CDATA[{other}]]></Encrypt></xml>");
    let re_signed = format!("{}&encrypt_type=aes&msg_signature={}", query(&ts, "n9"), signature(&[TOKEN, &ts, "n9", &other]));
    assert_eq!(post(&app.api, &re_signed, other_envelope).await.0, StatusCode::UNAUTHORIZED);
    // The platform's retry of the same body is answered (and not acted on twice).
    assert_eq!(post(&app.api, &captured, envelope).await, (StatusCode::OK, "success".to_owned()));
    // URL verification: a month-old signature no longer verifies.
    let old = (ts.parse::<i64>().unwrap() - 30 * 86_400).to_string();
    let res = app.client.get(app.url(&format!("/wechat/callback?{}&echostr=42", query(&old, "n")))).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = app.client.get(app.url(&format!("/wechat/callback?{}&echostr=42", query(&ts, "n")))).send().await.unwrap();
    assert_eq!(res.text().await.unwrap(), "42");
}
