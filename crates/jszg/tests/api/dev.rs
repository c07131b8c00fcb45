//! Development endpoints, health, the OpenAPI document, and what is
//! different outside development mode.

use reqwest::StatusCode;
use serde_json::{json, Value};


use crate::helpers::*;

#[tokio::test]
async fn health_and_readiness() {
    let app = spawn_app().await;
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
    assert_eq!(app.get("/readyz").await.status(), StatusCode::OK);
    app.app.db.close().await;
    assert_eq!(app.get("/readyz").await.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn openapi_document_lists_the_contract() {
    let app = spawn_app().await;
    let doc: Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in ["/api/v1/captchas", "/api/v1/captchas/{id}/answer", "/api/v1/verification-codes", "/api/v1/accounts", "/api/v1/dev/outbox"]
    {
        assert!(doc["paths"].get(path).is_some(), "{path} missing");
    }
}

#[tokio::test]
async fn identities_join_the_reference_registry() {
    let app = spawn_app().await;
    let doc = resident_id(date("1990-06-01"));
    let res = app.post("/api/v1/dev/identities", &json!({ "doc_type": "resident_id", "doc_number": doc, "name": "李四" })).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let hash = app.app.vault.lookup(jszg::vault::Field::DocNumber, &doc);
    let name = jszg::store::identities::name_of(&app.app.db, &hash, "resident_id").await.unwrap();
    assert_eq!(name.as_deref(), Some("李四"));
    let (status, error) =
        error_code(app.post("/api/v1/dev/identities", &json!({ "doc_type": "resident_id", "doc_number": "1", "name": "李四" })).await)
            .await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_doc_number")));
}

#[tokio::test]
async fn the_clock_moves_forward_for_every_instance() {
    let app = spawn_app().await;
    let sibling = spawn_sibling(&app).await;
    let before = app.app.clock.unix();
    let res = app.post("/api/v1/dev/clock", &json!({ "advance_seconds": 86_400 })).await;
    assert_eq!(res.status(), StatusCode::OK);
    let now: Value = res.json().await.unwrap();
    let now = time::OffsetDateTime::parse(now["now"].as_str().unwrap(), &time::format_description::well_known::Rfc3339).unwrap();
    assert!(now.unix_timestamp() >= before + 86_400);
    // The sibling follows on its next request.
    sibling.get("/healthz").await;
    sibling.get("/api/v1/dev/outbox").await;
    assert!(sibling.app.clock.unix() >= before + 86_400);
    let (status, _) = error_code(app.post("/api/v1/dev/clock", &json!({ "advance_seconds": -5 })).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn the_outbox_page_shows_codes() {
    let app = spawn_app().await;
    let phone = phone();
    let code = app.sms_code(&phone).await;
    let html = app.get(&format!("/dev/outbox?to={phone}")).await.text().await.unwrap();
    assert!(html.contains(&code) && html.contains(&phone));
}

#[tokio::test]
async fn pages_render() {
    let app = spawn_app().await;
    let home = app.get("/").await;
    assert_eq!(home.status(), StatusCode::OK);
    let csp = home.headers().get("content-security-policy").unwrap().to_str().unwrap().to_owned();
    assert!(csp.contains("frame-ancestors 'none'"));
    assert_eq!(home.headers().get("x-content-type-options").unwrap(), "nosniff");
    let html = home.text().await.unwrap();
    assert!(html.contains("教师资格认定") && html.contains("中小学教师资格定期注册"));
    assert!(html.contains("/login/certification") && html.contains("/login/renewal"));
    let reg = app.get("/register").await.text().await.unwrap();
    for text in [
        "身份证件类型",
        "身份证件号码",
        "身份证件有效时间段",
        "身份证件有效截止日期",
        "确认密码",
        "安全邮箱",
        "手机号码",
        "我同意遵守协议",
        "关闭",
        "《中国教师资格网注册协议》",
    ] {
        assert!(reg.contains(text), "{text}");
    }
    assert!(app.get("/static/register.js").await.status().is_success());
    assert_eq!(app.get("/static/nope.js").await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn operators_replace_the_agreement_text() {
    let dir = tempfile::tempdir().unwrap();
    let terms = dir.path().join("terms.txt");
    std::fs::write(&terms, "第一条 测试协议甲。\n\n第二条 测试协议乙。").unwrap();
    let (url, db_dir) = fresh_database().await;
    let mut config = test_config(&url);
    config.terms_file = Some(terms.clone());
    let app = spawn_with(config, db_dir).await;
    let html = app.get("/register").await.text().await.unwrap();
    assert!(html.contains("第一条 测试协议甲。") && html.contains("第二条 测试协议乙。"));
    std::fs::write(&terms, "第三条 换过的协议。").unwrap();
    assert!(app.get("/register").await.text().await.unwrap().contains("第三条 换过的协议。"));
}

#[tokio::test]
async fn cross_site_posts_with_cookies_are_refused() {
    let app = spawn_app().await;
    let res = app
        .client
        .post(app.url("/api/v1/captchas"))
        .header("cookie", "jszg_session=abc")
        .header("origin", "https://evil.example")
        .json(&json!({ "purpose": "login" }))
        .send()
        .await
        .unwrap();
    let (status, error) = error_code(res).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::FORBIDDEN, Some("csrf")));
    // Same origin passes; so does a cookie-less API client.
    let res = app
        .client
        .post(app.url("/api/v1/captchas"))
        .header("cookie", "jszg_session=abc")
        .header("origin", app.url(""))
        .json(&json!({ "purpose": "login" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
}

/// Outside development mode: no dev endpoints, no dev_solution.
#[tokio::test]
async fn production_mode_hides_development_aids() {
    let (url, dir) = fresh_database().await;
    let config = production_config(&url);
    let app = spawn_with(config, dir).await;
    assert!(!app.app.dev);
    assert_eq!(app.get("/api/v1/dev/outbox").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.post("/api/v1/dev/clock", &json!({ "advance_seconds": 1 })).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.post("/api/v1/dev/identities", &json!({})).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.get("/dev/outbox").await.status(), StatusCode::NOT_FOUND);
    let c = app.new_captcha("login").await;
    assert!(c.get("dev_solution").is_none());
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_show_the_outbox() {
    let app = spawn_app().await;
    let phone = phone();
    app.sms_code(&phone).await;
    let text = app.get("/metrics").await.text().await.unwrap();
    assert!(text.contains("jszg_http_requests_total{method=\"POST\",route=\"/api/v1/verification-codes\",status=\"202\"} 1"), "{text}");
    assert!(text.contains("jszg_outbox_messages{status="));
    assert!(text.contains("jszg_database_up 1"));
    assert!(!text.contains(&phone), "no personal data in metrics");
}
