#![allow(clippy::unwrap_used, clippy::expect_used)]
//! PRIV-3: nothing personal or secret reaches a log line or a metric label.
//! The app runs in this process under a global subscriber at debug level
//! (its own binary, so no other test shares the subscriber) that writes every
//! line, including those bridged from the `log` crate (sqlx), into a buffer.
//! The test then drives registration, login, profile, real-name checks,
//! reviews with photos, staff decisions, recovery by link and by SMS,
//! a contact change and the export, remembers every personal value, code,
//! password and token it used, and fails if any of them is in the logs or
//! in `/metrics`.

#[allow(dead_code)]
#[path = "api/helpers.rs"]
mod helpers;

use std::io::Write;
use std::sync::{Arc, Mutex};

use rand::Rng;
use reqwest::StatusCode;
use serde_json::{json, Value};

use helpers::*;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().map_err(|_| std::io::Error::other("poisoned"))?.extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Values that must never be logged, with what they are.
#[derive(Default)]
struct Secrets(Vec<(String, &'static str)>);

impl Secrets {
    fn add(&mut self, value: impl Into<String>, what: &'static str) -> String {
        let value = value.into();
        assert!(!value.is_empty(), "{what} is empty");
        self.0.push((value.clone(), what));
        value
    }
}

/// Where `needle` occurs in `hay` as a whole token: digit strings (codes)
/// must not touch other digits, so a code is not "found" inside a number.
fn occurs(hay: &str, needle: &str) -> bool {
    let digits = needle.bytes().all(|b| b.is_ascii_digit());
    hay.match_indices(needle).any(|(at, _)| {
        if !digits {
            return true;
        }
        let before = hay[..at].bytes().next_back().is_none_or(|b| !b.is_ascii_digit());
        let after = hay[at + needle.len()..].bytes().next().is_none_or(|b| !b.is_ascii_digit());
        before && after
    })
}

fn session_cookie(res: &reqwest::Response, name: &str) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix(&format!("{name}=")).map(|rest| rest.split(';').next().unwrap_or("").to_owned()))
        .filter(|v| !v.is_empty())
}

async fn captcha(api: &Api, s: &mut Secrets, purpose: &str) -> String {
    let token = api.captcha_token(purpose).await;
    s.add(token, "captcha token")
}

async fn sms_code(api: &Api, s: &mut Secrets, phone: &str, purpose: &str) -> String {
    let token = captcha(api, s, "sms").await;
    let res = api
        .post("/api/v1/verification-codes", &json!({ "channel": "sms", "phone": phone, "purpose": purpose, "captcha_token": token }))
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    s.add(api.last_code(phone).await, "SMS code")
}

