//! Hardening, round 2 (docs/hardening.md): each finding of the black-box probe with the request
//! that showed it.

use std::time::{Duration, Instant};

use reqwest::multipart::Form;
use reqwest::StatusCode;

use crate::helpers::*;

/// The decompression bomb of the probe: a valid baseline JPEG of `width`×`height` (multiples
/// of 16) in flat grey, 4:2:0, whose every 8×8 block is two bits (DC difference 0, end of block,
/// each a one-bit Huffman code): 184 KB at 5600 × 5600, 94 MB of RGB once decoded.
fn flat_jpeg(width: u16, height: u16) -> Vec<u8> {
    let mut out = vec![0xFF, 0xD8];
    let mut segment = |marker: u8, body: &[u8]| {
        out.extend_from_slice(&[0xFF, marker]);
        out.extend_from_slice(&u16::try_from(body.len() + 2).expect("short").to_be_bytes());
        out.extend_from_slice(body);
    };
    let mut dqt = vec![0u8];
    dqt.extend_from_slice(&[1; 64]);
    segment(0xDB, &dqt);
    let ([h0, h1], [w0, w1]) = (height.to_be_bytes(), width.to_be_bytes());
    segment(0xC0, &[8, h0, h1, w0, w1, 3, 1, 0x22, 0, 2, 0x11, 0, 3, 0x11, 0]);
    // One table per class with a single code of length 1: symbol 0 (DC: category 0; AC: EOB).
    for class in [0x00u8, 0x10] {
        let mut dht = vec![class, 1];
        dht.extend_from_slice(&[0; 15]);
        dht.push(0);
        segment(0xC4, &dht);
    }
    segment(0xDA, &[3, 1, 0x00, 2, 0x00, 3, 0x00, 0, 63, 0]);
    let mcus = usize::from(width / 16) * usize::from(height / 16);
    // Six blocks per MCU, two zero bits each.
    out.resize(out.len() + mcus * 12 / 8, 0);
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}

fn bomb(side: u16) -> Vec<u8> {
    flat_jpeg(side, side)
}

/// The ownership-claim form of the probe: anonymous, any number, three photos.
fn claim_form(doc: &str, code: &str, photo: &[u8], reason: &str) -> Form {
    claim_form_from(doc, "15800000000", code, photo, reason)
}

fn claim_form_from(doc: &str, phone: &str, code: &str, photo: &[u8], reason: &str) -> Form {
    let text = |f: Form, k: &str, v: &str| f.text(k.to_owned(), v.to_owned());
    let mut form = Form::new();
    for (k, v) in [
        ("doc_type", "resident_id"),
        ("doc_number", doc),
        ("name", "张三"),
        ("validity_period", "20y"),
        ("validity_start", "2020-05-01"),
        ("password", "Abc#2024x"),
        ("password_confirm", "Abc#2024x"),
        ("email", "123456@qq.com"),
        ("phone", phone),
        ("verification_code", code),
        ("agree_terms", "true"),
        ("reason", reason),
    ] {
        form = text(form, k, v);
    }
    form.part("front", part(photo.to_vec(), "front.jpg"))
        .part("back", part(photo.to_vec(), "back.jpg"))
        .part("handheld", part(photo.to_vec(), "handheld.jpg"))
}

async fn post_claim(app: &Api, form: Form) -> reqwest::Response {
    app.client.post(app.url("/api/v1/ownership-claims")).multipart(form).send().await.expect("request")
}

