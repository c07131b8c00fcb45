//! 实名认证 (RN-1..6) and the business systems' enrollment API (SSO-3).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::http::HeaderMap;
use reqwest::StatusCode;
use serde_json::{json, Value};

use jszg::config::AuthorityProvider;

use crate::helpers::*;

async fn register_identity(app: &TestApp, doc: &str, name: &str) {
    let res = app.post("/api/v1/dev/identities", &json!({ "doc_type": "resident_id", "doc_number": doc, "name": name })).await;
    assert_eq!(res.status(), StatusCode::CREATED);
}

async fn realname(api: &Api, name: Option<&str>) -> reqwest::Response {
    match name {
        Some(n) => api.post("/api/v1/me/realname", &json!({ "name": n })).await,
        None => api.client.post(api.url("/api/v1/me/realname")).send().await.unwrap(),
    }
}

#[tokio::test]
async fn the_reference_registry_verifies_a_matching_name() {
    let app = spawn_app().await;
    let who = app.applicant().await;
    register_identity(&app, &who.doc, "张三").await;
    let res = realname(&app, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "verified");
    assert_eq!(body["remaining_today"], 2);
    let me: Value = app.get("/api/v1/me").await.json().await.unwrap();
    assert_eq!(me["realname"]["status"], "verified");
    assert_eq!(me["realname"]["remaining_today"], 2);
}