async fn email_code(api: &Api, s: &mut Secrets, email: &str) -> String {
    let token = captcha(api, s, "email").await;
    let res = api
        .post(
            "/api/v1/verification-codes",
            &json!({ "channel": "email", "email": email, "purpose": "contact_change", "captcha_token": token }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    s.add(api.last_code(email).await, "email code")
}

fn link_token(body: &str) -> String {
    let at = body.find("/reset/").expect("a reset link");
    body[at + 7..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect()
}

async fn login(api: &Api, s: &mut Secrets, doc: &str, password: &str) -> reqwest::Response {
    let token = captcha(api, s, "login").await;
    let res = api
        .post("/api/v1/sessions", &json!({ "doc_number": doc, "password": password, "captcha_token": token, "entry": "certification" }))
        .await;
    if let Some(cookie) = session_cookie(&res, "jszg_session") {
        s.add(cookie, "session id");
    }
    res
}

fn random_digits(n: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..n).map(|_| char::from(b'0' + rng.gen_range(0..10u8))).collect()
}

#[tokio::test]
async fn no_personal_value_code_password_or_token_reaches_the_logs_or_metrics() {
    let logs = Buffer::default();
    let sink = logs.clone();
    tracing_subscriber::fmt()
        // The test's own HTTP client (reqwest, its cookie jar) is not the
        // server: its lines show the cookies and URLs the test handles. The
        // server uses reqwest only for providers this dev-mode run does not
        // configure, and never cookie_store.
        .with_env_filter(tracing_subscriber::EnvFilter::new("debug,reqwest=off,hyper_util::client=off,cookie_store=off"))
        .with_writer(move || sink.clone())
        .with_ansi(false)
        .without_time()
        .try_init()
        .expect("the only subscriber in this binary");

    // Both entries as OpenID Connect clients, so the single sign-on exchange runs too.
    let (url, dir) = fresh_database().await;
    let mut config = test_config(&url);
    let client = |cb: &str| {
        Some(jszg::config::ClientConfig {
            redirect_uris: vec![cb.into()],
            post_logout_redirect_uris: vec![],
            backchannel_logout_uri: None,
            initiate_login_uri: None,
            ..jszg::config::ClientConfig::default()
        })
    };
    config.clients = jszg::config::ClientsConfig { certification: client(RP_CALLBACK), renewal: client("https://zc.example.cn/cb") };
    let app = spawn_with(config, dir).await;
    let mut s = Secrets::default();

    // Registration, with a rare-character name and every contact.
    let doc = s.add(resident_id(date("1990-07-21")), "document number");
    let phone = s.add(format!("139{}", random_digits(8)), "phone");
    let email = s.add(format!("8{}@qq.com", random_digits(8)), "email");
    let name = s.add("司马𠀾琪", "name");
    let password = s.add(format!("Scrub#{}q", random_digits(6)), "password");
    let code = sms_code(&app, &mut s, &phone, "register").await;
    let mut body = form(&doc, &phone, &code);
    body["name"] = json!(name);
    body["email"] = json!(email);
    body["password"] = json!(password);
    body["password_confirm"] = json!(password);
    let res = app.register(&body).await;
    assert_eq!(res.status(), StatusCode::CREATED, "{}", res.text().await.unwrap_or_default());
    // Refusals that echo input would be the classic leak: a taken number,
    // a wrong type in a field, a wrong password, an unknown number.
    assert!(app.register(&body).await.status().is_client_error());
    let mut typed = body.clone();
    typed["agree_terms"] = json!(doc);
    typed["validity"] = json!(email);
    assert!(app.register(&typed).await.status().is_client_error());
    let wrong = s.add(format!("Wrong#{}z", random_digits(6)), "wrong password");
    assert_eq!(login(&app, &mut s, &doc, &wrong).await.status(), StatusCode::UNAUTHORIZED);
    let stranger = s.add(resident_id(date("1979-02-03")), "unknown document number");
    assert_eq!(login(&app, &mut s, &stranger, &password).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(login(&app, &mut s, &doc, &password).await.status(), StatusCode::OK);
    assert_eq!(app.put_json("/api/v1/me/profile", &json!({ "ethnicity": "01" })).await.status(), StatusCode::OK);

    // Real-name: a failure, then the registry knows the person.
    assert_eq!(app.post("/api/v1/me/realname", &json!({})).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    app.post("/api/v1/dev/identities", &json!({ "doc_type": "resident_id", "doc_number": doc, "name": name })).await;
    // A second applicant, with a permit, goes to manual review instead.
    let other = app.another_client();
    let permit_holder = s.add(residence_permit("820000", date("1988-11-30")), "document number");
    let other_phone = s.add(format!("137{}", random_digits(8)), "phone");
    let code = sms_code(&other, &mut s, &other_phone, "register").await;
    let mut body = form(&permit_holder, &other_phone, &code);
    body["doc_type"] = json!("hmt_residence");
    body["validity"] = json!({ "period": "5y", "start": "2024-01-01" });
    body["name"] = json!(name);
    body["password"] = json!(password);
    body["password_confirm"] = json!(password);
    assert_eq!(other.register(&body).await.status(), StatusCode::CREATED);
    s.add("123456@qq.com", "email");
    assert_eq!(login(&other, &mut s, &permit_holder, &password).await.status(), StatusCode::OK);
    let local = s.add(format!("M{}(3)", random_digits(6)), "local id number");
    let permit = s.add(format!("M{}", random_digits(8)), "permit number");
    let res = other.put_json("/api/v1/me/profile", &json!({ "ethnicity": "02", "local_id_number": local, "permit_number": permit })).await;
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap_or_default());
    assert_eq!(app.post("/api/v1/me/realname", &json!({})).await.status(), StatusCode::OK);
    let review = reqwest::multipart::Form::new()
        .text("validity_period", "5y")
        .text("validity_start", "2024-01-01")
        .text("name", name.clone())
        .text("reason", "实名认证不通过，信息确认无误")
        .part("front", part(jpeg(320, 200, false), "front.jpg"))
        .part("back", part(jpeg(320, 200, false), "back.jpg"))
        .part("handheld", part(jpeg(300, 400, false), "handheld.jpg"));
    let res = other.submit_review(review).await;
    assert_eq!(res.status(), StatusCode::CREATED, "{}", res.text().await.unwrap_or_default());

    // Staff: sign in with password and TOTP, open the item and a photo, decide.
    let created = jszg::flows::staff::add(&app.app, "scrubber", jszg::flows::staff::Role::Reviewer).await.unwrap();
    s.add(created.password.clone(), "staff password");
    s.add(created.totp_secret.clone(), "TOTP secret");
    let member = jszg::store::staff::by_username(&app.app.db, "scrubber").await.unwrap().unwrap();
    let secret = app.app.vault.open(jszg::vault::Field::Totp, &member.totp_secret_enc).unwrap();
    let totp = s.add(jszg::adapters::totp::code_at(&secret, app.app.clock.unix()), "TOTP code");
    let staff = app.another_client();
    let res = staff.post("/api/v1/staff/sessions", &json!({ "username": "scrubber", "password": created.password, "totp": totp })).await;
    assert_eq!(res.status(), StatusCode::OK);
    s.add(session_cookie(&res, "jszg_staff").expect("staff cookie"), "staff session id");
    let queue: Vec<Value> = staff.get("/api/v1/staff/reviews?kind=identity").await.json().await.unwrap();
    let id = queue[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(staff.get(&format!("/api/v1/staff/reviews/{id}")).await.status(), StatusCode::OK);
    assert_eq!(staff.get(&format!("/staff/reviews/{id}")).await.status(), StatusCode::OK);
    assert_eq!(staff.get(&format!("/api/v1/staff/reviews/{id}/photos/front")).await.status(), StatusCode::OK);
    let body = json!({ "approve": false, "reason": "民族错误" });
    assert_eq!(staff.post(&format!("/api/v1/staff/reviews/{id}/decision"), &body).await.status(), StatusCode::OK);
    let search = format!("/api/v1/staff/audit?doc_number={permit_holder}");
    staff.get(&search).await;

    // Recovery by email link and by SMS code, then a contact change.
    let rec = app.another_client();
    let start = |r: &Api, token: String| {
        let doc = doc.clone();
        let name = name.clone();
        let r = r.clone_api();
        async move {
            let res = r
                .post("/api/v1/recoveries", &json!({ "doc_type": "resident_id", "doc_number": doc, "name": name, "captcha_token": token }))
                .await;
            assert_eq!(res.status(), StatusCode::CREATED);
            res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
        }
    };
    let token = captcha(&rec, &mut s, "recovery").await;
    let recovery = start(&rec, token).await;
    assert_eq!(rec.post(&format!("/api/v1/recoveries/{recovery}/email"), &json!({})).await.status(), StatusCode::ACCEPTED);
    let mail = rec.outbox(&email).await;
    let link = s.add(link_token(mail[0]["body"].as_str().unwrap()), "reset link token");
    let new_password = s.add(format!("Reset#{}k", random_digits(6)), "password");
    let reset = json!({ "token": link, "new_password": new_password, "new_password_confirm": new_password });
    assert_eq!(rec.post("/api/v1/password-resets", &reset).await.status(), StatusCode::NO_CONTENT);
    // The spent link again: refused, still not logged.
    assert_eq!(rec.post("/api/v1/password-resets", &reset).await.status(), StatusCode::GONE);
    let token = captcha(&rec, &mut s, "recovery").await;
    let recovery = start(&rec, token).await;
    assert_eq!(rec.post(&format!("/api/v1/recoveries/{recovery}/sms-code"), &json!({})).await.status(), StatusCode::ACCEPTED);
    let code = s.add(rec.last_code(&phone).await, "SMS code");
    let newer = s.add(format!("Again#{}m", random_digits(6)), "password");
    let body = json!({ "code": code, "new_password": newer, "new_password_confirm": newer });
    assert_eq!(rec.post(&format!("/api/v1/recoveries/{recovery}/sms"), &body).await.status(), StatusCode::NO_CONTENT);
    let token = captcha(&rec, &mut s, "recovery").await;
    let recovery = start(&rec, token).await;
    let new_email = s.add(format!("6{}@qq.com", random_digits(7)), "email");
    let code = email_code(&rec, &mut s, &new_email).await;
    let form = reqwest::multipart::Form::new()
        .text("kind", "email")
        .text("new_value", new_email.clone())
        .text("verification_code", code)
        .text("reason", "原邮箱已停用")
        .part("handheld", part(jpeg(300, 400, false), "handheld.jpg"));
    let res = rec.client.post(rec.url(&format!("/api/v1/recoveries/{recovery}/contact-changes"))).multipart(form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED, "{}", res.text().await.unwrap_or_default());

    // The applicant's own view, then logout.
    let res = login(&app, &mut s, &doc, &newer).await;
    assert_eq!(res.status(), StatusCode::OK);
    let session = session_cookie(&res, "jszg_session").expect("session cookie");
    single_sign_on(&app, &mut s, &session).await;
    assert_eq!(app.get("/api/v1/me/export").await.status(), StatusCode::OK);
    assert_eq!(app.get("/api/v1/me/access-log").await.status(), StatusCode::OK);
    assert_eq!(app.get("/me/data").await.status(), StatusCode::OK);
    assert_eq!(app.client.delete(app.url("/api/v1/sessions/current")).send().await.unwrap().status(), StatusCode::NO_CONTENT);
    // Let the delivery worker take the queued messages.
    app.outbox_settled().await;
    let metrics = app.get("/metrics").await.text().await.unwrap();

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    let lines = text.lines().count();
    assert!(lines > 200, "the run logged only {lines} lines: is debug logging on?");
    assert!(text.contains("request"), "request lines are there");
    let mut leaks = Vec::new();
    for (value, what) in &s.0 {
        for (place, hay) in [("logs", text.as_str()), ("metrics", metrics.as_str())] {
            if occurs(hay, value) {
                let line = hay.lines().find(|l| occurs(l, value)).unwrap_or("");
                leaks.push(format!("{what} in {place}: {line}"));
            }
        }
    }
    println!("scanned {lines} log lines and {} metric lines for {} values", metrics.lines().count(), s.0.len());
    assert!(leaks.is_empty(), "leaked:\n{}", leaks.join("\n"));
    // Metric labels are route patterns, never raw paths.
    for line in metrics.lines().filter(|l| l.contains("route=")) {
        let route = line.split("route=\"").nth(1).and_then(|r| r.split('"').next()).unwrap_or("");
        assert!(route == "unmatched" || route.starts_with('/'), "{line}");
        assert!(!route.contains(&id), "a review id in a label: {line}");
    }
}

const RP_CALLBACK: &str = "https://rd.example.cn/cb";

/// The certification business signs the applicant in: code, token exchange
/// with the client secret, userinfo, a replayed code and a wrong secret.
async fn single_sign_on(app: &TestApp, s: &mut Secrets, session: &str) {
    use base64::Engine;
    use sha2::Digest;
    let secret = jszg::flows::enrollment::rotate_secret(&app.app, jszg::flows::applicant::Entry::Certification).await.unwrap();
    let secret = s.add(secret, "client secret");
    let verifier = s.add(jszg::crypto::random_token(32), "PKCE verifier");
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
    let query = serde_urlencoded::to_string([
        ("response_type", "code"),
        ("client_id", "certification"),
        ("redirect_uri", RP_CALLBACK),
        ("scope", "openid profile identity"),
        ("state", "scrub-state"),
        ("nonce", "scrub-nonce"),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ])
    .unwrap();
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let res = browser
        .get(app.url(&format!("/oidc/authorize?{query}")))
        .header("cookie", format!("jszg_session={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    let to = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(to.starts_with(RP_CALLBACK), "{to}");
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(to.split_once('?').unwrap().1).unwrap();
    let code = pairs.into_iter().find(|(k, _)| k == "code").map(|(_, v)| v).expect("a code");
    let code = s.add(code, "authorization code");
    let redeem = |secret: String| {
        let (browser, code, verifier) = (browser.clone(), code.clone(), verifier.clone());
        let url = app.url("/oidc/token");
        async move {
            browser
                .post(url)
                .basic_auth("certification", Some(secret))
                .form(&[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", RP_CALLBACK), ("code_verifier", &verifier)])
                .send()
                .await
                .unwrap()
        }
    };
    let res = redeem(s.add(format!("wrong-{}", random_digits(12)), "wrong client secret")).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let tokens: Value = redeem(secret.clone()).await.json().await.unwrap();
    let access = s.add(tokens["access_token"].as_str().expect("access token"), "access token");
    s.add(tokens["id_token"].as_str().expect("ID token"), "ID token");
    let info = browser.get(app.url("/oidc/userinfo")).bearer_auth(&access).send().await.unwrap();
    assert_eq!(info.status(), StatusCode::OK);
    // The replay is logged (as a warning), the code itself is not.
    assert_eq!(redeem(secret).await.status(), StatusCode::BAD_REQUEST);
    let info = browser.get(app.url("/oidc/userinfo")).bearer_auth(&access).send().await.unwrap();
    assert_eq!(info.status(), StatusCode::UNAUTHORIZED);
}

trait CloneApi {
    fn clone_api(&self) -> Api;
}

impl CloneApi for Api {
    fn clone_api(&self) -> Api {
        Api { base: self.base.clone(), client: self.client.clone() }
    }
}
