//! Abuse at opening-day scale (ABUSE-1..3, API.md "Abuse limits"): quotas per source address,
//! per network and in total, with the shipped defaults wherever they are the subject. Clients
//! bind their own source address in 127.0.0.0/8, so the server sees distinct addresses and /24s
//! without `trust_forwarded_for`.

use std::net::IpAddr;

use futures::future::join_all;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

impl Api {
    /// The same server seen from source address `ip` (no cookies shared).
    pub fn seen_from(&self, ip: &str) -> Api {
        let ip: IpAddr = ip.parse().expect("ip");
        Api { base: self.base.clone(), client: Client::builder().cookie_store(true).local_address(ip).build().expect("client") }
    }
}

async fn spawn_real_limits() -> TestApp {
    let (url, dir) = fresh_database().await;
    let mut config = test_config(&url);
    with_real_limits(&mut config);
    spawn_with(config, dir).await
}

/// `n` captcha tokens for `purpose`, each solved from an address of its own (127.99.x.y), so
/// that the rising proof of work of one address does not slow the test: tokens are not bound
/// to the address that earned them, which is what a script farm would exploit too.
async fn tokens(app: &Api, purpose: &str, n: usize, batch: u8) -> Vec<String> {
    let mut out = Vec::new();
    for i in 0..n {
        let peer = app.seen_from(&format!("127.99.{batch}.{}", i + 1));
        out.push(peer.captcha_token(purpose).await);
    }
    out
}

async fn ask_sms(from: &Api, token: &str) -> reqwest::Response {
    from.post("/api/v1/verification-codes", &json!({ "channel": "sms", "phone": phone(), "purpose": "register", "captcha_token": token }))
        .await
}

async fn statuses(responses: Vec<reqwest::Response>) -> (usize, Vec<(StatusCode, Value, Option<String>)>) {
    let mut accepted = 0;
    let mut refused = Vec::new();
    for res in responses {
        if res.status() == StatusCode::ACCEPTED {
            accepted += 1;
            continue;
        }
        let header = res.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let (status, error) = error_code(res).await;
        refused.push((status, error, header));
    }
    (accepted, refused)
}

fn assert_rate_limited(refused: &[(StatusCode, Value, Option<String>)], at_most: i64) {
    for (status, error, header) in refused {
        assert_eq!((*status, error["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")), "{error}");
        let retry = error["retry_after"].as_i64().expect("retry_after");
        assert!(retry > 0 && retry <= at_most, "retry_after {retry}");
        assert_eq!(header.as_deref(), Some(retry.to_string().as_str()), "Retry-After header");
        assert!(error["message"].as_str().unwrap().contains("分钟后再试"), "{error}");
    }
}

/// ABUSE-1 with the shipped defaults: one address gets exactly `sms_per_address_hour` codes,
/// also when the last ones race in parallel across two instances; its neighbours in the /24
/// and other networks are unaffected; an hour later it may send again.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sms_per_address_quota_is_exact_under_concurrency_on_two_instances() {
    let app = spawn_real_limits().await;
    let mut sibling_config = test_config(&app.database_url);
    with_real_limits(&mut sibling_config);
    sibling_config.keys = app.app.config.keys.clone();
    let sibling = spawn_with(sibling_config, None).await;
    let quota = app.app.config.limits.sms_per_address_hour;
    assert_eq!(quota, 60, "the documented default");

    let tokens = tokens(&app, "sms", quota as usize + 10, 1).await;
    let (first, race) = tokens.split_at(quota as usize - 10);
    let here = app.seen_from("127.50.0.1");
    let there = sibling.seen_from("127.50.0.1");
    for (i, token) in first.iter().enumerate() {
        let from = if i % 2 == 0 { &here } else { &there };
        assert_eq!(ask_sms(from, token).await.status(), StatusCode::ACCEPTED);
    }
    // 20 at once for the last 10 units, half through each instance.
    let racing = race.iter().enumerate().map(|(i, token)| {
        let from = if i % 2 == 0 { &here } else { &there };
        ask_sms(from, token)
    });
    let (accepted, refused) = statuses(join_all(racing).await).await;
    assert_eq!((accepted, refused.len()), (10, 10));
    assert_rate_limited(&refused, 3600);

    // Its neighbour in the /24 and another network still get codes.
    let more = tokens_from_fresh(&app, 2).await;
    assert_eq!(ask_sms(&app.seen_from("127.50.0.2"), &more[0]).await.status(), StatusCode::ACCEPTED);
    assert_eq!(ask_sms(&app.seen_from("127.51.0.1"), &more[1]).await.status(), StatusCode::ACCEPTED);

    // The hour's quota is free again at most an hour after it was reached.
    let retry = refused[0].1["retry_after"].as_i64().unwrap();
    app.advance_clock(retry).await;
    let more = tokens_from_fresh(&app, 1).await;
    assert_eq!(ask_sms(&here, &more[0]).await.status(), StatusCode::ACCEPTED);
}