/// Item 1: a bomb is refused by its frame header, before any cheap field is even looked at
/// past its own checks, and quickly; the message says what the size was.
#[tokio::test]
async fn photo_bombs_are_refused_by_their_declared_size() {
    let app = spawn_app().await;
    // A real JPEG: a small one of the same make decodes to its size.
    let small = image::load_from_memory(&bomb(64)).expect("a valid JPEG");
    assert_eq!((small.width(), small.height()), (64, 64));
    let bomb = bomb(5600);
    assert!(bomb.len() < 190 * 1024, "the bomb fits the size limit: {} bytes", bomb.len());
    let started = Instant::now();
    let res = post_claim(&app, claim_form(&resident_id(date("1990-01-01")), "123456", &bomb, "账号被他人占用")).await;
    let (status, error) = error_code(res).await;
    assert_eq!((status, error["code"].as_str(), error["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_photo"), Some("front")));
    assert!(error["message"].as_str().unwrap().contains("5600×5600"), "{error}");
    assert!(started.elapsed() < Duration::from_secs(2), "no decode: {:?}", started.elapsed());
    // The cheap fields come first: without a reason, the reason is what is refused.
    let res = post_claim(&app, claim_form(&resident_id(date("1990-01-01")), "123456", &bomb, "")).await;
    assert_eq!(error_code(res).await.1["code"], "invalid_reason");
    // The same on /me/reviews for a signed-in applicant.
    app.applicant().await;
    let form = reqwest::multipart::Form::new()
        .text("validity_period", "20y")
        .text("validity_start", "2020-05-01")
        .text("name", "张三")
        .text("reason", "实名认证不通过，信息确认无误")
        .part("front", part(bomb.clone(), "front.jpg"))
        .part("back", part(jpeg(320, 200, false), "back.jpg"))
        .part("handheld", part(jpeg(300, 400, false), "handheld.jpg"));
    let (status, error) = error_code(app.submit_review(form).await).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_photo")));
}

/// Item 1: the probe's flood, 16 bombs 8 at a time against the release-like binary, and then
/// 16 legitimate 12-megapixel photos at once: the server's peak RSS stays bounded (the probe saw
/// 102 MB → 709 MB). Run against a child process so its RSS is its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flood_of_uploads_keeps_memory_bounded() {
    let server = Child::start(&[("JSZG_UPLOADS__MAX_CONCURRENT_DECODES", "2")]).await;
    let api = Api { base: server.base.clone(), client: reqwest::Client::new() };
    let bomb = bomb(5600);
    let before = server.peak_rss_mb();
    for round in 0..2 {
        let sends = (0..8).map(|i| post_claim(&api, claim_form(&resident_id(date("1990-01-01")), "123456", &bomb, &format!("{round}-{i}"))));
        for res in futures::future::join_all(sends).await {
            assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        }
    }
    let after_bombs = server.peak_rss_mb();
    // Legitimate large photos are decoded, two at a time while the others wait: claims with
    // right codes for numbers others hold, 16 at once.
    // 4000 × 2992: a phone's 12 megapixels, under the bound.
    let big = flat_jpeg(4000, 2992);
    assert!(big.len() < 190 * 1024, "{} bytes", big.len());
    let mut forms = Vec::new();
    for _ in 0..16 {
        let held = api.register_as("resident_id").await;
        let phone = phone();
        let code = api.sms_code(&phone).await;
        forms.push(claim_form_from(&held.doc, &phone, &code, &big, "账号被他人占用"));
    }
    // Each from an address of its own: claims are also limited per address.
    let senders: Vec<Api> = (0..forms.len()).map(|i| api.seen_from(&format!("127.88.0.{}", i + 1))).collect();
    let answers = futures::future::join_all(forms.into_iter().zip(&senders).map(|(form, from)| post_claim(from, form))).await;
    for res in answers {
        assert_eq!(res.status(), StatusCode::CREATED, "{}", res.text().await.unwrap_or_default());
    }
    let after = server.peak_rss_mb();
    println!("peak RSS: {before:.0} MB at start, {after_bombs:.0} MB after 16 bombs, {after:.0} MB after 16 large claims");
    assert!(after_bombs - before < 40.0, "bombs were decoded: {before:.0} → {after_bombs:.0} MB");
    assert!(after < 300.0, "peak RSS {after:.0} MB");
}

/// A jszg binary of its own (development mode, SQLite, the harness quotas), for what must be
/// measured on its process alone.
pub struct Child {
    pub base: String,
    process: std::process::Child,
    _dir: tempfile::TempDir,
}

impl Child {
    pub async fn start(env: &[(&str, &str)]) -> Child {
        let dir = tempfile::tempdir().expect("dir");
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("port");
        let harness = include_str!("../support/harness.env");
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_jszg"));
        command
            .arg("serve")
            .current_dir(dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("JSZG_BIND", format!("127.0.0.1:{port}"))
            .env("JSZG_DATABASE_URL", format!("sqlite://{}", dir.path().join("jszg.db").display()))
            .env("JSZG_DEV", "1")
            .env("JSZG_LOG", "error")
            .envs(harness.lines().filter(|l| !l.starts_with('#')).filter_map(|l| l.split_once('=')))
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::null());
        let process = command.spawn().expect("start jszg");
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if client.get(format!("{base}/readyz")).send().await.is_ok_and(|r| r.status().is_success()) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Child { base, process, _dir: dir }
    }

