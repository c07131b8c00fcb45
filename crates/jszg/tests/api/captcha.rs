//! The slider captcha (CAP-1..4, API.md "Captcha").

use reqwest::StatusCode;
use serde_json::{json, Value};

use jszg_captcha::TrackPoint;

use crate::helpers::*;

/// Answer challenge `c` with a solved proof of work.
async fn answer(app: &TestApp, c: &Value, x: i64, track: Value) -> reqwest::Response {
    let id = c["id"].as_str().unwrap();
    app.post(&format!("/api/v1/captchas/{id}/answer"), &json!({ "x": x, "track": track, "pow_nonce": pow_nonce(c) })).await
}

fn human(x: i64) -> Value {
    track_json(&jszg_captcha::human_track(&mut rand::thread_rng(), x))
}

#[tokio::test]
async fn a_challenge_is_a_picture_and_a_piece_without_the_answer() {
    let app = spawn_app().await;
    let c = app.new_captcha("login").await;
    assert!(c["background"].as_str().unwrap().starts_with("data:image/jpeg;base64,"));
    assert!(c["piece"].as_str().unwrap().starts_with("data:image/png;base64,"));
    assert_eq!((c["width"].as_u64(), c["height"].as_u64()), (Some(320), Some(160)));
    assert_eq!(c["expires_in"], 120);
    let size = c["background"].as_str().unwrap().len() + c["piece"].as_str().unwrap().len();
    assert!(size <= 40 * 1024, "payload {size} bytes");
    // Two challenges never look the same.
    let d = app.new_captcha("login").await;
    assert_ne!(c["background"], d["background"]);
    assert_ne!(c["id"], d["id"]);
    // Nothing but dev_solution names the answer.
    let x = c["dev_solution"].as_u64().unwrap();
    let keys: Vec<&str> = c.as_object().unwrap().keys().map(String::as_str).collect();
    for key in keys {
        assert!(!key.contains("answer") && !key.contains("solution") || key == "dev_solution", "{key}");
    }
    assert!(x > 0);
}

#[tokio::test]
async fn unknown_purposes_are_refused() {
    let app = spawn_app().await;
    let (status, error) = error_code(app.post("/api/v1/captchas", &json!({ "purpose": "spam" })).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["field"], "purpose");
}

#[tokio::test]
async fn the_right_drag_passes_and_a_wrong_x_fails() {
    let app = spawn_app().await;
    let c = app.new_captcha("sms").await;
    let x = c["dev_solution"].as_i64().unwrap();
    let res = answer(&app, &c, x + 2, human(x + 2)).await;
    assert_eq!(res.status(), StatusCode::OK, "within tolerance");
    assert!(res.json::<Value>().await.unwrap()["captcha_token"].as_str().unwrap().len() >= 32);

    let c = app.new_captcha("sms").await;
    let x = c["dev_solution"].as_i64().unwrap();
    let (status, error) = error_code(answer(&app, &c, x + 25, human(x + 25)).await).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("captcha_failed")));
}

#[tokio::test]
async fn a_challenge_is_spent_by_its_first_answer() {
    let app = spawn_app().await;
    let c = app.new_captcha("sms").await;
    let x = c["dev_solution"].as_i64().unwrap();
    // A wrong answer spends it…
    assert_eq!(answer(&app, &c, x + 40, human(x + 40)).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // …so the right one comes too late.
    let (status, error) = error_code(answer(&app, &c, x, human(x)).await).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::NOT_FOUND, Some("captcha_expired")));

    let c = app.new_captcha("sms").await;
    let x = c["dev_solution"].as_i64().unwrap();
    assert_eq!(answer(&app, &c, x, human(x)).await.status(), StatusCode::OK);
    assert_eq!(answer(&app, &c, x, human(x)).await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_challenge_expires_after_two_minutes() {
    let app = spawn_app().await;
    let c = app.new_captcha("sms").await;
    let x = c["dev_solution"].as_i64().unwrap();
    app.advance_clock(121).await;
    let (status, error) = error_code(answer(&app, &c, x, human(x)).await).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::GONE, Some("captcha_expired")));
}