/// Tokens from yet other addresses (127.98.x.y), after the clock moved or for a second batch.
async fn tokens_from_fresh(app: &Api, n: usize) -> Vec<String> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(1);
    let mut out = Vec::new();
    for _ in 0..n {
        let k = NEXT.fetch_add(1, Ordering::Relaxed);
        let peer = app.seen_from(&format!("127.98.{}.{}", k / 200, k % 200 + 1));
        out.push(peer.captcha_token("sms").await);
    }
    out
}

/// ABUSE-1: the /24 as a whole gets `sms_per_network_hour`, however its addresses share it;
/// another /24 is unaffected.
#[tokio::test]
async fn sms_per_network_quota_binds_the_whole_slash_24() {
    let app = spawn_real_limits().await;
    let limits = app.app.config.limits.clone();
    assert_eq!((limits.sms_per_network_hour, limits.sms_per_address_hour), (200, 60));
    let tokens = tokens(&app, "sms", 201, 2).await;
    // Four addresses of 127.60.1.0/24, 50 each: under their own quota, at the network's.
    let mut accepted = 0;
    for (i, token) in tokens[..200].iter().enumerate() {
        let from = app.seen_from(&format!("127.60.1.{}", i % 4 + 1));
        assert_eq!(ask_sms(&from, token).await.status(), StatusCode::ACCEPTED, "code {i}");
        accepted += 1;
    }
    assert_eq!(accepted, 200);
    // A fifth address of the same /24, which has sent nothing itself, is refused.
    let res = ask_sms(&app.seen_from("127.60.1.200"), &tokens[200]).await;
    let (_, refused) = statuses(vec![res]).await;
    assert_rate_limited(&refused, 3600);
    assert!(refused[0].1["message"].as_str().unwrap().contains("您所在网络"));
    // Another /24 is not.
    let more = tokens_from_fresh(&app, 1).await;
    assert_eq!(ask_sms(&app.seen_from("127.60.2.1"), &more[0]).await.status(), StatusCode::ACCEPTED);
}

