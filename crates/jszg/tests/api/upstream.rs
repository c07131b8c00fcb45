//! 教育部账号登录 (LOGIN-5) without a live provider: the unconfigured link,
//! an unreachable provider, and callbacks with any query at all. The full
//! journeys run against npm oidc-provider in tests/peers/upstream.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).cookie_store(true).build().unwrap()
}

/// An app whose upstream issuer is a closed port: discovery always fails.
async fn app_with_dead_upstream() -> TestApp {
    let (url, dir) = fresh_database().await;
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut config = test_config(&url);
    config.upstream = Some(jszg::config::UpstreamConfig::new(&format!("http://127.0.0.1:{port}"), "jszg", "s3cret-never-logged"));
    spawn_with(config, dir).await
}

#[tokio::test]
async fn without_upstream_the_link_says_it_is_not_configured() {
    let app = spawn_app().await;
    let client = no_redirects();
    let old = client.get(app.url("/login/moe?entry=renewal")).send().await.unwrap();
    assert_eq!(old.status(), StatusCode::SEE_OTHER);
    assert_eq!(old.headers()["location"], "/login/upstream?entry=renewal");
    let res = client.get(app.url("/login/upstream?entry=renewal")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let html = res.text().await.unwrap();
    assert!(html.contains("尚未配置教育部统一身份认证平台登录"), "{html}");
    assert!(html.contains("href=\"/login/renewal\""), "the way back: {html}");
    let login = app.get("/login/renewal").await.text().await.unwrap();
    assert!(login.contains("href=\"/login/upstream?entry=renewal\""));
}

#[tokio::test]
async fn an_unreachable_upstream_gets_a_chinese_page_and_the_way_back() {
    let app = app_with_dead_upstream().await;
    let res = no_redirects().get(app.url("/login/upstream?entry=renewal")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let html = res.text().await.unwrap();
    assert!(html.contains("暂时无法访问"), "{html}");
    assert!(html.contains("href=\"/login/renewal\""));
}

#[tokio::test]
async fn no_callback_query_makes_it_panic_or_fail_inside() {
    let app = app_with_dead_upstream().await;
    let long = "a".repeat(20_000);
    let queries = [
        "".to_owned(),
        "?".into(),
        "?state=".into(),
        "?code=abc".into(),
        "?state=abc".into(),
        "?state=abc&code=def&iss=http%3A%2F%2Fevil".into(),
        "?state=a&state=b&code=c&code=d".into(),
        "?state=%ZZ&code=%".into(),
        "?state=%00%FF%FE&code=%C0%AF".into(),
        "?error=access_denied".into(),
        "?error=access_denied&state=x&error_description=%E4%BD%A0".into(),
        "?code[]=1&state[x]=2".into(),
        "?state=😀&code=😀".into(),
        format!("?state={long}&code={long}"),
        "?=&&&==&state".into(),
    ];
    let client = no_redirects();
    for q in &queries {
        let res = client.get(app.url(&format!("/login/upstream/callback{q}"))).send().await.unwrap();
        let status = res.status();
        let html = res.text().await.unwrap();
        // A URL past the server's length limit is refused before it reaches the callback.
        if q.len() > 16 * 1024 {
            assert_eq!(status, StatusCode::URI_TOO_LONG, "{}", &html[..html.len().min(200)]);
            continue;
        }
        assert_eq!(status, StatusCode::BAD_REQUEST, "{q}: {html}");
        assert!(html.contains("教育部账号登录") && html.contains("/login/certification"), "{q}: {html}");
    }
    // The server is still there and nobody got a session.
    assert_eq!(app.get("/api/v1/me").await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn link_and_unlink_need_their_preconditions() {
    let app = spawn_app().await;
    // No identity waiting: nothing to link, whatever the password.
    let token = app.captcha_token("login").await;
    let res = app.post("/api/v1/sessions/upstream-link", &json!({ "password": PASSWORD, "captcha_token": token })).await;
    let (status, err) = error_code(res).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::GONE, Some("upstream_expired")));
    let forged = app
        .client
        .post(app.url("/api/v1/sessions/upstream-link"))
        .header("cookie", "jszg_upstream=forged")
        .json(&json!({ "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::GONE);
    // Unlinking needs a session; with one it is idempotent.
    let res = app.client.delete(app.url("/api/v1/me/upstream")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let who = app.register_as("resident_id").await;
    assert_eq!(app.login(&who.doc, PASSWORD, "certification").await.status(), StatusCode::OK);
    let me: Value = app.get("/api/v1/me").await.json().await.unwrap();
    assert_eq!(me["upstream_linked"], false);
    let res = app.client.delete(app.url("/api/v1/me/upstream")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    // The link page without an identity waiting explains and leads back.
    let page = app.get("/login/upstream/link").await;
    assert_eq!(page.status(), StatusCode::GONE);
    assert!(page.text().await.unwrap().contains("已超时"));
}