#[tokio::test]
async fn robotic_tracks_fail() {
    let app = spawn_app().await;
    let robotic: Vec<Box<dyn Fn(i64) -> Value>> = vec![
        // Two points: a script jumping to the answer.
        Box::new(|x| json!([{ "t": 0, "x": 0, "y": 0 }, { "t": 500, "x": x, "y": 0 }])),
        // Perfectly even steps, no jitter, no slowing down.
        Box::new(|x| {
            let pts: Vec<TrackPoint> = (0..=20).map(|i| TrackPoint { t: i * 40, x: x * i / 20, y: 0 }).collect();
            track_json(&pts)
        }),
        // Human-looking but far too fast.
        Box::new(|x| {
            let pts: Vec<Value> = jszg_captcha::human_track(&mut rand::thread_rng(), x)
                .iter()
                .map(|p| json!({ "t": p.t / 10, "x": p.x, "y": p.y }))
                .collect();
            Value::Array(pts)
        }),
        // No track at all.
        Box::new(|_| json!([])),
    ];
    for (i, make) in robotic.iter().enumerate() {
        let c = app.new_captcha("sms").await;
        let x = c["dev_solution"].as_i64().unwrap();
        let (status, error) = error_code(answer(&app, &c, x, make(x)).await).await;
        assert_eq!((status, error["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("captcha_failed")), "track {i}");
    }
    // A body that is not even an answer spends the challenge as a failure.
    let c = app.new_captcha("sms").await;
    let id = c["id"].as_str().unwrap();
    let res = app.client.post(app.url(&format!("/api/v1/captchas/{id}/answer"))).body("garbage").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(answer(&app, &c, 0, human(0)).await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_token_serves_its_purpose_once() {
    let app = spawn_app().await;
    let send = |token: String, channel: &'static str| {
        let app = &app;
        async move {
            let body = match channel {
                "sms" => json!({ "channel": "sms", "phone": phone(), "purpose": "register", "captcha_token": token }),
                _ => json!({ "channel": "email", "email": "20002@qq.com", "purpose": "change_email", "captcha_token": token }),
            };
            app.post("/api/v1/verification-codes", &body).await
        }
    };
    // A login token does not send SMS.
    let token = app.captcha_token("login").await;
    let (status, error) = error_code(send(token, "sms").await).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("captcha_failed")));
    // An SMS token does not send email.
    let token = app.captcha_token("sms").await;
    let (_, error) = error_code(send(token.clone(), "email").await).await;
    assert_eq!(error["code"], "captcha_failed");
    // Used once for SMS, then refused.
    assert_eq!(send(token.clone(), "sms").await.status(), StatusCode::ACCEPTED);
    let (_, error) = error_code(send(token, "sms").await).await;
    assert_eq!(error["code"], "captcha_failed");
    // Tokens expire after two minutes.
    let token = app.captcha_token("sms").await;
    app.advance_clock(121).await;
    let (_, error) = error_code(send(token, "sms").await).await;
    assert_eq!(error["code"], "captcha_failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_concurrent_uses_of_one_token_one_wins() {
    let app = spawn_app().await;
    let sibling = spawn_sibling(&app).await;
    let token = app.captcha_token("sms").await;
    let requests = (0..8).map(|i| {
        let target = if i % 2 == 0 { &app } else { &sibling };
        let body = json!({ "channel": "sms", "phone": phone(), "purpose": "register", "captcha_token": token });
        async move { target.post("/api/v1/verification-codes", &body).await.status() }
    });
    let statuses = futures::future::join_all(requests).await;
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::ACCEPTED).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::UNPROCESSABLE_ENTITY).count(), 7, "{statuses:?}");
}