#[tokio::test]
async fn three_attempts_a_day_then_the_next_day() {
    let app = spawn_app().await;
    let who = app.applicant().await;
    for left in [2, 1, 0] {
        let (status, error) = error_code(realname(&app, None).await).await;
        assert_eq!((status, error["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("realname_failed")));
        assert_eq!(error["remaining_today"], left);
        assert!(error["message"].as_str().unwrap().contains("申请人工审核"));
        assert_eq!(error["guide"], "/guide/ctid", "resident IDs are pointed to the CTID guide");
    }
    let (status, error) = error_code(realname(&app, None).await).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("daily_limit")));
    let retry = error["retry_after"].as_i64().unwrap();
    // Even a now-correct name waits for tomorrow.
    register_identity(&app, &who.doc, "张三").await;
    assert_eq!(realname(&app, None).await.status(), StatusCode::TOO_MANY_REQUESTS);
    app.advance_clock(retry + 1).await;
    app.login(&who.doc, PASSWORD, "certification").await; // the session idled out meanwhile
    assert_eq!(realname(&app, None).await.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_concurrent_attempts_process_exactly_three() {
    let app = spawn_app().await;
    let sibling = spawn_sibling(&app).await;
    let who = app.applicant().await;
    // The sibling honours the same session: it lives in the database.
    let token = {
        let login = app.login(&who.doc, PASSWORD, "certification").await;
        login.headers().get("set-cookie").unwrap().to_str().unwrap().split(';').next().unwrap().to_owned()
    };
    let requests = (0..8).map(|i| {
        let base = if i % 2 == 0 { app.url("/api/v1/me/realname") } else { sibling.url("/api/v1/me/realname") };
        let token = token.clone();
        async move { reqwest::Client::new().post(base).header("cookie", token).send().await.unwrap().status() }
    });
    let statuses = futures::future::join_all(requests).await;
    let processed = statuses.iter().filter(|s| **s == StatusCode::UNPROCESSABLE_ENTITY).count();
    let limited = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
    assert_eq!((processed, limited), (3, 5), "{statuses:?}");
}

#[tokio::test]
async fn a_name_change_is_saved_only_when_verified() {
    let app = spawn_app().await;
    let who = app.applicant().await;
    register_identity(&app, &who.doc, "张三").await;
    assert_eq!(realname(&app, None).await.status(), StatusCode::OK);
    // The registry does not know 张叁: nothing changes.
    let (status, error) = error_code(realname(&app, Some("张叁")).await).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("realname_failed")));
    let me: Value = app.get("/api/v1/me").await.json().await.unwrap();
    assert_eq!((me["name"].as_str(), me["realname"]["status"].as_str()), (Some("张三"), Some("verified")));
    // A bad name is refused before it costs an attempt.
    let (_, error) = error_code(realname(&app, Some("张3")).await).await;
    assert_eq!(error["code"], "invalid_name");
    assert_eq!(app.get("/api/v1/me").await.json::<Value>().await.unwrap()["realname"]["remaining_today"], 1);
    // The person's name changed at the authority: now it is saved.
    register_identity(&app, &who.doc, "张叁").await;
    let res = realname(&app, Some("张叁")).await;
    assert_eq!(res.status(), StatusCode::OK);
    let me: Value = app.get("/api/v1/me").await.json().await.unwrap();
    assert_eq!(me["name"], "张叁");
}

#[tokio::test]
async fn enrolled_businesses_hear_of_a_name_change() {
    let app = spawn_app().await;
    let who = app.applicant().await;
    let path = format!("/api/v1/service/enrollments/certification/{}", who.doc);
    // Without the client secret: refused.
    let res = app.client.put(app.url(&path)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let secret = jszg::flows::enrollment::rotate_secret(&app.app, jszg::flows::applicant::Entry::Certification).await.unwrap();
    let res = app.client.put(app.url(&path)).bearer_auth("wrong").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // The renewal secret is not the certification one.
    let renewal = jszg::flows::enrollment::rotate_secret(&app.app, jszg::flows::applicant::Entry::Renewal).await.unwrap();
    assert_eq!(app.client.put(app.url(&path)).bearer_auth(&renewal).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.client.put(app.url(&path)).bearer_auth(&secret).send().await.unwrap().status(), StatusCode::NO_CONTENT);
    let unknown = format!("/api/v1/service/enrollments/certification/{}", resident_id(date("1970-01-01")));
    assert_eq!(app.client.put(app.url(&unknown)).bearer_auth(&secret).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    // Rotating again retires the old secret at once.
    let newer = jszg::flows::enrollment::rotate_secret(&app.app, jszg::flows::applicant::Entry::Certification).await.unwrap();
    assert_eq!(app.client.put(app.url(&path)).bearer_auth(&secret).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.client.put(app.url(&path)).bearer_auth(&newer).send().await.unwrap().status(), StatusCode::NO_CONTENT);

    register_identity(&app, &who.doc, "张三").await;
    assert_eq!(realname(&app, None).await.status(), StatusCode::OK);
    let events: Vec<Value> = app.outbox("certification").await;
    assert!(events.is_empty(), "no event without a name change");
    register_identity(&app, &who.doc, "张叁").await;
    assert_eq!(realname(&app, Some("张叁")).await.status(), StatusCode::OK);
    let events = app.outbox("certification").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["channel"], "business");
    let event: Value = serde_json::from_str(events[0]["body"].as_str().unwrap()).unwrap();
    assert_eq!(event["type"], "applicant.name_changed");
    assert_eq!(event["name"], "张叁");
    assert_eq!(event["resubmit_required"], true);
    assert!(app.outbox("renewal").await.is_empty(), "not enrolled there");
}

/// A verification service over HTTP that checks our signature and counts
/// calls per request id; it can be told to fail first.
async fn provider(fail_first: usize) -> (String, Arc<AtomicUsize>, String) {
    let secret = "shared-secret-for-tests".to_owned();
    let calls = Arc::new(AtomicUsize::new(0));
    let (s, c) = (secret.clone(), calls.clone());
    let router = axum::Router::new().route(
        "/verify",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let (s, c) = (s.clone(), c.clone());
            async move {
                let n = c.fetch_add(1, Ordering::SeqCst);
                let ts = headers.get("x-jszg-timestamp").and_then(|v| v.to_str().ok()).unwrap_or("");
                let sig = headers.get("x-jszg-signature").and_then(|v| v.to_str().ok()).unwrap_or("");
                let suite = match headers.get("x-jszg-signature-alg").and_then(|v| v.to_str().ok()) {
                    Some("hmac-sm3") => jszg::vault::Suite::Gm,
                    Some("hmac-sha256") => jszg::vault::Suite::Intl,
                    _ => return (axum::http::StatusCode::UNAUTHORIZED, axum::Json(json!({ "error": "no signature alg" }))),
                };
                if sig != jszg::crypto::sign(suite, &s, ts, &body) {
                    return (axum::http::StatusCode::UNAUTHORIZED, axum::Json(json!({ "error": "bad signature" })));
                }
                if n < fail_first {
                    return (axum::http::StatusCode::BAD_GATEWAY, axum::Json(json!({})));
                }
                let req: Value = serde_json::from_slice(&body).unwrap_or_default();
                let result = if req["name"] == "张三" { "match" } else { "mismatch" };
                (axum::http::StatusCode::OK, axum::Json(json!({ "result": result, "request_id": req["request_id"] })))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.ok() });
    (format!("http://{addr}/verify"), calls, secret)
}

async fn app_with_provider(url: &str, secret: &str, retries: u32) -> TestApp {
    let (db, dir) = fresh_database().await;
    let mut config = test_config(&db);
    config.authority.provider = AuthorityProvider::Http;
    config.authority.url = Some(url.to_owned());
    config.authority.secret = Some(secret.to_owned());
    config.authority.timeout_ms = 2000;
    config.authority.retries = retries;
    spawn_with(config, dir).await
}

#[tokio::test]
async fn the_http_provider_signs_retries_and_decides() {
    let (url, calls, secret) = provider(1).await;
    let app = app_with_provider(&url, &secret, 2).await;
    app.applicant().await;
    // The first call fails with 502, the retry answers: one attempt spent.
    let res = realname(&app, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["remaining_today"], 2);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    let (_, error) = error_code(realname(&app, Some("李四")).await).await;
    assert_eq!(error["code"], "realname_failed");
}

#[tokio::test]
async fn an_authority_outage_consumes_no_attempt() {
    let (url, calls, secret) = provider(usize::MAX).await;
    let app = app_with_provider(&url, &secret, 1).await;
    app.applicant().await;
    for _ in 0..4 {
        let (status, error) = error_code(realname(&app, None).await).await;
        assert_eq!((status, error["code"].as_str()), (StatusCode::SERVICE_UNAVAILABLE, Some("authority_unavailable")));
    }
    assert_eq!(calls.load(Ordering::SeqCst), 8, "one retry per attempt");
    let me: Value = app.get("/api/v1/me").await.json().await.unwrap();
    assert_eq!(me["realname"]["remaining_today"], 3);
    // A wrong signature secret is an outage too, never a verdict on the person.
    let (url, _, _) = provider(0).await;
    let app = app_with_provider(&url, "not-the-secret", 0).await;
    app.applicant().await;
    let (status, _) = error_code(realname(&app, None).await).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    // And nobody listening at all.
    let app = app_with_provider("http://127.0.0.1:9/verify", "x", 1).await;
    app.applicant().await;
    let (status, _) = error_code(realname(&app, None).await).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
}
