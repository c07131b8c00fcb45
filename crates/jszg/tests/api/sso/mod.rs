//! Single sign-on (SSO-1..3): jszg as the OpenID Connect provider of the
//! two entries. The relying party here is plain HTTP plus `jsonwebtoken`
//! against the published JWKS.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use jszg::config::{ClientConfig, ClientsConfig};
use jszg::flows::applicant::Entry;

use crate::helpers::*;

mod logout;
mod gm;

const CB: &str = "https://rd.example.cn/oidc/callback";
const CB2: &str = "https://zc.example.cn/oidc/callback";
const BYE: &str = "https://rd.example.cn/";
/// The issuer: `public_url` (the test servers listen on random ports).
const ISS: &str = "https://sso.example.cn";

fn clients() -> ClientsConfig {
    let one = |cb: &str, bye: &str| {
        Some(ClientConfig {
            redirect_uris: vec![cb.into()],
            post_logout_redirect_uris: vec![bye.into()],
            backchannel_logout_uri: Some(format!("{bye}oidc/backchannel")),
            initiate_login_uri: None,
            ..ClientConfig::default()
        })
    };
    ClientsConfig { certification: one(CB, BYE), renewal: one(CB2, "https://zc.example.cn/") }
}

struct Sso {
    app: TestApp,
    secrets: [String; 2],
}

async fn sso_with(url: Option<String>) -> Sso {
    let (url, dir) = match url {
        Some(u) => (u, None),
        None => fresh_database().await,
    };
    let mut config = test_config(&url);
    config.clients = clients();
    config.public_url = Some(ISS.into());
    let app = spawn_with(config, dir).await;
    let a = jszg::flows::enrollment::rotate_secret(&app.app, Entry::Certification).await.unwrap();
    let b = jszg::flows::enrollment::rotate_secret(&app.app, Entry::Renewal).await.unwrap();
    Sso { app, secrets: [a, b] }
}

async fn sso() -> Sso {
    sso_with(None).await
}

/// A browser that does not follow redirects, so we can read them.
fn browser(app: &TestApp) -> Api {
    Api {
        base: app.base.clone(),
        client: Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap(),
    }
}