/// ABUSE-1: past the global budget every source gets 503 `sms_unavailable`, pointed at the
/// WeChat service account; the refusal is counted for the operator.
#[tokio::test]
async fn the_global_sms_budget_refuses_everyone_with_a_wechat_hint_and_a_metric() {
    let (url, dir) = fresh_database().await;
    let mut config = test_config(&url);
    config.limits.sms_global_hour = 5;
    let app = spawn_with(config, dir).await;
    let tokens = tokens(&app, "sms", 7, 3).await;
    for (i, token) in tokens[..5].iter().enumerate() {
        let from = app.seen_from(&format!("127.70.{i}.1"));
        assert_eq!(ask_sms(&from, token).await.status(), StatusCode::ACCEPTED);
    }
    for (i, token) in tokens[5..].iter().enumerate() {
        let res = ask_sms(&app.seen_from(&format!("127.71.{i}.1")), token).await;
        assert!(res.headers().get("retry-after").is_some());
        let (status, error) = error_code(res).await;
        assert_eq!((status, error["code"].as_str()), (StatusCode::SERVICE_UNAVAILABLE, Some("sms_unavailable")));
        assert!(error["message"].as_str().unwrap().contains("微信扫码验证"), "{error}");
        assert!(error["retry_after"].as_i64().unwrap() <= 3600);
    }
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains("jszg_sms_budget_exhausted_total 2"), "{metrics}");
    // Nothing was sent for the refused ones.
    let sent: Vec<Value> = app.get("/api/v1/dev/outbox").await.json().await.unwrap();
    assert_eq!(sent.iter().filter(|m| m["channel"] == "sms").count(), 5);
}

/// Email codes are rationed the same way (`email_*`), with the shipped defaults.
#[tokio::test]
async fn email_codes_have_their_own_quotas() {
    let app = spawn_real_limits().await;
    let quota = app.app.config.limits.email_per_address_hour;
    assert_eq!(quota, 20);
    let from = app.seen_from("127.80.0.1");
    let mut tokens_left = Vec::new();
    for i in 0..=quota {
        tokens_left.push(app.seen_from(&format!("127.97.0.{}", i + 1)).captcha_token("email").await);
    }
    for (i, token) in tokens_left.iter().enumerate() {
        let res = from
            .post(
                "/api/v1/verification-codes",
                &json!({ "channel": "email", "email": format!("{}{i}@qq.com", 10_000_000 + i), "purpose": "contact_change", "captcha_token": token }),
            )
            .await;
        if (i as i64) < quota {
            assert_eq!(res.status(), StatusCode::ACCEPTED, "email {i}");
        } else {
            let (_, refused) = statuses(vec![res]).await;
            assert_rate_limited(&refused, 3600);
            assert!(refused[0].1["message"].as_str().unwrap().contains("邮箱验证码"));
        }
    }
    // SMS from that address is a quota of its own.
    let token = tokens_from_fresh(&app, 1).await;
    assert_eq!(ask_sms(&from, &token[0]).await.status(), StatusCode::ACCEPTED);
}

/// A refused code spends nothing: the phone's own daily quota (CODE-1) and the address's
/// units are untouched by a request the address quota refused.
#[tokio::test]
async fn a_refused_code_takes_nothing_from_the_phone() {
    let (url, dir) = fresh_database().await;
    let mut config = test_config(&url);
    config.limits.sms_per_address_hour = 1;
    let app = spawn_with(config, dir).await;
    let from = app.seen_from("127.81.0.1");
    let tokens = tokens(&app, "sms", 3, 4).await;
    assert_eq!(ask_sms(&from, &tokens[0]).await.status(), StatusCode::ACCEPTED);
    let victim = phone();
    let res = from
        .post("/api/v1/verification-codes", &json!({ "channel": "sms", "phone": victim, "purpose": "register", "captcha_token": tokens[1] }))
        .await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(app.outbox(&victim).await.is_empty());
    // The victim's phone still has all three of its daily codes.
    let res = app
        .seen_from("127.81.1.1")
        .post("/api/v1/verification-codes", &json!({ "channel": "sms", "phone": victim, "purpose": "register", "captcha_token": tokens[2] }))
        .await;
    assert_eq!(res.json::<Value>().await.unwrap()["remaining_today"], 2);
}

