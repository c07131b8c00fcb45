//! Shared computers (issue 13): every page and JSON answer that shows
//! personal data carries `Cache-Control: no-store`, so neither the HTTP
//! cache nor the back/forward cache can show it after 退出登录; static
//! files stay cacheable.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::*;

fn cache_control(res: &reqwest::Response) -> String {
    res.headers().get("cache-control").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned()
}

async fn assert_no_store(api: &Api, method: Method, path: &str, body: Option<serde_json::Value>) -> reqwest::Response {
    let mut req = api.client.request(method.clone(), api.url(path));
    if let Some(body) = body {
        req = req.json(&body);
    }
    let res = req.send().await.expect("request");
    assert_eq!(cache_control(&res), "no-store", "{method} {path} answered {} without no-store", res.status());
    res
}

#[tokio::test]
async fn personal_pages_and_answers_are_never_stored() {
    let app = spawn_app().await;
    let who = app.applicant().await;

    // Pages of the signed-in applicant: name, masked number, phone, email.
    for path in ["/me/profile", "/me/realname", "/me/review", "/me/password", "/me/phone", "/me/email", "/business/certification"] {
        let res = assert_no_store(&app, Method::GET, path, None).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
    }
    let page = app.get("/me/profile").await.text().await.unwrap();
    assert!(page.contains("张三"), "the profile page shows the name, so it must not be stored");

    // JSON answers with personal data, successes and refusals alike.
    let me = assert_no_store(&app, Method::GET, "/api/v1/me", None).await;
    assert_eq!(me.status(), StatusCode::OK);
    assert_no_store(&app, Method::PUT, "/api/v1/me/profile", Some(json!({ "ethnicity": "01" }))).await;
    assert_no_store(&app, Method::GET, "/api/v1/entries/certification", None).await;
    assert_no_store(&app, Method::POST, "/api/v1/me/realname", Some(json!({}))).await;
    let login = app.login(&who.doc, PASSWORD, "renewal").await;
    assert_eq!(cache_control(&login), "no-store", "the login answer carries the account");
    assert_no_store(
        &app,
        Method::POST,
        "/api/v1/recoveries",
        Some(json!({ "doc_type": "resident_id", "doc_number": who.doc, "name": "张三", "captcha_token": app.captcha_token("recovery").await })),
    )
    .await;

    // Staff answers show full numbers.
    let staff = app.staff("cachecheck", jszg::flows::staff::Role::Reviewer).await;
    for path in ["/api/v1/staff/reviews", "/api/v1/staff/audit", "/staff", "/staff/audit"] {
        assert_no_store(&staff, Method::GET, path, None).await;
    }

    // Pages without a session too: the login page a signed-out visitor is sent back to.
    for path in ["/", "/register", "/login/certification", "/login/renewal", "/recover", "/guide/ctid"] {
        assert_no_store(&app.another_client(), Method::GET, path, None).await;
    }

    // After logout the centre is gone, and that answer is not stored either.
    assert_no_store(&app, Method::DELETE, "/api/v1/sessions/current", None).await;
    let gone = assert_no_store(&app, Method::GET, "/api/v1/me", None).await;
    assert_eq!(gone.status(), StatusCode::UNAUTHORIZED);

    // Static files keep their short public cache.
    let css = app.get("/static/app.css").await;
    assert_eq!(css.status(), StatusCode::OK);
    assert!(cache_control(&css).starts_with("public"), "static files stay cacheable: {}", cache_control(&css));
}