#[tokio::test]
async fn repeated_failures_from_one_address_are_throttled() {
    let app = spawn_app().await;
    let limit = app.app.config.captcha.failure_limit;
    for _ in 0..limit {
        let c = app.new_captcha("login").await;
        let x = c["dev_solution"].as_i64().unwrap();
        assert_eq!(answer(&app, &c, x + 60, human(x + 60)).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    // Even a right answer now waits.
    let c = app.new_captcha("login").await;
    let x = c["dev_solution"].as_i64().unwrap();
    let (status, error) = error_code(answer(&app, &c, x, human(x)).await).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("captcha_throttled")));
    assert!(error["retry_after"].as_i64().unwrap() > 0);
    assert!(error["message"].as_str().unwrap().contains("分钟"));
    // The window passes.
    app.advance_clock(app.app.config.captcha.failure_window_secs + 1).await;
    let c = app.new_captcha("login").await;
    let x = c["dev_solution"].as_i64().unwrap();
    assert_eq!(answer(&app, &c, x, human(x)).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn keyboard_answers_have_rules_of_their_own() {
    let app = spawn_app().await;
    let c = app.new_captcha("login").await;
    let x = c["dev_solution"].as_i64().unwrap();
    // Arrow presses of 4 px, 80 ms apart, then Enter.
    let mut pts = vec![json!({ "t": 0, "x": 0, "y": 0 })];
    let mut pos = 0;
    let mut t = 0;
    while pos < x {
        pos = (pos + 4).min(x);
        t += 80;
        pts.push(json!({ "t": t, "x": pos, "y": 0 }));
    }
    let res = app
        .post(&format!("/api/v1/captchas/{}/answer", c["id"].as_str().unwrap()), &json!({ "x": x, "track": pts, "input": "keyboard", "pow_nonce": pow_nonce(&c) }))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    // The same presses 1 ms apart are a script.
    let c = app.new_captcha("login").await;
    let x = c["dev_solution"].as_i64().unwrap();
    let pts: Vec<Value> = (0..=x / 4).map(|i| json!({ "t": i, "x": (i * 4).min(x), "y": 0 })).collect();
    let res = app
        .post(&format!("/api/v1/captchas/{}/answer", c["id"].as_str().unwrap()), &json!({ "x": x, "track": pts, "input": "keyboard", "pow_nonce": pow_nonce(&c) }))
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

/// The proof of work (API.md): every challenge carries one; without a valid nonce even the right
/// slide fails, and the challenge is spent.
#[tokio::test]
async fn an_answer_without_a_valid_proof_of_work_fails_and_spends_the_challenge() {
    let app = spawn_app().await;
    let c = app.new_captcha("login").await;
    assert_eq!(c["pow"]["algorithm"], "SHA-256");
    assert_eq!(c["pow"]["difficulty"].as_u64(), Some(u64::from(app.app.config.captcha.pow_base_difficulty)));
    assert!(c["pow"]["challenge"].as_str().unwrap().len() >= 16);

    let post = |c: &Value, nonce: Option<String>| {
        let id = c["id"].as_str().unwrap().to_owned();
        let x = c["dev_solution"].as_i64().unwrap();
        let mut body = json!({ "x": x, "track": human(x) });
        if let Some(n) = nonce {
            body["pow_nonce"] = json!(n);
        }
        let app = &app;
        async move { app.post(&format!("/api/v1/captchas/{id}/answer"), &body).await }
    };
    // Missing.
    let (status, error) = error_code(post(&c, None).await).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("captcha_failed")));
    // Spent: the right nonce now comes too late.
    assert_eq!(post(&c, Some(pow_nonce(&c))).await.status(), StatusCode::NOT_FOUND);

    // Wrong: a nonce that does not reach the difficulty (the smallest that fails), and garbage.
    for bad in ["not-a-number".to_owned(), "".to_owned()] {
        let c = app.new_captcha("login").await;
        let (status, error) = error_code(post(&c, Some(bad)).await).await;
        assert_eq!((status, error["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("captcha_failed")));
    }
    let c = app.new_captcha("login").await;
    let (puzzle, difficulty) = (c["pow"]["challenge"].as_str().unwrap(), c["pow"]["difficulty"].as_u64().unwrap() as u32);
    let wrong = (0u64..).find(|n| !jszg_captcha::pow::verify(puzzle, &n.to_string(), difficulty)).unwrap();
    let (status, error) = error_code(post(&c, Some(wrong.to_string())).await).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("captcha_failed")));
    // A nonce solved for another challenge does not carry over.
    let other = app.new_captcha("login").await;
    let c = app.new_captcha("login").await;
    let borrowed = pow_nonce(&other);
    let (puzzle, difficulty) = (c["pow"]["challenge"].as_str().unwrap(), c["pow"]["difficulty"].as_u64().unwrap() as u32);
    if !jszg_captcha::pow::verify(puzzle, &borrowed, difficulty) {
        assert_eq!(post(&c, Some(borrowed)).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    // And the right one passes.
    let c = app.new_captcha("login").await;
    assert_eq!(post(&c, Some(pow_nonce(&c))).await.status(), StatusCode::OK);
}

async fn difficulty_from(app: &TestApp, ip: &str) -> u64 {
    let res = app.client.post(app.url("/api/v1/captchas")).header("x-forwarded-for", ip).json(&json!({ "purpose": "login" })).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json::<Value>().await.unwrap()["pow"]["difficulty"].as_u64().unwrap()
}

/// Behind a trusted proxy the proof of work follows the forwarded address, and IPv6 clients
/// are grouped by /64 as IPv4 ones by /24 (ABUSE-2; the curve itself is in abuse.rs).
#[tokio::test]
async fn difficulty_follows_the_forwarded_address_and_its_network() {
    let (url, dir) = fresh_database().await;
    let mut config = test_config(&url);
    with_real_limits(&mut config);
    config.trust_forwarded_for = true;
    let app = spawn_with(config, dir).await;
    let base = u64::from(app.app.config.captcha.pow_base_difficulty);
    for _ in 0..8 {
        difficulty_from(&app, "10.1.2.3").await;
    }
    assert_eq!(difficulty_from(&app, "10.1.2.3").await, base + 3);
    assert_eq!(difficulty_from(&app, "10.1.2.99").await, base);
    for (net, other) in [("2001:db8:0:1", "2001:db8:0:2::1"), ("10.9.9", "10.9.10.1")] {
        // 64 addresses of one network, one challenge each: the network's allowance.
        for i in 0..64 {
            let ip = if net.contains(':') { format!("{net}:{i:x}::1") } else { format!("{net}.{}", i + 1) };
            assert_eq!(difficulty_from(&app, &ip).await, base);
        }
        let fresh = if net.contains(':') { format!("{net}:ffff:ffff:ffff:1") } else { format!("{net}.250") };
        assert_eq!(difficulty_from(&app, &fresh).await, base + 1, "the 65th of {net}");
        assert_eq!(difficulty_from(&app, other).await, base, "another network than {net}");
    }
}

/// 无障碍验证 (A11Y-2): a challenge without a picture whose proof of work is the whole test.
async fn accessible(app: &TestApp, purpose: &str) -> Value {
    let res = app.post("/api/v1/captchas", &json!({ "purpose": purpose, "mode": "accessible" })).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json().await.expect("json")
}

#[tokio::test]
async fn accessible_verification_has_no_picture_and_asks_more_work() {
    let app = spawn_app().await;
    let slider = app.post("/api/v1/captchas", &json!({ "purpose": "sms", "mode": "slider" })).await.json::<Value>().await.unwrap();
    assert_eq!(slider["mode"], "slider");
    assert!(slider["background"].is_string());
    let c = accessible(&app, "sms").await;
    assert_eq!(c["mode"], "accessible");
    for field in ["background", "piece", "piece_y", "width", "height", "dev_solution"] {
        assert!(c.get(field).is_none(), "{field} in {c}");
    }
    assert_eq!(c["expires_in"], 300);
    let extra = app.app.config.captcha.accessible_extra_bits;
    assert_eq!(extra, 4);
    assert_eq!(c["pow"]["difficulty"].as_u64().unwrap(), slider["pow"]["difficulty"].as_u64().unwrap() + u64::from(extra));

    // The nonce alone passes; the token is good for its purpose, once.
    let id = c["id"].as_str().unwrap();
    let res = app.post(&format!("/api/v1/captchas/{id}/answer"), &json!({ "pow_nonce": pow_nonce(&c) })).await;
    assert_eq!(res.status(), StatusCode::OK);
    let token = res.json::<Value>().await.unwrap()["captcha_token"].as_str().unwrap().to_owned();
    let sent = app.post("/api/v1/verification-codes", &json!({ "channel": "sms", "phone": phone(), "purpose": "register", "captcha_token": token })).await;
    assert_eq!(sent.status(), StatusCode::ACCEPTED);
    let again = app.post("/api/v1/verification-codes", &json!({ "channel": "sms", "phone": phone(), "purpose": "register", "captcha_token": token })).await;
    assert_eq!(error_code(again).await.1["code"], "captcha_failed");

    // Work at the slider's price is not enough, and the challenge is spent by the try.
    let c = accessible(&app, "login").await;
    let (id, puzzle) = (c["id"].as_str().unwrap(), c["pow"]["challenge"].as_str().unwrap());
    let difficulty = c["pow"]["difficulty"].as_u64().unwrap() as u32;
    let cheap = (0u64..)
        .map(|n| n.to_string())
        .find(|n| jszg_captcha::pow::verify(puzzle, n, difficulty - extra) && !jszg_captcha::pow::verify(puzzle, n, difficulty))
        .unwrap();
    let res = app.post(&format!("/api/v1/captchas/{id}/answer"), &json!({ "pow_nonce": cheap })).await;
    let (status, error) = error_code(res).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("captcha_failed")));
    let res = app.post(&format!("/api/v1/captchas/{id}/answer"), &json!({ "pow_nonce": pow_nonce(&c) })).await;
    assert_eq!(error_code(res).await.1["code"], "captcha_expired");

    // A slider challenge still needs its drag: the nonce alone fails it.
    let c = app.new_captcha("login").await;
    let res = app.post(&format!("/api/v1/captchas/{}/answer", c["id"].as_str().unwrap()), &json!({ "pow_nonce": pow_nonce(&c) })).await;
    assert_eq!(error_code(res).await.1["code"], "captcha_failed");

    for mode in [json!("audio"), json!({}), json!(1), json!(["accessible"])] {
        let res = app.post("/api/v1/captchas", &json!({ "purpose": "sms", "mode": mode })).await;
        let (status, error) = error_code(res).await;
        assert_eq!((status, error["code"].as_str(), error["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_request"), Some("mode")), "{mode}");
    }
}
