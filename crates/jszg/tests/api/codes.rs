//! Verification codes (CODE-1, CODE-2) and every error code of API.md
//! "Verification codes".

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

#[tokio::test]
async fn an_sms_code_is_six_digits_in_the_outbox() {
    let app = spawn_app().await;
    let phone = phone();
    let res = app.request_sms(&phone, "register").await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body, json!({ "expires_in": 300, "remaining_today": 2 }));
    let messages = app.outbox(&phone).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["channel"], "sms");
    assert_eq!(messages[0]["to"], phone);
    assert!(extract_code(messages[0]["body"].as_str().unwrap()).is_some());
    // Typed with +86 and spaces it is the same phone.
    assert_eq!(app.outbox(&format!("+86 {phone}")).await.len(), 1);
}

#[tokio::test]
async fn three_sms_per_phone_per_beijing_day() {
    let app = spawn_app().await;
    let phone = phone();
    for (purpose, left) in [("register", 2), ("change_phone", 1), ("contact_change", 0)] {
        let res = app.request_sms(&phone, purpose).await;
        assert_eq!(res.status(), StatusCode::ACCEPTED);
        assert_eq!(res.json::<Value>().await.unwrap()["remaining_today"], left);
    }
    let res = app.request_sms(&phone, "register").await;
    let retry = res.headers().get("retry-after").cloned();
    let (status, error) = error_code(res).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("daily_limit")));
    let retry_after = error["retry_after"].as_i64().unwrap();
    assert!(retry_after > 0 && retry_after <= 86_400);
    assert!(retry.is_some());
    assert!(error["message"].as_str().unwrap().contains("3次"));
    // Another phone is not affected.
    assert_eq!(app.request_sms(&crate::helpers::phone(), "register").await.status(), StatusCode::ACCEPTED);
    // The next Beijing day the count starts again.
    app.advance_clock(retry_after + 1).await;
    assert_eq!(app.request_sms(&phone, "register").await.status(), StatusCode::ACCEPTED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_concurrent_requests_send_exactly_three() {
    let app = spawn_app().await;
    let sibling = spawn_sibling(&app).await;
    let phone = phone();
    let mut tokens = Vec::new();
    for _ in 0..8 {
        tokens.push(app.captcha_token("sms").await);
    }
    let requests = tokens.iter().enumerate().map(|(i, token)| {
        let target = if i % 2 == 0 { &app } else { &sibling };
        let body = json!({ "channel": "sms", "phone": phone, "purpose": "register", "captcha_token": token });
        async move { target.post("/api/v1/verification-codes", &body).await }
    });
    let statuses: Vec<StatusCode> = futures::future::join_all(requests).await.iter().map(|r| r.status()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::ACCEPTED).count(), 3, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count(), 5, "{statuses:?}");
    assert_eq!(app.outbox(&phone).await.len(), 3);
}

#[tokio::test]
async fn invalid_targets_are_refused_without_spending_the_captcha() {
    let app = spawn_app().await;
    let token = app.captcha_token("sms").await;
    let res = app
        .post("/api/v1/verification-codes", &json!({ "channel": "sms", "phone": "1234", "purpose": "register", "captcha_token": token }))
        .await;
    let (status, error) = error_code(res).await;
    assert_eq!(
        (status, error["code"].as_str(), error["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_phone"), Some("phone"))
    );
    // The token still works for a valid phone.
    let res = app
        .post("/api/v1/verification-codes", &json!({ "channel": "sms", "phone": phone(), "purpose": "register", "captcha_token": token }))
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);

    let token = app.captcha_token("email").await;
    let res = app
        .post(
            "/api/v1/verification-codes",
            &json!({ "channel": "email", "email": "abc＠", "purpose": "change_email", "captcha_token": token }),
        )
        .await;
    let (status, error) = error_code(res).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_email")));
}

#[tokio::test]
async fn email_codes_have_their_own_limit() {
    let app = spawn_app().await;
    let email = "10001@qq.com";
    let limit = app.app.config.codes.email_daily_limit;
    for _ in 0..limit {
        let token = app.captcha_token("email").await;
        let res = app
            .post(
                "/api/v1/verification-codes",
                &json!({ "channel": "email", "email": "１０００１＠ＱＱ．ＣＯＭ", "purpose": "change_email", "captcha_token": token }),
            )
            .await;
        assert_eq!(res.status(), StatusCode::ACCEPTED);
    }
    let token = app.captcha_token("email").await;
    let res = app
        .post(
            "/api/v1/verification-codes",
            &json!({ "channel": "email", "email": email, "purpose": "change_email", "captcha_token": token }),
        )
        .await;
    let (status, error) = error_code(res).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("daily_limit")));
    let messages = app.outbox(email).await;
    assert_eq!(messages.len() as i64, limit);
    assert_eq!(messages[0]["channel"], "email");
    assert!(messages[0]["subject"].as_str().unwrap().contains("验证码"));
    // The email quota does not touch SMS.
    assert_eq!(app.request_sms(&phone(), "register").await.status(), StatusCode::ACCEPTED);
}

#[tokio::test]
async fn a_captcha_token_is_required() {
    let app = spawn_app().await;
    let phone = phone();
    let res = app.post("/api/v1/verification-codes", &json!({ "channel": "sms", "phone": phone, "purpose": "register" })).await;
    let (status, error) = error_code(res).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("captcha_required")));
    let res = app
        .post("/api/v1/verification-codes", &json!({ "channel": "sms", "phone": phone, "purpose": "register", "captcha_token": "forged" }))
        .await;
    let (_, error) = error_code(res).await;
    assert_eq!(error["code"], "captcha_failed");
    assert!(app.outbox(&phone).await.is_empty());
}