    /// VmHWM: the most resident memory the process has had.
    pub fn peak_rss_mb(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.process.id())).unwrap_or_default();
        let kb: f64 = status.lines().find_map(|l| l.strip_prefix("VmHWM:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok()).unwrap_or(0.0);
        kb / 1024.0
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        self.process.kill().ok();
        self.process.wait().ok();
    }
}

/// Item 2: registration no longer tells a stranger whether a number is registered: a wrong
/// code gets the same answer for a registered number and a free one; `account_exists` only
/// after the code was right. The same for ownership claims and `no_account`.
#[tokio::test]
async fn a_wrong_code_answers_the_same_whatever_the_number() {
    let app = spawn_app().await;
    let taken = app.register_as("resident_id").await;
    let free = resident_id(date("1991-02-03"));
    let mut answers = Vec::new();
    for doc in [&taken.doc, &free] {
        let phone = phone();
        app.sms_code(&phone).await;
        let res = app.register(&form(doc, &phone, "000000")).await;
        let (status, error) = error_code(res).await;
        answers.push((status, error["code"].clone(), error["field"].clone(), error["attempts_left"].clone()));
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0].1, "invalid_verification_code");
    // With the right code, the holder of the phone learns the number is taken.
    let phone = phone();
    let code = app.sms_code(&phone).await;
    let (status, error) = error_code(app.register(&form(&taken.doc, &phone, &code)).await).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::CONFLICT, Some("account_exists")));

    // Ownership claims: a free number with a wrong code is a wrong code, not `no_account`.
    let photo = jpeg(320, 200, false);
    let mut claims = Vec::new();
    for doc in [&taken.doc, &free] {
        let (status, error) = error_code(post_claim(&app, claim_form(doc, "000000", &photo, "账号被他人占用")).await).await;
        claims.push((status, error["code"].clone()));
    }
    assert_eq!(claims[0], claims[1]);
    assert_eq!(claims[0].1, "invalid_verification_code");
}