/// ABUSE-3: registrations per address per hour, with the shipped default.
#[tokio::test]
async fn registrations_per_address_are_bounded() {
    let app = spawn_real_limits().await;
    let quota = app.app.config.limits.registrations_per_address_hour;
    assert_eq!(quota, 60);
    let from = app.seen_from("127.82.0.1");
    let mut last = None;
    for i in 0..=quota {
        // The code comes from another address (the phone's owner's), as a script farm would arrange.
        let helper = app.seen_from(&format!("127.96.{}.{}", i / 50, i % 50 + 1));
        let phone = phone();
        let code = helper.sms_code(&phone).await;
        let doc = resident_id(date("1990-01-01"));
        let res = from.register(&form(&doc, &phone, &code)).await;
        if i < quota {
            assert_eq!(res.status(), StatusCode::CREATED, "registration {i}: {}", res.text().await.unwrap_or_default());
        } else {
            last = Some((res, doc, phone, code));
        }
    }
    let (res, doc, phone, code) = last.unwrap();
    let (_, refused) = statuses(vec![res]).await;
    assert_rate_limited(&refused, 3600);
    // The refused registration kept its code: from another network it goes through.
    let res = app.seen_from("127.83.0.1").register(&form(&doc, &phone, &code)).await;
    assert_eq!(res.status(), StatusCode::CREATED);
}

/// ABUSE-3: failed logins spread over many numbers and several addresses of one /24 are
/// bounded by `[login] network_limit`; another network still logs in; the failures are a metric.
#[tokio::test]
async fn failed_logins_per_network_are_bounded_and_counted() {
    let (url, dir) = fresh_database().await;
    let mut config = test_config(&url);
    with_real_limits(&mut config);
    // The subject is the network's share of failures, not the proof of work of 40 logins.
    config.captcha.pow_max_difficulty = 0;
    config.login.network_limit = 40;
    config.login.address_limit = 15;
    let app = spawn_with(config, dir).await;
    let who = app.register_as("resident_id").await;
    for i in 0..40 {
        let from = app.seen_from(&format!("127.84.0.{}", i % 4 + 1));
        let stranger = resident_id(date("1970-01-01"));
        let res = from.login(&stranger, "Wrong#pass1", "certification").await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "try {i}");
    }
    // A fifth address of the /24 that never failed is refused before its password is checked.
    let res = app.seen_from("127.84.0.9").login(&who.doc, PASSWORD, "certification").await;
    let (status, error) = error_code(res).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("too_many_attempts")));
    assert!(error["retry_after"].as_i64().unwrap() <= 900);
    // Another network is not.
    assert_eq!(app.seen_from("127.85.0.1").login(&who.doc, PASSWORD, "certification").await.status(), StatusCode::OK);
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains("jszg_login_failures_total 40"), "{metrics}");
}

async fn difficulty_from(app: &Api) -> u64 {
    let res = app.post("/api/v1/captchas", &json!({ "purpose": "sms" })).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json::<Value>().await.unwrap()["pow"]["difficulty"].as_u64().unwrap()
}

