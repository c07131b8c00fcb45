//! Login CSRF and transport (issue 17 item 3): cross-site logins refused
//! without a cookie, HSTS outside development, no "new" password equal to
//! the current one, and the client address from the proxy's own hop.

use reqwest::StatusCode;
use serde_json::json;

use jszg::flows::staff::Role;

use crate::helpers::*;

const STAFF_PASSWORD: &str = "Staff#Pass2026";

async fn staff_member(app: &TestApp, username: &str) {
    jszg::flows::staff::add(&app.app, username, Role::Reviewer).await.unwrap();
    let hash = app.app.hasher.hash(STAFF_PASSWORD).await.unwrap();
    let member = jszg::store::staff::by_username(&app.app.db, username).await.unwrap().unwrap();
    jszg::store::staff::set_password(&app.app.db, member.id, &hash, &app.app.vault.password_tag(jszg::vault::Holder::Staff, member.id, &hash)).await.unwrap();
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

#[tokio::test]
async fn cross_site_logins_are_refused_without_a_cookie() {
    let app = spawn_app().await;
    staff_member(&app, "rev1").await;
    let client = no_redirects();
    let foreign = [("origin", "http://evil.example"), ("sec-fetch-site", "cross-site"), ("origin", "null")];
    for (name, value) in foreign {
        let res = client.post(app.url("/api/v1/sessions")).header(name, value).json(&json!({ "doc_number": "x" })).send().await.unwrap();
        let (status, error) = error_code(res).await;
        assert_eq!((status, error["code"].as_str()), (StatusCode::FORBIDDEN, Some("csrf")), "applicant API, {name}: {value}");
        let res = client
            .post(app.url("/api/v1/staff/sessions"))
            .header(name, value)
            .json(&json!({ "username": "rev1", "password": STAFF_PASSWORD }))
            .send()
            .await
            .unwrap();
        assert!(res.headers().get("set-cookie").is_none());
        let (status, error) = error_code(res).await;
        assert_eq!((status, error["code"].as_str()), (StatusCode::FORBIDDEN, Some("csrf")), "staff API, {name}: {value}");
        let res = client
            .post(app.url("/staff/login"))
            .header(name, value)
            .form(&[("username", "rev1"), ("password", STAFF_PASSWORD)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "staff form, {name}: {value}");
        assert!(res.headers().get("set-cookie").is_none(), "no staff cookie for a cross-site form");
    }
    // The same requests from the site itself, or from a client without
    // browser headers, go through.
    let own = app.base.clone();
    let res = client
        .post(app.url("/staff/login"))
        .header("origin", &own)
        .form(&[("username", "rev1"), ("password", STAFF_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(res.headers().get("set-cookie").is_some_and(|v| v.to_str().unwrap().starts_with("jszg_staff=")));
    let res = client
        .post(app.url("/api/v1/staff/sessions"))
        .json(&json!({ "username": "rev1", "password": STAFF_PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = client
        .post(app.url("/api/v1/sessions"))
        .header("origin", &own)
        .header("sec-fetch-site", "same-origin")
        .json(&json!({ "doc_number": "x" }))
        .send()
        .await
        .unwrap();
    let (_, error) = error_code(res).await;
    assert_eq!(error["code"], "captcha_required", "past the origin check");
    // Following a link from another site to the login page is fine.
    let res = client.get(app.url("/staff/login")).header("sec-fetch-site", "cross-site").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn hsts_is_sent_outside_development_only() {
    let dev = spawn_app().await;
    assert!(dev.get("/healthz").await.headers().get("strict-transport-security").is_none(), "dev is plain HTTP");

    let (url, dir) = fresh_database().await;
    let config = production_config(&url);
    let app = spawn_with(config, dir).await;
    for path in ["/healthz", "/", "/api/v1/me", "/api/v1/no-such-route"] {
        let res = app.get(path).await;
        let hsts = res.headers().get("strict-transport-security").map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(hsts.as_deref(), Some("max-age=31536000"), "{path}");
    }
}

#[tokio::test]
async fn a_new_password_equal_to_the_current_one_is_refused() {
    let app = spawn_app().await;
    let who = app.applicant().await;
    let same = json!({ "current_password": PASSWORD, "new_password": PASSWORD, "new_password_confirm": PASSWORD });
    let (status, error) = error_code(app.post("/api/v1/me/password", &same).await).await;
    assert_eq!(
        (status, error["code"].as_str(), error["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("password_unchanged"), Some("new_password"))
    );
    assert!(error["message"].as_str().unwrap().contains("不能与当前密码相同"));
    // A wrong current password is still that, not "unchanged".
    let wrong = json!({ "current_password": "Wrong#2024x", "new_password": "Wrong#2024x", "new_password_confirm": "Wrong#2024x" });
    let (status, error) = error_code(app.post("/api/v1/me/password", &wrong).await).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_credentials")));
    // The page says the same.
    let page = app.get("/me/password").await.text().await.unwrap();
    let token = page.split("name=\"form_token\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let res = app
        .client
        .post(app.url("/me/password"))
        .form(&[
            ("form_token", token.as_str()),
            ("current_password", PASSWORD),
            ("new_password", PASSWORD),
            ("new_password_confirm", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert!(res.text().await.unwrap().contains("不能与当前密码相同"));
    // Nothing changed and this session lives on.
    assert_eq!(app.get("/api/v1/me").await.status(), StatusCode::OK);
    assert_eq!(app.another_client().login(&who.doc, PASSWORD, "certification").await.status(), StatusCode::OK);
    // A different new password still works.
    let other = json!({ "current_password": PASSWORD, "new_password": "New#2025abc", "new_password_confirm": "New#2025abc" });
    assert_eq!(app.post("/api/v1/me/password", &other).await.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_client_is_the_last_forwarded_hop() {
    let (url, dir) = fresh_database().await;
    let mut config = test_config(&url);
    config.trust_forwarded_for = true;
    config.captcha.failure_limit = 1;
    let app = spawn_with(config, dir).await;
    let fail = |forwarded: &'static str| {
        let app = &app;
        async move {
            let challenge = app.new_captcha("login").await;
            let id = challenge["id"].as_str().unwrap().to_owned();
            let res = app
                .client
                .post(app.url(&format!("/api/v1/captchas/{id}/answer")))
                .header("x-forwarded-for", forwarded)
                .json(&json!({ "x": 0, "track": [] }))
                .send()
                .await
                .unwrap();
            error_code(res).await
        }
    };
    // The proxy appended 10.9.9.9; the first hops are the client's own words.
    let (status, _) = fail("1.1.1.1, 10.9.9.9").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, error) = fail("2.2.2.2, 10.9.9.9").await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("captcha_throttled")), "same last hop, same client");
    let (status, error) = fail("1.1.1.1, 10.8.8.8").await;
    assert_eq!(
        (status, error["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("captcha_failed")),
        "the first hop is not the client"
    );
}