/// Item 3: bogus registrations cost no password hash: 50 with wrong codes leave the argon2
/// pool untouched, and a real one hashes once.
#[tokio::test]
async fn registrations_hash_the_password_only_after_the_code() {
    let app = spawn_app().await;
    let phone = phone();
    app.sms_code(&phone).await;
    let before = app.app.hasher.jobs_accepted();
    for i in 0..50 {
        let doc = resident_id(date("1990-01-01"));
        let res = app.register(&form(&doc, &phone, &format!("{:06}", 100_000 + i))).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    // Claims the same.
    for _ in 0..10 {
        let res = post_claim(&app, claim_form(&resident_id(date("1990-01-01")), "000000", &jpeg(320, 200, false), "占用")).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    assert_eq!(app.app.hasher.jobs_accepted(), before, "no hash for a wrong code");
    let phone = crate::helpers::phone();
    let code = app.sms_code(&phone).await;
    assert_eq!(app.register(&form(&resident_id(date("1990-01-01")), &phone, &code)).await.status(), StatusCode::CREATED);
    assert_eq!(app.app.hasher.jobs_accepted(), before + 1);
}

/// Item 7: what staff receive carries no EXIF (GPS position, phone model) nor comments.
#[tokio::test]
async fn staff_get_photos_without_their_metadata() {
    let app = spawn_app().await;
    app.applicant().await;
    let with_exif = |bytes: Vec<u8>| {
        let body = b"Exif\0\0MM\0\x2a\0\0\0\x08 GPS 39.9042N 116.4074E Apple iPhone 15 Pro";
        let mut out = bytes[..2].to_vec();
        out.extend_from_slice(&[0xFF, 0xE1]);
        out.extend_from_slice(&u16::try_from(body.len() + 2).unwrap().to_be_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(&[0xFF, 0xFE, 0x00, 0x09]);
        out.extend_from_slice(b"secret!");
        out.extend_from_slice(&bytes[2..]);
        out
    };
    let form = reqwest::multipart::Form::new()
        .text("validity_period", "20y")
        .text("validity_start", "2020-05-01")
        .text("name", "张三")
        .text("reason", "实名认证不通过，信息确认无误")
        .part("front", part(with_exif(jpeg(320, 200, false)), "front.jpg"))
        .part("back", part(with_exif(jpeg(320, 200, false)), "back.jpg"))
        .part("handheld", part(with_exif(jpeg(300, 400, false)), "handheld.jpg"));
    let res = app.submit_review(form).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let id = res.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let staff = app.staff("rev1", jszg::flows::staff::Role::Reviewer).await;
    for slot in ["front", "back", "handheld"] {
        let res = staff.get(&format!("/api/v1/staff/reviews/{id}/photos/{slot}")).await;
        assert_eq!(res.status(), StatusCode::OK);
        let bytes = res.bytes().await.unwrap();
        for needle in [&b"GPS"[..], b"iPhone", b"Exif", b"secret!"] {
            assert!(!bytes.windows(needle.len()).any(|w| w == needle), "{slot} still carries {:?}", String::from_utf8_lossy(needle));
        }
        assert!(image::load_from_memory(&bytes).is_ok(), "{slot} is still a picture");
    }
}

/// The withdrawal link's token in a message body.
fn cancel_token(body: &str) -> String {
    let at = body.find("/contact-changes/cancel?token=").expect("a withdrawal link") + "/contact-changes/cancel?token=".len();
    body[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect()
}

/// Item 4: a contact change is announced at once to the current phone and email (what, when,
/// how to stop it); the link withdraws it and staff see who withdrew it and how; the personal
/// centre shows a pending request and withdraws it too.
#[tokio::test]
async fn a_contact_change_is_announced_to_the_current_contacts_and_can_be_withdrawn() {
    let app = spawn_app().await;
    let who = app.register_as("resident_id").await;
    let recovery = app.recovery_for(&who.doc).await;
    let review = app.email_change(&recovery, "99887766@qq.com").await;

    let sms = app.outbox(&who.phone).await;
    let notice = sms.iter().find(|m| m["body"].as_str().unwrap_or("").contains("修改邮箱地址申请")).expect("an SMS to the current phone");
    let text = notice["body"].as_str().unwrap();
    assert!(text.contains("99*****6@qq.com") || text.contains("@qq.com"), "{text}");
    assert!(text.contains("如非本人操作") && text.contains("撤销"), "{text}");
    let mails = app.outbox("123456@qq.com").await;
    let mail = mails.iter().find(|m| m["body"].as_str().unwrap_or("").contains("修改邮箱地址申请")).expect("a mail to the current email");
    let phone_token = cancel_token(text);
    let mail_token = cancel_token(mail["body"].as_str().unwrap());
    assert_ne!(phone_token, mail_token, "one link per channel");

    // Opening the link asks; it changes nothing by itself (mail scanners open links).
    let page = app.get(&format!("/contact-changes/cancel?token={phone_token}")).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("修改邮箱地址申请") && html.contains("撤销申请"), "{html}");
    let staff = app.staff("rev1", jszg::flows::staff::Role::Reviewer).await;
    let queue: Vec<serde_json::Value> = staff.get("/api/v1/staff/reviews?kind=contact_change&status=pending").await.json().await.unwrap();
    assert_eq!(queue.len(), 1);

    // The link from the SMS withdraws it; staff see how; deciding it is refused.
    let res = app.post("/api/v1/contact-changes/cancellations", &serde_json::json!({ "token": phone_token })).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let item: serde_json::Value = staff.get(&format!("/api/v1/staff/reviews/{review}")).await.json().await.unwrap();
    assert_eq!(item["status"], "withdrawn", "{item}");
    assert!(item["decision_reason"].as_str().unwrap().contains("短信链接"), "{item}");
    let res = staff.post(&format!("/api/v1/staff/reviews/{review}/decision"), &serde_json::json!({ "approve": true })).await;
    let (status, error) = error_code(res).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::CONFLICT, Some("already_decided")));
    assert!(error["message"].as_str().unwrap().contains("撤销"));
    // Both links are spent now.
    for token in [&phone_token, &mail_token] {
        let res = app.post("/api/v1/contact-changes/cancellations", &serde_json::json!({ "token": token })).await;
        assert_eq!(error_code(res).await.1["code"], "token_invalid");
    }
    assert_eq!(app.get(&format!("/contact-changes/cancel?token={mail_token}")).await.status(), StatusCode::GONE);

    // A new request can be filed; signed in, the holder sees it and withdraws it.
    let recovery = app.recovery_for(&who.doc).await;
    let review = app.email_change(&recovery, "55443322@qq.com").await;
    assert_eq!(app.login(&who.doc, PASSWORD, "certification").await.status(), StatusCode::OK);
    let mine: serde_json::Value = app.get("/api/v1/me/contact-changes").await.json().await.unwrap();
    assert_eq!(mine["pending"]["id"], review.as_str());
    assert_eq!(mine["pending"]["kind"], "email");
    let centre = app.get("/me/profile").await.text().await.unwrap();
    assert!(centre.contains("id=\"pending-change\"") && centre.contains("修改邮箱地址申请"), "the centre shows it");
    let res = app.post(&format!("/api/v1/me/contact-changes/{review}/withdrawal"), &serde_json::json!({})).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let item: serde_json::Value = staff.get(&format!("/api/v1/staff/reviews/{review}")).await.json().await.unwrap();
    assert_eq!(item["status"], "withdrawn");
    assert!(item["decision_reason"].as_str().unwrap().contains("登录"), "{item}");
    let mine: serde_json::Value = app.get("/api/v1/me/contact-changes").await.json().await.unwrap();
    assert!(mine["pending"].is_null());
    // Another account's request is not this holder's to withdraw.
    let other = app.another_client();
    let stranger = other.register_as("resident_id").await;
    let recovery = other.recovery_for(&stranger.doc).await;
    let theirs = other.email_change(&recovery, "11223344@qq.com").await;
    let res = app.post(&format!("/api/v1/me/contact-changes/{theirs}/withdrawal"), &serde_json::json!({})).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

/// Item 10: readiness proves a write. With the SQLite files made immutable (the probe's
/// `chattr +i`), `/readyz` answers 503 while reads still work; afterwards every request works
/// again (no "begin_with at non-zero transaction depth" from a poisoned pooled connection).
#[tokio::test]
async fn readiness_proves_a_write_and_recovers() {
    if is_postgres() {
        return; // file attributes are SQLite's failure mode; the write probe itself is shared
    }
    let app = spawn_app().await;
    let who = app.register_as("resident_id").await;
    assert_eq!(app.get("/readyz").await.status(), StatusCode::OK);
    let path = app.database_url.trim_start_matches("sqlite://").to_owned();
    // Not the -shm file: it is memory-mapped, and a write to an immutable mapping is SIGBUS.
    let files: Vec<String> = ["", "-wal"].iter().map(|s| format!("{path}{s}")).filter(|f| std::path::Path::new(f).exists()).collect();
    let chattr = |flag: &str| {
        files.iter().all(|f| std::process::Command::new("chattr").arg(flag).arg(f).status().is_ok_and(|s| s.success()))
    };
    if !chattr("+i") {
        chattr("-i");
        eprintln!("skipped: chattr +i is not available here (not root, or the filesystem has no immutable flag)");
        return;
    }
    let during = app.get("/readyz").await.status();
    // A write fails meanwhile (a captcha challenge is a row).
    let refused = app.post("/api/v1/captchas", &serde_json::json!({ "purpose": "sms" })).await.status();
    assert!(chattr("-i"), "chattr -i");
    assert_eq!(during, StatusCode::SERVICE_UNAVAILABLE, "readiness must fail while writes fail");
    assert!(refused.is_server_error(), "{refused}");
    // After recovery: ready again within moments (a connection that saw the failure may refuse
    // one more write while SQLite recovers its WAL; the next probe passes), and then every
    // request works, more than the pool has connections.
    let mut ready = false;
    for _ in 0..50 {
        if app.get("/readyz").await.status() == StatusCode::OK {
            ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(ready, "/readyz stayed 503 for 5 s after the files became writable again");
    for _ in 0..12 {
        let res = app.login(&who.doc, PASSWORD, "certification").await;
        assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap_or_default());
    }
}

/// Item 9: in production a reviewer on the printed initial password reaches nothing but the
/// password change (API 403 `password_change_required`, pages redirect there); afterwards all.
#[tokio::test]
async fn staff_on_the_initial_password_only_change_it_in_production() {
    let (url, dir) = fresh_database().await;
    let app = spawn_with(production_config(&url), dir).await;
    let added = jszg::flows::staff::add(&app.app, "rev1", jszg::flows::staff::Role::Reviewer).await.expect("add");
    let totp = jszg::adapters::totp::code_at(&crate::reviews::base32_decode(&added.totp_secret), app.app.clock.unix());
    let staff = app.another_client();
    let res = staff.post("/api/v1/staff/sessions", &serde_json::json!({ "username": "rev1", "password": added.password, "totp": totp })).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<serde_json::Value>().await.unwrap()["must_change_password"], true);
    for path in ["/api/v1/staff/reviews?status=pending", "/api/v1/staff/audit", "/api/v1/staff/reviews/x"] {
        let (status, error) = error_code(staff.get(path).await).await;
        assert_eq!((status, error["code"].as_str()), (StatusCode::FORBIDDEN, Some("password_change_required")), "{path}");
    }
    let res = staff.post("/api/v1/staff/reviews/x/decision", &serde_json::json!({ "approve": true })).await;
    assert_eq!(error_code(res).await.1["code"], "password_change_required");
    let page = staff.client.get(staff.url("/staff")).send().await.unwrap();
    assert!(page.url().path().ends_with("/staff/password"), "the console sends to the password change: {}", page.url());
    let res = staff
        .post("/api/v1/staff/password", &serde_json::json!({ "current_password": added.password, "new_password": "Reviewer#2026new" }))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(staff.get("/api/v1/staff/reviews?status=pending").await.status(), StatusCode::OK);
}

/// Item 11: the smaller findings.
#[tokio::test]
async fn the_smaller_findings_of_the_probe() {
    let app = spawn_app().await;
    let who = app.applicant().await;
    let host = app.base.trim_start_matches("http://").to_owned();

    // The CSRF origin check counts the scheme: https://host is not the site served at http://host.
    for (origin, expected) in [(format!("https://{host}"), StatusCode::FORBIDDEN), (format!("http://{host}"), StatusCode::OK)] {
        let res = app.client.put(app.url("/api/v1/me/profile")).header("origin", origin.as_str()).json(&serde_json::json!({ "ethnicity": "01" })).send().await.unwrap();
        assert_eq!(res.status(), expected, "{origin}");
    }

    // Duplicate JSON keys are refused on /me/profile as on the typed bodies.
    let res = app
        .client
        .put(app.url("/api/v1/me/profile"))
        .header("content-type", "application/json")
        .body(r#"{"ethnicity": "01", "ethnicity": "02"}"#)
        .send()
        .await
        .unwrap();
    let (status, error) = error_code(res).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_request")));
    let nested = r#"{"doc_type": "resident_id", "validity": {"period": "20y", "period": "long"}}"#;
    let res = app.client.post(app.url("/api/v1/accounts")).header("content-type", "application/json").body(nested).send().await.unwrap();
    assert_eq!(error_code(res).await.1["code"], "invalid_request", "nested duplicates too");

    // A 10 GB Content-Length is refused at once with 413, not after the body deadline.
    let started = Instant::now();
    let mut stream = tokio::net::TcpStream::connect(&host).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream
        .write_all(format!("POST /api/v1/sessions HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: 10737418240\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut answer = vec![0u8; 512];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut answer)).await.expect("an answer within 5 s").unwrap();
    assert!(String::from_utf8_lossy(&answer[..n]).starts_with("HTTP/1.1 413"), "{}", String::from_utf8_lossy(&answer[..n]));
    assert!(started.elapsed() < Duration::from_secs(2));

    // A compatibility ideograph is stored as the unified one it is (U+F900 豈 → U+8C48 豈).
    let phone = phone();
    let code = app.sms_code(&phone).await;
    let mut body = form(&resident_id(date("1990-01-01")), &phone, &code);
    body["name"] = serde_json::json!("王\u{F900}");
    let res = app.register(&body).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(res.json::<serde_json::Value>().await.unwrap()["account"]["name"], "王\u{8C48}");
    let _ = who;
}

/// Item 11: the production OpenAPI document lists only what production serves.
#[tokio::test]
async fn the_production_openapi_document_has_no_development_endpoints() {
    let dev = spawn_app().await;
    let doc: serde_json::Value = dev.get("/api/v1/openapi.json").await.json().await.unwrap();
    assert!(doc["paths"].get("/api/v1/dev/outbox").is_some(), "development lists them");
    let (url, dir) = fresh_database().await;
    let app = spawn_with(production_config(&url), dir).await;
    let doc: serde_json::Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    let paths: Vec<&String> = doc["paths"].as_object().unwrap().keys().collect();
    assert!(paths.iter().all(|p| !p.starts_with("/api/v1/dev/")), "{paths:?}");
    assert!(paths.iter().any(|p| p.as_str() == "/api/v1/accounts"));
    assert!(doc["tags"].as_array().unwrap().iter().all(|t| t["name"] != "dev"));
}
