//! The WeChat callback (WX-1) through the whole app: signatures, retries acted on once across two
//! instances, and a late reply through the outbox. wechatpy plays the platform in `.ci/wechat.sh`;
//! here the messages are signed with jszg's own helpers.

use jszg::adapters::wechat::safe_mode::{signature, SafeMode};
use jszg::config::WechatConfig;
use reqwest::StatusCode;

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
    // Another message from the same applicant is answered.
    let (_, body) = post(&b.api, &q, text_message("o_retry", "7000000000000000002", "你好")).await;
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

    // Without [wechat] the callback does not exist.
    let plain = spawn_app().await;
    assert_eq!(post(&plain.api, &query(&ts, "n"), xml).await.0, StatusCode::NOT_FOUND);
}