/// A signed-in applicant whose profile and real name are done.
async fn verified(app: &TestApp) -> (Api, Registered) {
    let b = browser(app);
    let who = b.applicant().await;
    let res = app.post("/api/v1/dev/identities", &json!({ "doc_type": "resident_id", "doc_number": who.doc, "name": "张三" })).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let res = b.client.post(b.url("/api/v1/me/realname")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    (b, who)
}

struct Pkce {
    verifier: String,
    challenge: String,
}

fn pkce() -> Pkce {
    let verifier = jszg::crypto::random_token(32);
    let challenge = B64URL.encode(Sha256::digest(verifier.as_bytes()));
    Pkce { verifier, challenge }
}

fn authorize_url(client: &str, redirect: &str, p: &Pkce, extra: &[(&str, &str)]) -> String {
    let mut params: Vec<(&str, &str)> = vec![
        ("response_type", "code"),
        ("client_id", client),
        ("redirect_uri", redirect),
        ("scope", "openid profile identity"),
        ("state", "st-1"),
        ("nonce", "n-1"),
        ("code_challenge", &p.challenge),
        ("code_challenge_method", "S256"),
    ];
    for (k, v) in extra {
        params.retain(|(name, _)| name != k);
        if !v.is_empty() {
            params.push((k, v));
        }
    }
    format!("/oidc/authorize?{}", serde_urlencoded::to_string(&params).unwrap())
}

fn location(res: &reqwest::Response) -> String {
    res.headers().get("location").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
}

fn query_of(url: &str) -> Vec<(String, String)> {
    let q = url.split_once('?').map(|(_, q)| q).unwrap_or("");
    serde_urlencoded::from_str(q).unwrap()
}

fn param(url: &str, name: &str) -> Option<String> {
    query_of(url).into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

/// Authorize and return the code from the redirect.
async fn code_for(b: &Api, client: &str, redirect: &str, p: &Pkce) -> String {
    let res = b.get(&authorize_url(client, redirect, p, &[])).await;
    assert_eq!(res.status(), StatusCode::FOUND);
    let to = location(&res);
    assert!(to.starts_with(redirect), "{to}");
    assert_eq!(param(&to, "state").as_deref(), Some("st-1"));
    assert_eq!(param(&to, "iss").as_deref(), Some(ISS));
    param(&to, "code").expect("a code")
}

async fn redeem(api: &Api, client: &str, secret: &str, code: &str, redirect: &str, verifier: &str) -> reqwest::Response {
    api.client
        .post(api.url("/oidc/token"))
        .basic_auth(client, Some(secret))
        .form(&[("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirect), ("code_verifier", verifier)])
        .send()
        .await
        .unwrap()
}

async fn verify_id_token(api: &Api, token: &str, aud: &str) -> Value {
    let jwks: Value = api.get("/oidc/jwks").await.json().await.unwrap();
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
    let kid = header.kid.expect("kid");
    let key = jwks["keys"].as_array().unwrap().iter().find(|k| k["kid"] == kid.as_str()).expect("kid in the JWKS");
    let decoding = jsonwebtoken::DecodingKey::from_rsa_components(key["n"].as_str().unwrap(), key["e"].as_str().unwrap()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&[aud]);
    validation.set_issuer(&[ISS]);
    jsonwebtoken::decode::<Value>(token, &decoding, &validation).expect("valid ID token").claims
}

#[tokio::test]
async fn discovery_names_every_endpoint_and_only_s256() {
    let s = sso().await;
    let d: Value = s.app.get("/.well-known/openid-configuration").await.json().await.unwrap();
    let iss = ISS;
    assert_eq!(d["issuer"], iss);
    for (k, path) in [
        ("authorization_endpoint", "/oidc/authorize"),
        ("token_endpoint", "/oidc/token"),
        ("userinfo_endpoint", "/oidc/userinfo"),
        ("jwks_uri", "/oidc/jwks"),
        ("end_session_endpoint", "/oidc/logout"),
    ] {
        assert_eq!(d[k], format!("{iss}{path}"));
    }
    assert_eq!(d["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(d["id_token_signing_alg_values_supported"], json!(["RS256", "SM2"]));
    assert_eq!(d["authorization_response_iss_parameter_supported"], true);
    assert_eq!(d["backchannel_logout_supported"], true);
    let jwks: Value = s.app.get("/oidc/jwks").await.json().await.unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2, "one current key per algorithm: {keys:?}");
    let rsa = keys.iter().find(|k| k["kty"] == "RSA").expect("an RSA key");
    assert_eq!(rsa["alg"], "RS256");
    assert!(rsa["kid"].as_str().is_some_and(|k| !k.is_empty()));
    let sm2 = keys.iter().find(|k| k["kty"] == "EC").expect("an SM2 key");
    assert_eq!(sm2["crv"], "SM2");
    assert_eq!(sm2["alg"], "SM2");
    assert_eq!(sm2["use"], "sig");
    for c in ["x", "y"] {
        assert_eq!(B64URL.decode(sm2[c].as_str().unwrap()).unwrap().len(), 32, "{c}");
    }
    for key in keys {
        assert!(key.get("d").is_none(), "never the private part");
    }
}

#[tokio::test]
async fn code_flow_with_pkce_gives_signed_claims_and_userinfo() {
    let s = sso().await;
    let (b, who) = verified(&s.app).await;
    let p = pkce();
    let code = code_for(&b, "certification", CB, &p).await;
    let res = redeem(&s.app, "certification", &s.secrets[0], &code, CB, &p.verifier).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let tokens: Value = res.json().await.unwrap();
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 600);
    let access = tokens["access_token"].as_str().unwrap();
    let claims = verify_id_token(&s.app, tokens["id_token"].as_str().unwrap(), "certification").await;
    assert_eq!(claims["nonce"], "n-1");
    assert_eq!(claims["name"], "张三");
    assert_eq!(claims["doc_type"], "resident_id");
    assert_eq!(claims["doc_number"], who.doc);
    assert_eq!(claims["realname_status"], "verified");
    let male = who.doc.as_bytes()[16] % 2 == 1;
    assert_eq!(claims["sex"], if male { "male" } else { "female" });
    assert_eq!(claims["birth_date"], "1985-03-15");
    assert_eq!(claims["ethnicity"], "01");
    assert!(claims["sid"].as_str().is_some_and(|v| !v.is_empty()));
    assert!(claims["auth_time"].as_i64().is_some());
    let at_hash = B64URL.encode(&Sha256::digest(access.as_bytes())[..16]);
    assert_eq!(claims["at_hash"], at_hash);
    let sub = claims["sub"].as_str().unwrap().to_owned();
    assert!(!sub.contains(&who.doc) && sub.len() >= 16);

    let info: Value = s.app.client.get(s.app.url("/oidc/userinfo")).bearer_auth(access).send().await.unwrap().json().await.unwrap();
    assert_eq!(info["sub"], sub);
    assert_eq!(info["doc_number"], who.doc);
    assert_eq!(info["name"], "张三");

    // Scope `openid` alone: no personal claims.
    let p = pkce();
    let res = b.get(&authorize_url("certification", CB, &p, &[("scope", "openid")])).await;
    let code = param(&location(&res), "code").unwrap();
    let tokens: Value = redeem(&s.app, "certification", &s.secrets[0], &code, CB, &p.verifier).await.json().await.unwrap();
    let claims = verify_id_token(&s.app, tokens["id_token"].as_str().unwrap(), "certification").await;
    assert_eq!(claims["sub"], sub, "sub is stable per account");
    assert!(claims.get("doc_number").is_none() && claims.get("name").is_none());

    // A forged token and no token.
    let res = s.app.client.get(s.app.url("/oidc/userinfo")).bearer_auth("nope").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.headers()["www-authenticate"].to_str().unwrap().contains("invalid_token"));
    assert_eq!(s.app.get("/oidc/userinfo").await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_replayed_code_is_refused_and_revokes_its_tokens() {
    let s = sso().await;
    let (b, _) = verified(&s.app).await;
    let p = pkce();
    let code = code_for(&b, "certification", CB, &p).await;
    let tokens: Value = redeem(&s.app, "certification", &s.secrets[0], &code, CB, &p.verifier).await.json().await.unwrap();
    let access = tokens["access_token"].as_str().unwrap();
    let userinfo = |t: String| {
        let api = &s.app;
        async move { api.client.get(api.url("/oidc/userinfo")).bearer_auth(t).send().await.unwrap().status() }
    };
    assert_eq!(userinfo(access.to_owned()).await, StatusCode::OK);
    let res = redeem(&s.app, "certification", &s.secrets[0], &code, CB, &p.verifier).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "invalid_grant");
    assert_eq!(userinfo(access.to_owned()).await, StatusCode::UNAUTHORIZED, "the replay revoked the first token");
}

#[tokio::test]
async fn codes_are_bound_and_expire_after_a_minute() {
    let s = sso().await;
    let (b, _) = verified(&s.app).await;
    let grant = |res: reqwest::Response| async move {
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        res.json::<Value>().await.unwrap()["error"].as_str().unwrap().to_owned()
    };
    // Wrong verifier.
    let p = pkce();
    let code = code_for(&b, "certification", CB, &p).await;
    assert_eq!(grant(redeem(&s.app, "certification", &s.secrets[0], &code, CB, &pkce().verifier).await).await, "invalid_grant");
    // Wrong redirect URI.
    let code = code_for(&b, "certification", CB, &p).await;
    assert_eq!(grant(redeem(&s.app, "certification", &s.secrets[0], &code, CB2, &p.verifier).await).await, "invalid_grant");
    // Another client's code.
    let code = code_for(&b, "certification", CB, &p).await;
    assert_eq!(grant(redeem(&s.app, "renewal", &s.secrets[1], &code, CB, &p.verifier).await).await, "invalid_grant");
    // Expired.
    let code = code_for(&b, "certification", CB, &p).await;
    s.app.advance_clock(61).await;
    assert_eq!(grant(redeem(&s.app, "certification", &s.secrets[0], &code, CB, &p.verifier).await).await, "invalid_grant");
}

#[tokio::test]
async fn client_authentication_basic_or_post_and_wrong_secrets_refused() {
    let s = sso().await;
    let (b, _) = verified(&s.app).await;
    let p = pkce();
    let code = code_for(&b, "certification", CB, &p).await;
    let res = redeem(&s.app, "certification", "wrong-secret", &code, CB, &p.verifier).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.headers().contains_key("www-authenticate"));
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "invalid_client");
    // The renewal secret is not the certification secret.
    let res = redeem(&s.app, "certification", &s.secrets[1], &code, CB, &p.verifier).await;
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "invalid_client");
    // No authentication at all.
    let res = s
        .app
        .client
        .post(s.app.url("/oidc/token"))
        .form(&[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", CB), ("code_verifier", &p.verifier)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // client_secret_post works, and the code was not spent by the failures.
    let res = s
        .app
        .client
        .post(s.app.url("/oidc/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CB),
            ("code_verifier", &p.verifier),
            ("client_id", "certification"),
            ("client_secret", &s.secrets[0]),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // Malformed token requests.
    let post = |body: &'static str| {
        let api = &s.app;
        let secret = s.secrets[0].clone();
        async move {
            let res = api
                .client
                .post(api.url("/oidc/token"))
                .basic_auth("certification", Some(secret))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .unwrap();
            (res.status(), res.json::<Value>().await.unwrap()["error"].as_str().unwrap().to_owned())
        }
    };
    assert_eq!(post("grant_type=password").await, (StatusCode::BAD_REQUEST, "unsupported_grant_type".into()));
    assert_eq!(post("code=x").await, (StatusCode::BAD_REQUEST, "invalid_request".into()));
    // Whether a verifier is needed is the code's to say: an unknown code is an invalid grant.
    assert_eq!(post("grant_type=authorization_code&code=x&redirect_uri=y").await, (StatusCode::BAD_REQUEST, "invalid_grant".into()));
    assert_eq!(
        post("grant_type=authorization_code&grant_type=authorization_code&code=x").await,
        (StatusCode::BAD_REQUEST, "invalid_request".into())
    );
    assert_eq!(
        post("grant_type=authorization_code&code=x&redirect_uri=y&code_verifier=short").await,
        (StatusCode::BAD_REQUEST, "invalid_grant".into())
    );
    let res =
        s.app.client.post(s.app.url("/oidc/token")).basic_auth("certification", Some(&s.secrets[0])).json(&json!({})).send().await.unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "invalid_request");
}

#[tokio::test]
async fn bad_authorization_requests_get_the_oauth_error_or_a_page() {
    let s = sso().await;
    let (b, _) = verified(&s.app).await;
    let p = pkce();
    // Unknown client or redirect URI: a Chinese page, never a redirect.
    for url in [
        authorize_url("nobody", CB, &p, &[]),
        authorize_url("certification", "https://evil.example/cb", &p, &[]),
        authorize_url("certification", "https://rd.example.cn/oidc/callback/", &p, &[]),
        authorize_url("certification", CB2, &p, &[]),
        authorize_url("certification", CB, &p, &[("redirect_uri", "")]),
        authorize_url("", CB, &p, &[("client_id", "")]),
    ] {
        let res = b.get(&url).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{url}");
        assert!(res.headers().get("location").is_none());
        assert!(res.text().await.unwrap().contains("无法登录"));
    }
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![("code_challenge_method", "plain")], "invalid_request"),
        (vec![("code_challenge_method", "")], "invalid_request"),
        (vec![("code_challenge", "")], "invalid_request"),
        (vec![("code_challenge", "short")], "invalid_request"),
        (vec![("response_type", "token")], "unsupported_response_type"),
        (vec![("response_type", "")], "invalid_request"),
        (vec![("scope", "profile")], "invalid_scope"),
        (vec![("scope", "")], "invalid_scope"),
        (vec![("prompt", "none login")], "invalid_request"),
        (vec![("prompt", "bogus")], "invalid_request"),
        (vec![("max_age", "-1")], "invalid_request"),
        (vec![("request", "eyJ")], "request_not_supported"),
    ];
    for (extra, error) in cases {
        let res = b.get(&authorize_url("certification", CB, &p, &extra)).await;
        assert_eq!(res.status(), StatusCode::FOUND, "{extra:?}");
        let to = location(&res);
        assert!(to.starts_with(CB), "{to}");
        assert_eq!(param(&to, "error").as_deref(), Some(error), "{extra:?}");
        assert_eq!(param(&to, "state").as_deref(), Some("st-1"));
        assert_eq!(param(&to, "iss").as_deref(), Some(ISS));
        assert!(param(&to, "code").is_none());
    }
    // A parameter twice.
    let url = format!("{}&scope=openid", authorize_url("certification", CB, &p, &[]));
    assert_eq!(param(&location(&b.get(&url).await), "error").as_deref(), Some("invalid_request"));
    // Garbage never panics.
    for raw in ["/oidc/authorize?%zz", "/oidc/authorize?client_id=%FF%FE", "/oidc/authorize"] {
        assert_eq!(b.get(raw).await.status(), StatusCode::BAD_REQUEST, "{raw}");
    }
}

#[tokio::test]
async fn prompt_none_without_session_or_before_the_gate() {
    let s = sso().await;
    let p = pkce();
    let anon = browser(&s.app);
    let to = location(&anon.get(&authorize_url("certification", CB, &p, &[("prompt", "none")])).await);
    assert_eq!(param(&to, "error").as_deref(), Some("login_required"));
    assert_eq!(param(&to, "state").as_deref(), Some("st-1"));
    // Signed in, profile done, real name not yet.
    let b = browser(&s.app);
    b.applicant().await;
    let to = location(&b.get(&authorize_url("certification", CB, &p, &[("prompt", "none")])).await);
    assert_eq!(param(&to, "error").as_deref(), Some("interaction_required"));
}

#[tokio::test]
async fn without_a_session_the_entry_login_then_the_gate_then_the_code() {
    let s = sso().await;
    let b = browser(&s.app);
    let p = pkce();
    let res = b.get(&authorize_url("certification", CB, &p, &[])).await;
    assert_eq!(res.status(), StatusCode::FOUND);
    assert_eq!(location(&res), "/login/certification");
    let cookie = res.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect::<Vec<_>>().join("\n");
    assert!(cookie.contains("jszg_authz=") && cookie.contains("HttpOnly"), "{cookie}");
    let page = b.get("/login/certification").await.text().await.unwrap();
    assert!(page.contains("认定登录入口"));

    // Register and log in (first login: profile incomplete).
    let who = b.register_as("resident_id").await;
    assert_eq!(b.login(&who.doc, PASSWORD, "certification").await.status(), StatusCode::OK);
    let res = b.get("/entries/certification").await;
    assert!(location(&res).starts_with("/me/profile"), "the profile comes first: {}", location(&res));
    assert_eq!(b.put_json("/api/v1/me/profile", &json!({ "ethnicity": "01" })).await.status(), StatusCode::OK);
    let res = b.get("/entries/certification").await;
    assert_ne!(res.status(), StatusCode::FOUND, "real-name verification comes next");
    s.app.post("/api/v1/dev/identities", &json!({ "doc_type": "resident_id", "doc_number": who.doc, "name": "张三" })).await;
    assert_eq!(b.client.post(b.url("/api/v1/me/realname")).send().await.unwrap().status(), StatusCode::OK);
    // Now the pending authorization resumes with a code.
    let res = b.get("/entries/certification").await;
    let to = location(&res);
    assert!(to.starts_with(CB), "{to}");
    assert_eq!(param(&to, "state").as_deref(), Some("st-1"));
    let code = param(&to, "code").unwrap();
    let tokens: Value = redeem(&s.app, "certification", &s.secrets[0], &code, CB, &p.verifier).await.json().await.unwrap();
    let claims = verify_id_token(&s.app, tokens["id_token"].as_str().unwrap(), "certification").await;
    assert_eq!(claims["nonce"], "n-1");
    // The pending request is used up: the entry button goes on as before.
    let res = b.get("/entries/certification").await;
    assert!(!location(&res).starts_with(CB));

    // SSO-2: the other entry signs in at once, same subject.
    let p2 = pkce();
    let code = code_for(&b, "renewal", CB2, &p2).await;
    let tokens: Value = redeem(&s.app, "renewal", &s.secrets[1], &code, CB2, &p2.verifier).await.json().await.unwrap();
    let renewal = verify_id_token(&s.app, tokens["id_token"].as_str().unwrap(), "renewal").await;
    assert_eq!(renewal["sub"], claims["sub"]);
    assert_eq!(renewal["sid"], claims["sid"]);

    // prompt=login asks again even with a session, then resumes after a fresh login.
    let res = b.get(&authorize_url("renewal", CB2, &p2, &[("prompt", "login")])).await;
    assert_eq!(location(&res), "/login/renewal");
    s.app.advance_clock(2).await;
    assert_eq!(b.login(&who.doc, PASSWORD, "renewal").await.status(), StatusCode::OK);
    let to = location(&b.get("/entries/renewal").await);
    assert!(to.starts_with(CB2) && param(&to, "code").is_some(), "{to}");
}

#[tokio::test]
async fn the_pending_authorization_lasts_thirty_minutes() {
    let s = sso().await;
    let (b, _) = verified(&s.app).await;
    // Log out, start an authorization, come back after 31 minutes.
    assert_eq!(b.client.delete(b.url("/api/v1/sessions/current")).send().await.unwrap().status(), StatusCode::NO_CONTENT);
    let p = pkce();
    assert_eq!(location(&b.get(&authorize_url("certification", CB, &p, &[])).await), "/login/certification");
    s.app.advance_clock(31 * 60).await;
    let (b2, _) = verified(&s.app).await;
    // Carry the old pending cookie over to a fresh session: it has expired.
    let _ = b2;
    let res = b.get("/entries/certification").await;
    assert!(!location(&res).starts_with(CB));
}

#[tokio::test]
async fn rotating_the_signing_key_keeps_the_old_one_published_until_its_tokens_expire() {
    let s = sso().await;
    let (b, _) = verified(&s.app).await;
    let p = pkce();
    let code = code_for(&b, "certification", CB, &p).await;
    let tokens: Value = redeem(&s.app, "certification", &s.secrets[0], &code, CB, &p.verifier).await.json().await.unwrap();
    let old = jsonwebtoken::decode_header(tokens["id_token"].as_str().unwrap()).unwrap().kid.unwrap();
    let rotated = jszg::flows::oidc::keys::rotate(&s.app.app).await.unwrap();
    assert_eq!(rotated.len(), 2, "RS256 and SM2 both rotate");
    let new = rotated.iter().find(|(alg, _)| *alg == jszg::config::SigningAlg::Rs256).unwrap().1.clone();
    let new_sm2 = rotated.iter().find(|(alg, _)| *alg == jszg::config::SigningAlg::Sm2).unwrap().1.clone();
    assert_ne!(old, new);
    let kids = |jwks: Value| jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
    let published = kids(s.app.get("/oidc/jwks").await.json().await.unwrap());
    assert!(published.contains(&old) && published.contains(&new));
    let code = code_for(&b, "certification", CB, &p).await;
    let tokens: Value = redeem(&s.app, "certification", &s.secrets[0], &code, CB, &p.verifier).await.json().await.unwrap();
    assert_eq!(jsonwebtoken::decode_header(tokens["id_token"].as_str().unwrap()).unwrap().kid.unwrap(), new);
    s.app.advance_clock(11 * 60 + 61).await;
    let mut published = kids(s.app.get("/oidc/jwks").await.json().await.unwrap());
    published.sort();
    let mut expected = vec![new, new_sm2];
    expected.sort();
    assert_eq!(published, expected);
}

#[tokio::test]
async fn two_instances_racing_to_redeem_one_code_exactly_one_wins() {
    let s = sso().await;
    let sibling = {
        let mut config = test_config(&s.app.database_url);
        config.keys = s.app.app.config.keys.clone();
        config.clients = clients();
        config.public_url = Some(ISS.into());
        spawn_with(config, None).await
    };
    let (b, _) = verified(&s.app).await;
    for _ in 0..5 {
        let p = pkce();
        let code = code_for(&b, "certification", CB, &p).await;
        let (x, y) = tokio::join!(
            redeem(&s.app, "certification", &s.secrets[0], &code, CB, &p.verifier),
            redeem(&sibling, "certification", &s.secrets[0], &code, CB, &p.verifier)
        );
        let statuses = [x.status(), y.status()];
        // Exactly one redemption wins; the loser's replay then revokes the winner's token.
        assert_eq!(statuses.iter().filter(|st| **st == StatusCode::OK).count(), 1, "{statuses:?}");
        assert_eq!(statuses.iter().filter(|st| **st == StatusCode::BAD_REQUEST).count(), 1, "{statuses:?}");
    }
}

/// SSO-4: the authorization endpoint by POST (form) answers as by GET; unknown scope values are
/// ignored; `email` and `phone` are answered with the verified contacts, in the ID token and at
/// userinfo (GET, POST with the header, POST with the token in the body); the applicant's access
/// log names what the business received.
#[tokio::test]
async fn posted_authorizations_extra_scopes_and_what_the_business_received() {
    let s = sso().await;
    let (b, who) = verified(&s.app).await;
    let p = pkce();
    let url = authorize_url("certification", CB, &p, &[("scope", "openid profile email phone address offline_access vendor:x")]);
    let query = url.split_once('?').unwrap().1.to_owned();
    let res = b.client.post(b.url("/oidc/authorize")).header("content-type", "application/x-www-form-urlencoded").header("origin", "https://rd.example.cn").body(query).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FOUND, "a cross-site form post is what a business sends");
    let to = location(&res);
    let code = param(&to, "code").unwrap_or_else(|| panic!("{to}"));
    let tokens: Value = redeem(&s.app, "certification", &s.secrets[0], &code, CB, &p.verifier).await.json().await.unwrap();
    assert_eq!(tokens["scope"], "openid profile email phone", "unknown values dropped");
    let claims = verify_id_token(&s.app, tokens["id_token"].as_str().unwrap(), "certification").await;
    assert_eq!((claims["phone_number"].as_str(), claims["phone_number_verified"].as_bool()), (Some(who.phone.as_str()), Some(true)));
    assert_eq!((claims["email"].as_str(), claims["email_verified"].as_bool()), (Some("123456@qq.com"), Some(true)));
    let access = tokens["access_token"].as_str().unwrap();
    let via_get: Value = s.app.client.get(s.app.url("/oidc/userinfo")).bearer_auth(access).send().await.unwrap().json().await.unwrap();
    let via_header: Value = s.app.client.post(s.app.url("/oidc/userinfo")).bearer_auth(access).header("content-type", "application/x-www-form-urlencoded").send().await.unwrap().json().await.unwrap();
    let via_body: Value = s.app.client.post(s.app.url("/oidc/userinfo")).form(&[("access_token", access)]).send().await.unwrap().json().await.unwrap();
    assert_eq!(via_get, via_header);
    assert_eq!(via_get, via_body);
    assert_eq!(via_get["email_verified"], true);
    assert_eq!(via_get["sub"], claims["sub"]);
    // Both at once is ambiguous.
    let both = s.app.client.post(s.app.url("/oidc/userinfo")).bearer_auth(access).form(&[("access_token", access)]).send().await.unwrap();
    assert_eq!(both.status(), StatusCode::UNAUTHORIZED);
    // The access log: which business received what.
    let log: Vec<Value> = b.get("/api/v1/me/access-log").await.json().await.unwrap();
    let entry = log.iter().find(|e| e["action"] == "sso_claims_disclosed").expect("a disclosure entry");
    assert_eq!(entry["role"], "certification");
    assert_eq!(entry["role_label"], "教师资格认定系统");
    assert_eq!(entry["opened"], json!(["sub", "name", "email", "phone_number"]));
    assert!(entry["opened_label"].as_str().unwrap().contains("手机号码"), "{entry}");
    // Discovery lists the scopes and claims.
    let d: Value = s.app.get("/.well-known/openid-configuration").await.json().await.unwrap();
    for scope in ["openid", "profile", "identity", "email", "phone"] {
        assert!(d["scopes_supported"].as_array().unwrap().iter().any(|v| v == scope), "{scope}");
    }
    for claim in ["email", "email_verified", "phone_number", "phone_number_verified"] {
        assert!(d["claims_supported"].as_array().unwrap().iter().any(|v| v == claim), "{claim}");
    }
    assert_eq!((d["request_parameter_supported"].as_bool(), d["request_uri_parameter_supported"].as_bool()), (Some(false), Some(false)));
}

/// A client registered with `require_pkce = false` may leave PKCE out; a challenge it sends is
/// still enforced, and a verifier without a challenge is refused (no downgrade either way).
#[tokio::test]
async fn pkce_optional_for_a_client_that_says_so_but_never_half() {
    let (url, dir) = fresh_database().await;
    let mut config = test_config(&url);
    config.public_url = Some(ISS.into());
    config.clients = clients();
    if let Some(c) = config.clients.certification.as_mut() {
        c.require_pkce = false;
    }
    let app = spawn_with(config, dir).await;
    let secret = jszg::flows::enrollment::rotate_secret(&app.app, jszg::flows::applicant::Entry::Certification).await.unwrap();
    let (b, _) = verified(&app).await;
    let plain = |extra: &[(&str, &str)]| {
        let mut q = vec![("client_id", "certification"), ("redirect_uri", CB), ("response_type", "code"), ("scope", "openid"), ("state", "s")];
        q.extend_from_slice(extra);
        format!("/oidc/authorize?{}", serde_urlencoded::to_string(q).unwrap())
    };
    let redeem_with = |code: String, verifier: Option<String>| {
        let mut form = vec![("grant_type", "authorization_code".to_owned()), ("code", code), ("redirect_uri", CB.to_owned())];
        if let Some(v) = verifier {
            form.push(("code_verifier", v));
        }
        app.client.post(app.url("/oidc/token")).basic_auth("certification", Some(&secret)).form(&form).send()
    };
    let code = param(&location(&b.get(&plain(&[])).await), "code").unwrap();
    assert_eq!(redeem_with(code, None).await.unwrap().status(), StatusCode::OK);
    // A verifier without a challenge: refused.
    let code = param(&location(&b.get(&plain(&[])).await), "code").unwrap();
    let res = redeem_with(code, Some("a".repeat(43))).await.unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "invalid_grant");
    // A challenge sent is enforced.
    let p = pkce();
    let code = param(&location(&b.get(&plain(&[("code_challenge", &p.challenge), ("code_challenge_method", "S256")])).await), "code").unwrap();
    let res = redeem_with(code, None).await.unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "invalid_grant");
    // The other client keeps the default: PKCE required.
    let to = location(&b.get(&format!("/oidc/authorize?{}", serde_urlencoded::to_string([("client_id", "renewal"), ("redirect_uri", CB2), ("response_type", "code"), ("scope", "openid"), ("state", "s")]).unwrap())).await);
    assert_eq!(param(&to, "error").as_deref(), Some("invalid_request"));
}
