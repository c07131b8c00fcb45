//! Login through both entries, sessions, and the entry gate (LOGIN-1..4, RN-1).

use std::time::Instant;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

fn session_cookie(res: &reqwest::Response) -> Option<String> {
    res.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).find(|v| v.starts_with("jszg_session=")).map(str::to_owned)
}

#[tokio::test]
async fn login_sets_a_safe_cookie_and_says_what_comes_next() {
    let app = spawn_app().await;
    let who = app.register_as("resident_id").await;
    let res = app.login(&who.doc, PASSWORD, "renewal").await;
    assert_eq!(res.status(), StatusCode::OK);
    let cookie = session_cookie(&res).expect("session cookie");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/"));
    assert!(!cookie.contains("Secure"), "development mode runs on plain loopback HTTP");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["next"], "complete_profile");
    assert_eq!(body["entry"], "renewal");
    assert_eq!(body["account"]["name"], "张三");
    // The same account works on the other entry, typed with a lower-case x or full width.
    let other = app.another_client();
    let typed: String = who.doc.chars().map(|c| char::from_u32(c as u32 + 0xFEE0).unwrap()).collect();
    assert_eq!(other.login(&typed, PASSWORD, "certification").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn unknown_number_and_wrong_password_look_the_same() {
    let app = spawn_app().await;
    let who = app.register_as("resident_id").await;
    let (s1, e1) = error_code(app.login(&who.doc, "Wrong#2024x", "certification").await).await;
    let (s2, e2) = error_code(app.login(&resident_id(date("1990-01-01")), "Wrong#2024x", "certification").await).await;
    assert_eq!(s1, StatusCode::UNAUTHORIZED);
    assert_eq!((s1, &e1), (s2, &e2));
    assert_eq!(e1["code"], "invalid_credentials");
    let (s3, e3) = error_code(app.login("not-a-number", "Wrong#2024x", "certification").await).await;
    assert_eq!((s1, &e1), (s3, &e3));
}

#[tokio::test]
async fn login_needs_a_login_captcha() {
    let app = spawn_app().await;
    let who = app.register_as("resident_id").await;
    let res = app.post("/api/v1/sessions", &json!({ "doc_number": who.doc, "password": PASSWORD, "entry": "certification" })).await;
    assert_eq!(error_code(res).await.1["code"], "captcha_required");
    let token = app.captcha_token("sms").await;
    let res = app
        .post("/api/v1/sessions", &json!({ "doc_number": who.doc, "password": PASSWORD, "captcha_token": token, "entry": "certification" }))
        .await;
    assert_eq!(error_code(res).await.1["code"], "captcha_failed");
}

#[tokio::test]
async fn failures_slow_then_lock_the_number_until_the_clock_moves_on() {
    let (url, dir) = fresh_database().await;
    let mut config = test_config(&url);
    config.login.slow_after = 3;
    config.login.delay_step_ms = 150;
    config.login.max_delay_ms = 300;
    config.login.lock_after = 6;
    config.login.lock_secs = 900;
    let app = spawn_with(config, dir).await;
    let who = app.register_as("resident_id").await;
    let stranger = resident_id(date("1991-02-03"));
    for target in [&who.doc, &stranger] {
        for attempt in 1..=6 {
            let started = Instant::now();
            let (status, error) = error_code(app.login(target, "Wrong#2024x", "certification").await).await;
            assert_eq!((status, error["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_credentials")), "attempt {attempt}");
            if attempt > 3 {
                assert!(started.elapsed().as_millis() >= 150, "attempt {attempt} is slowed");
            }
        }
        // Locked now, even with the right password, for known and unknown numbers alike.
        let (status, error) = error_code(app.login(target, PASSWORD, "certification").await).await;
        assert_eq!((status, error["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("account_locked")));
        let retry = error["retry_after"].as_i64().unwrap();
        assert!(retry > 0 && retry <= 900, "{retry}");
        assert!(error["message"].as_str().unwrap().contains("分钟"));
    }
    app.advance_clock(901).await;
    let res = app.login(&who.doc, PASSWORD, "certification").await;
    assert_eq!(res.status(), StatusCode::OK);
    // A success resets the count: three more failures are not slowed into a lock.
    for _ in 0..3 {
        assert_eq!(app.login(&who.doc, "Wrong#2024x", "certification").await.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(app.login(&who.doc, PASSWORD, "certification").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_source_address_failing_across_numbers_is_throttled() {
    let (url, dir) = fresh_database().await;
    let mut config = test_config(&url);
    config.login.address_limit = 5;
    let app = spawn_with(config, dir).await;
    for _ in 0..5 {
        let res = app.login(&resident_id(date("1980-01-01")), "Wrong#2024x", "certification").await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let (status, error) = error_code(app.login(&resident_id(date("1980-01-01")), "Wrong#2024x", "certification").await).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("too_many_attempts")));
}

#[tokio::test]
async fn each_login_gets_a_new_session_id() {
    let app = spawn_app().await;
    let who = app.register_as("resident_id").await;
    let first = session_cookie(&app.login(&who.doc, PASSWORD, "certification").await).unwrap();
    let second = session_cookie(&app.login(&who.doc, PASSWORD, "certification").await).unwrap();
    assert_ne!(first, second);
    // The replaced session no longer works.
    let old = first.split(';').next().unwrap().to_owned();
    let res = reqwest::Client::new().get(app.url("/api/v1/me")).header("cookie", old).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.get("/api/v1/me").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn sessions_end_when_idle_too_long_and_after_the_absolute_limit() {
    let (url, dir) = fresh_database().await;
    let mut config = test_config(&url);
    config.sessions.idle_secs = 1800;
    config.sessions.absolute_secs = 3600;
    let app = spawn_with(config, dir).await;
    let who = app.register_as("resident_id").await;
    app.login(&who.doc, PASSWORD, "certification").await;
    app.advance_clock(1700).await;
    assert_eq!(app.get("/api/v1/me").await.status(), StatusCode::OK);
    app.advance_clock(1700).await;
    assert_eq!(app.get("/api/v1/me").await.status(), StatusCode::OK, "activity keeps it alive");
    app.advance_clock(300).await;
    let (status, error) = error_code(app.get("/api/v1/me").await).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("not_logged_in")), "absolute limit");

    app.login(&who.doc, PASSWORD, "certification").await;
    app.advance_clock(1801).await;
    assert_eq!(app.get("/api/v1/me").await.status(), StatusCode::UNAUTHORIZED, "idle limit");
}

#[tokio::test]
async fn logout_ends_the_session() {
    let app = spawn_app().await;
    let who = app.register_as("resident_id").await;
    app.login(&who.doc, PASSWORD, "certification").await;
    assert_eq!(app.get("/api/v1/me").await.status(), StatusCode::OK);
    let res = app.client.delete(app.url("/api/v1/sessions/current")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.get("/api/v1/me").await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn changing_the_password_ends_every_other_session() {
    let app = spawn_app().await;
    let who = app.register_as("resident_id").await;
    let phone_browser = app.another_client();
    app.login(&who.doc, PASSWORD, "certification").await;
    phone_browser.login(&who.doc, PASSWORD, "renewal").await;
    let change = |current: &str, new: &str, confirm: &str| json!({ "current_password": current, "new_password": new, "new_password_confirm": confirm });
    let (status, error) = error_code(app.post("/api/v1/me/password", &change("Wrong#1234", "New#2025abc", "New#2025abc")).await).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_credentials")));
    let (_, error) = error_code(app.post("/api/v1/me/password", &change(PASSWORD, "short", "short")).await).await;
    assert_eq!(error["code"], "weak_password");
    let (_, error) = error_code(app.post("/api/v1/me/password", &change(PASSWORD, "New#2025abc", "New#2025abd")).await).await;
    assert_eq!(error["code"], "password_mismatch");
    assert_eq!(phone_browser.get("/api/v1/me").await.status(), StatusCode::OK, "failed changes end nothing");

    let res = app.post("/api/v1/me/password", &change(PASSWORD, "New#2025abc", "New#2025abc")).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.get("/api/v1/me").await.status(), StatusCode::OK, "this session stays");
    assert_eq!(phone_browser.get("/api/v1/me").await.status(), StatusCode::UNAUTHORIZED, "others end");
    assert_eq!(phone_browser.login(&who.doc, PASSWORD, "renewal").await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(phone_browser.login(&who.doc, "New#2025abc", "renewal").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn cross_site_requests_with_the_session_are_refused() {
    let app = spawn_app().await;
    let who = app.register_as("resident_id").await;
    app.login(&who.doc, PASSWORD, "certification").await;
    let res = app
        .client
        .post(app.url("/api/v1/me/password"))
        .header("origin", "https://attacker.example")
        .json(&json!({ "current_password": PASSWORD, "new_password": "New#2025abc", "new_password_confirm": "New#2025abc" }))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res).await.1["code"], "csrf");
    let res = app.client.delete(app.url("/api/v1/sessions/current")).header("sec-fetch-site", "cross-site").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // HTML forms need their synchronizer token.
    let res = app
        .client
        .post(app.url("/me/password"))
        .form(&[("current_password", PASSWORD), ("new_password", "New#2025abc"), ("new_password_confirm", "New#2025abc")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.get("/api/v1/me").await.status(), StatusCode::OK);
    assert_eq!(app.another_client().login(&who.doc, PASSWORD, "certification").await.status(), StatusCode::OK, "password unchanged");
}

#[tokio::test]
async fn html_forms_work_with_their_token() {
    let app = spawn_app().await;
    let who = app.register_as("resident_id").await;
    app.login(&who.doc, PASSWORD, "certification").await;
    let page = app.get("/me/password").await.text().await.unwrap();
    let token = page.split("name=\"form_token\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let res = app
        .client
        .post(app.url("/me/password"))
        .form(&[
            ("form_token", token.as_str()),
            ("current_password", PASSWORD),
            ("new_password", "New#2025abc"),
            ("new_password_confirm", "New#2025abc"),
        ])
        .send()
        .await
        .unwrap();
    assert!(res.url().as_str().ends_with("/me/password?saved=password"), "{}", res.url());
    assert!(res.text().await.unwrap().contains("密码修改成功"));
    assert_eq!(app.another_client().login(&who.doc, "New#2025abc", "certification").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_entry_gate_has_three_answers() {
    let app = spawn_app().await;
    let who = app.register_as("resident_id").await;
    assert_eq!(app.get("/api/v1/entries/certification").await.status(), StatusCode::UNAUTHORIZED);
    app.login(&who.doc, PASSWORD, "certification").await;
    let (status, error) = error_code(app.get("/api/v1/entries/certification").await).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::CONFLICT, Some("profile_incomplete")));
    let res = app.client.put(app.url("/api/v1/me/profile")).json(&json!({ "ethnicity": "01" })).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let (status, error) = error_code(app.get("/api/v1/entries/renewal").await).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::FORBIDDEN, Some("realname_required")));
    assert_eq!(error["message"], "您还未进行实名认证，需进入“个人信息中心”完成实名认证，再办理业务！");
    // The page says the same and leads to the verification tab.
    let html = app.get("/entries/renewal").await.text().await.unwrap();
    assert!(html.contains("您还未进行实名认证") && html.contains("/me/realname"));

    app.post("/api/v1/dev/identities", &json!({ "doc_type": "resident_id", "doc_number": who.doc, "name": "张三" })).await;
    let res = app.post("/api/v1/me/realname", &json!({})).await;
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap_or_default());
    let res = app.get("/api/v1/entries/renewal").await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["redirect"], app.app.config.entries.renewal_url);
    let res = app.login(&who.doc, PASSWORD, "certification").await;
    assert_eq!(res.json::<Value>().await.unwrap()["next"], "business");
}