/// ABUSE-2: the proof of work follows an address's volume, correct answers included: the
/// shipped curve (4 free, two bits per doubling) per address, and the network's own larger
/// allowance; back at the base after a quiet window.
#[tokio::test]
async fn proof_of_work_rises_with_volume_and_falls_after_a_quiet_window() {
    let app = spawn_real_limits().await;
    let c = app.app.config.captcha.clone();
    assert_eq!((c.pow_base_difficulty, c.pow_free_per_address, c.pow_bits_per_doubling, c.pow_window_secs), (14, 4, 2, 3600));
    let from = app.seen_from("127.86.0.1");
    let mut seen = Vec::new();
    for _ in 0..16 {
        let challenge = from.new_captcha("sms").await;
        seen.push(challenge["pow"]["difficulty"].as_u64().unwrap());
        // Answered correctly, as a solver would.
        let x = challenge["dev_solution"].as_i64().unwrap();
        let track = jszg_captcha::human_track(&mut rand::thread_rng(), x);
        let body = json!({ "x": x, "track": track_json(&track), "pow_nonce": pow_nonce(&challenge) });
        let res = from.post(&format!("/api/v1/captchas/{}/answer", challenge["id"].as_str().unwrap()), &body).await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    assert_eq!(seen, [14, 14, 14, 14, 15, 16, 16, 16, 17, 17, 17, 18, 18, 18, 18, 18]);
    assert_eq!(difficulty_from(&from).await, 19);
    // Its neighbour pays the base until the /24 passes its allowance of 64.
    assert_eq!(difficulty_from(&app.seen_from("127.86.0.2")).await, 14);
    for i in 0..46 {
        difficulty_from(&app.seen_from(&format!("127.86.0.{}", i % 40 + 3))).await;
    }
    // 65 challenges from the /24 so far: its 66th costs more even from a fresh address.
    assert_eq!(difficulty_from(&app.seen_from("127.86.0.250")).await, 15);
    assert_eq!(difficulty_from(&app.seen_from("127.87.0.1")).await, 14);
    // Quiet for the window: back at the base.
    app.advance_clock(c.pow_window_secs + 1).await;
    assert_eq!(difficulty_from(&from).await, 14);
    assert_eq!(difficulty_from(&app.seen_from("127.86.0.250")).await, 14);
}

/// A11Y-2 under ABUSE-1/2: 无障碍验证 is priced from the same volume as the slider (both count,
/// either way round) plus its surcharge, its failures feed the same throttle, and its tokens
/// buy codes under the same quotas.
#[tokio::test]
async fn accessible_verification_is_no_cheaper_road() {
    let (url, dir) = fresh_database().await;
    let mut config = test_config(&url);
    with_real_limits(&mut config);
    config.limits.sms_per_address_hour = 2;
    let app = spawn_with(config, dir).await;
    let extra = u64::from(app.app.config.captcha.accessible_extra_bits);
    let from = app.seen_from("127.88.0.1");
    let mut seen = Vec::new();
    for mode in ["accessible", "slider", "accessible", "slider", "accessible", "slider", "accessible", "accessible"] {
        let c = challenge(&from, mode).await;
        seen.push(c["pow"]["difficulty"].as_u64().unwrap() - if mode == "accessible" { extra } else { 0 });
    }
    // The slider's own curve (4 free, two bits per doubling) over both kinds together.
    assert_eq!(seen, [14, 14, 14, 14, 15, 16, 16, 16]);

    // Tokens earned without the picture meet the per-address SMS quota like any other.
    let neighbour = app.seen_from("127.88.1.1");
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let c = challenge(&from, "accessible").await;
        let res = from.post(&format!("/api/v1/captchas/{}/answer", c["id"].as_str().unwrap()), &json!({ "pow_nonce": pow_nonce(&c) })).await;
        assert_eq!(res.status(), StatusCode::OK);
        let token = res.json::<Value>().await.unwrap()["captcha_token"].as_str().unwrap().to_owned();
        statuses.push(ask_sms(&from, &token).await.status());
    }
    assert_eq!(statuses, [StatusCode::ACCEPTED, StatusCode::ACCEPTED, StatusCode::TOO_MANY_REQUESTS]);

    // Wrong answers count towards the same throttle as the slider's.
    let limit = app.app.config.captcha.failure_limit;
    for _ in 0..limit {
        let c = challenge(&neighbour, "accessible").await;
        let res = neighbour.post(&format!("/api/v1/captchas/{}/answer", c["id"].as_str().unwrap()), &json!({ "pow_nonce": "x" })).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    let c = neighbour.new_captcha("sms").await;
    let res = neighbour.post(&format!("/api/v1/captchas/{}/answer", c["id"].as_str().unwrap()), &json!({ "pow_nonce": pow_nonce(&c) })).await;
    let (status, error) = error_code(res).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("captcha_throttled")));
}

async fn challenge(from: &Api, mode: &str) -> Value {
    let res = from.post("/api/v1/captchas", &json!({ "purpose": "sms", "mode": mode })).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json().await.expect("json")
}
