//! Single sign-on, continued: RP-initiated and back-channel logout (SSO-2), and `id_token_hint`
//! at both ends.

use super::*;

#[tokio::test]
async fn rp_initiated_logout_ends_the_session_and_queues_back_channel_tokens() {
    let s = sso().await;
    let (b, _) = verified(&s.app).await;
    let p = pkce();
    let code = code_for(&b, "certification", CB, &p).await;
    let tokens: Value = redeem(&s.app, "certification", &s.secrets[0], &code, CB, &p.verifier).await.json().await.unwrap();
    let id_token = tokens["id_token"].as_str().unwrap().to_owned();
    let claims = verify_id_token(&s.app, &id_token, "certification").await;
    let code = code_for(&b, "renewal", CB2, &p).await;
    assert_eq!(redeem(&s.app, "renewal", &s.secrets[1], &code, CB2, &p.verifier).await.status(), StatusCode::OK);

    // An unregistered return address is an error page, and logs nobody out.
    let q =
        serde_urlencoded::to_string([("id_token_hint", id_token.as_str()), ("post_logout_redirect_uri", "https://evil.example/")]).unwrap();
    let res = b.get(&format!("/oidc/logout?{q}")).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.headers().get("location").is_none());
    assert_eq!(b.get("/api/v1/me").await.status(), StatusCode::OK);

    let q =
        serde_urlencoded::to_string([("id_token_hint", id_token.as_str()), ("post_logout_redirect_uri", BYE), ("state", "bye-1")]).unwrap();
    let res = b.get(&format!("/oidc/logout?{q}")).await;
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(location(&res), format!("{BYE}?state=bye-1"));
    assert_eq!(b.get("/api/v1/me").await.status(), StatusCode::UNAUTHORIZED, "the jszg session ended");
    let to = location(&b.get(&authorize_url("renewal", CB2, &p, &[("prompt", "none")])).await);
    assert_eq!(param(&to, "error").as_deref(), Some("login_required"), "both entries are signed out");
    let res = s.app.client.get(s.app.url("/oidc/userinfo")).bearer_auth(tokens["access_token"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "the session's tokens are revoked");

    // One logout token per client with a back-channel URI, verifiable against the JWKS.
    for (client, uri) in
        [("certification", "https://rd.example.cn/oidc/backchannel"), ("renewal", "https://zc.example.cn/oidc/backchannel")]
    {
        let messages = s.app.outbox(uri).await;
        assert_eq!(messages.len(), 1, "{client}: {messages:?}");
        let token = messages[0]["body"].as_str().unwrap();
        let logout = verify_id_token(&s.app, token, client).await;
        assert_eq!(logout["sid"], claims["sid"]);
        assert_eq!(logout["sub"], claims["sub"]);
        assert!(logout["events"].get("http://schemas.openid.net/event/backchannel-logout").is_some());
        assert!(logout.get("nonce").is_none() && logout["jti"].as_str().is_some());
    }
}

#[tokio::test]
async fn logging_out_on_a_jszg_page_also_tells_the_clients() {
    let s = sso().await;
    let (b, _) = verified(&s.app).await;
    let p = pkce();
    let code = code_for(&b, "certification", CB, &p).await;
    assert_eq!(redeem(&s.app, "certification", &s.secrets[0], &code, CB, &p.verifier).await.status(), StatusCode::OK);
    assert_eq!(b.client.delete(b.url("/api/v1/sessions/current")).send().await.unwrap().status(), StatusCode::NO_CONTENT);
    assert_eq!(s.app.outbox("https://rd.example.cn/oidc/backchannel").await.len(), 1);
    assert!(s.app.outbox("https://zc.example.cn/oidc/backchannel").await.is_empty(), "renewal was never signed into");
}

/// Hardening round 2, item 6: a top-level navigation from another site to the end-session
/// endpoint without `id_token_hint` signs nobody out; the applicant is asked, and only their
/// own answer (a form post with the session's token) ends the session.
#[tokio::test]
async fn logout_without_a_hint_asks_first() {
    let s = sso().await;
    let (b, _) = verified(&s.app).await;
    let q = serde_urlencoded::to_string([("client_id", "certification"), ("post_logout_redirect_uri", BYE), ("state", "s1")]).unwrap();
    let res = b.client.get(b.url(&format!("/oidc/logout?{q}"))).header("sec-fetch-site", "cross-site").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let page = res.text().await.unwrap();
    assert!(page.contains("是否退出中国教师资格网") && page.contains("id=\"logout-confirm\""), "{page}");
    assert_eq!(b.get("/api/v1/me").await.status(), StatusCode::OK, "still signed in");
    // A forged answer (no token, or posted from elsewhere) ends nothing.
    let forged = b.client.post(b.url("/oidc/logout")).form(&[("client_id", "certification"), ("form_token", "x")]).send().await.unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let cross = b
        .client
        .post(b.url("/oidc/logout"))
        .header("origin", "https://evil.example")
        .form(&[("client_id", "certification")])
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);
    assert_eq!(b.get("/api/v1/me").await.status(), StatusCode::OK, "still signed in");
    // The applicant's own answer, with the token the page carries.
    let token = page.split("name=\"form_token\" value=\"").nth(1).and_then(|r| r.split('"').next()).unwrap().to_owned();
    let res = b
        .client
        .post(b.url("/oidc/logout"))
        .form(&[("form_token", token.as_str()), ("client_id", "certification"), ("post_logout_redirect_uri", BYE), ("state", "s1")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(location(&res), format!("{BYE}?state=s1"));
    assert_eq!(b.get("/api/v1/me").await.status(), StatusCode::UNAUTHORIZED);
}

/// Hardening round 2, item 6: `id_token_hint` at the authorization endpoint is honoured (Core
/// 3.1.2.1): the session's applicant gets a code silently; another applicant's hint is
/// `login_required` with prompt=none and the login page otherwise; a forged hint is refused.
#[tokio::test]
async fn the_id_token_hint_names_who_the_client_expects() {
    let s = sso().await;
    let (a, _) = verified(&s.app).await;
    let p = pkce();
    let code = code_for(&a, "certification", CB, &p).await;
    let a_tokens: Value = redeem(&s.app, "certification", &s.secrets[0], &code, CB, &p.verifier).await.json().await.unwrap();
    let a_hint = a_tokens["id_token"].as_str().unwrap().to_owned();
    let (b, _) = verified(&s.app).await;
    let code = code_for(&b, "certification", CB, &p).await;
    let b_tokens: Value = redeem(&s.app, "certification", &s.secrets[0], &code, CB, &p.verifier).await.json().await.unwrap();
    let b_hint = b_tokens["id_token"].as_str().unwrap().to_owned();

    let own = location(&a.get(&authorize_url("certification", CB, &p, &[("prompt", "none"), ("id_token_hint", &a_hint)])).await);
    assert!(param(&own, "code").is_some(), "{own}");
    let other = location(&a.get(&authorize_url("certification", CB, &p, &[("prompt", "none"), ("id_token_hint", &b_hint)])).await);
    assert_eq!(param(&other, "error").as_deref(), Some("login_required"), "{other}");
    let other = location(&a.get(&authorize_url("certification", CB, &p, &[("id_token_hint", &b_hint)])).await);
    assert_eq!(other, "/login/certification", "asked to sign in as the hinted applicant");
    let mut forged = a_hint.clone();
    forged.push('x');
    let bad = location(&a.get(&authorize_url("certification", CB, &p, &[("id_token_hint", &forged)])).await);
    assert_eq!(param(&bad, "error").as_deref(), Some("invalid_request"), "{bad}");
}
