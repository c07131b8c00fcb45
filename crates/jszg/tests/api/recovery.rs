//! 忘记密码 (REC-1..4), contact change requests (CC-1..3) and the legacy import.

use reqwest::StatusCode;
use serde_json::{json, Value};

use jszg::flows::staff::Role;

use crate::helpers::*;

async fn start(api: &Api, doc_type: &str, doc: &str, name: &str) -> reqwest::Response {
    let token = api.captcha_token("recovery").await;
    api.post("/api/v1/recoveries", &json!({ "doc_type": doc_type, "doc_number": doc, "name": name, "captcha_token": token })).await
}

async fn recovery_id(api: &Api, doc: &str) -> String {
    let res = start(api, "resident_id", doc, "张三").await;
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
}

fn link_token(body: &str) -> String {
    let at = body.find("/reset/").expect("a reset link");
    body[at + 7..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect()
}

async fn reset(api: &Api, token: &str, password: &str) -> reqwest::Response {
    api.post("/api/v1/password-resets", &json!({ "token": token, "new_password": password, "new_password_confirm": password })).await
}

#[tokio::test]
async fn step_one_shows_the_methods_with_masked_targets() {
    let app = spawn_app().await;
    let who = app.register_as("resident_id").await;
    let res = start(&app, "resident_id", &who.doc, "张三").await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body["methods"],
        json!([
            { "method": "email", "target": "1*****@qq.com" },
            { "method": "sms", "target": format!("{}*****{}", &who.phone[..3], &who.phone[9..]) }
        ])
    );
    // The captcha is required and must be a recovery one.
    let res = app.post("/api/v1/recoveries", &json!({ "doc_type": "resident_id", "doc_number": who.doc, "name": "张三" })).await;
    assert_eq!(error_code(res).await.1["code"], "captcha_required");
}

#[tokio::test]
async fn any_mismatch_gives_one_neutral_answer() {
    let app = spawn_app().await;
    let who = app.register_as("resident_id").await;
    let answers = [
        error_code(start(&app, "resident_id", &who.doc, "李四").await).await,
        error_code(start(&app, "resident_id", &resident_id(date("1990-01-01")), "张三").await).await,
        error_code(start(&app, "hk_mo_permit", "H12345678", "张三").await).await,
        error_code(start(&app, "resident_id", "garbage", "张三").await).await,
    ];
    for answer in &answers {
        assert_eq!(answer.0, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(answer, &answers[0]);
    }
    assert_eq!(answers[0].1["code"], "identity_mismatch");
}

#[tokio::test]
async fn an_email_link_resets_once_and_ends_every_session() {
    let app = spawn_app().await;
    let who = app.register_as("resident_id").await;
    let other = app.another_client();
    assert_eq!(other.login(&who.doc, PASSWORD, "renewal").await.status(), StatusCode::OK);
    let id = recovery_id(&app, &who.doc).await;
    assert_eq!(app.post(&format!("/api/v1/recoveries/{id}/email"), &json!({})).await.status(), StatusCode::ACCEPTED);
    let mail = &app.outbox("123456@qq.com").await[0];
    assert_eq!(mail["channel"], "email");
    let token = link_token(mail["body"].as_str().unwrap());
    assert!(token.len() >= 22, "at least 128 bits");
    // Weak passwords are refused without spending the link.
    assert_eq!(error_code(reset(&app, &token, "weak").await).await.1["code"], "weak_password");
    assert_eq!(reset(&app, &token, "Reset#2026x").await.status(), StatusCode::NO_CONTENT);
    let (status, error) = error_code(reset(&app, &token, "Reset#2026y").await).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::GONE, Some("token_invalid")));
    // REC-3: the other browser is signed out; the new password works.
    assert_eq!(other.get("/api/v1/me").await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(other.login(&who.doc, PASSWORD, "renewal").await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(other.login(&who.doc, "Reset#2026x", "renewal").await.status(), StatusCode::OK);
    assert_eq!(error_code(reset(&app, "made-up", "Reset#2026y").await).await.1["code"], "token_invalid");
}

#[tokio::test]
async fn a_link_expires_after_24_hours() {
    let app = spawn_app().await;
    let who = app.register_as("resident_id").await;
    let id = recovery_id(&app, &who.doc).await;
    app.post(&format!("/api/v1/recoveries/{id}/email"), &json!({})).await;
    let token = link_token(app.outbox("123456@qq.com").await[0]["body"].as_str().unwrap());
    // The link opens a form while it is live…
    assert!(app.get(&format!("/reset/{token}")).await.status().is_success());
    app.advance_clock(24 * 3600 + 1).await;
    // …and, past 24 hours, a clear expired answer.
    let (status, error) = error_code(reset(&app, &token, "Reset#2026x").await).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::GONE, Some("token_invalid")));
    assert!(error["message"].as_str().unwrap().contains("24小时"));
}

#[tokio::test]
async fn an_sms_code_resets_the_password() {
    let app = spawn_app().await;
    let who = app.register_as("resident_id").await;
    let id = recovery_id(&app, &who.doc).await;
    assert_eq!(app.post(&format!("/api/v1/recoveries/{id}/sms-code"), &json!({})).await.status(), StatusCode::ACCEPTED);
    let code = app.last_code(&who.phone).await;
    let body = |code: &str| json!({ "code": code, "new_password": "Sms#2026reset", "new_password_confirm": "Sms#2026reset" });
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let (status, error) = error_code(app.post(&format!("/api/v1/recoveries/{id}/sms"), &body(wrong)).await).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_verification_code")));
    assert_eq!(app.post(&format!("/api/v1/recoveries/{id}/sms"), &body(&code)).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.login(&who.doc, "Sms#2026reset", "certification").await.status(), StatusCode::OK);
    // The SMS quota is shared with registration: the phone already had one today.
    let id = recovery_id(&app, &who.doc).await;
    assert_eq!(app.post(&format!("/api/v1/recoveries/{id}/sms-code"), &json!({})).await.status(), StatusCode::ACCEPTED);
    let (status, error) = error_code(app.post(&format!("/api/v1/recoveries/{id}/sms-code"), &json!({})).await).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("daily_limit")));
}

const LEGACY_HASH_PASSWORD: &str = "Legacy#2018";

fn legacy_csv(rows: &[String]) -> String {
    let mut out = String::from("doc_type,doc_number,name,password_hash_or_empty,email,phone,registered_at\n");
    for row in rows {
        out.push_str(row);
        out.push('\n');
    }
    out
}

#[tokio::test]
async fn the_import_keeps_good_rows_reports_bad_ones_and_is_idempotent() {
    let app = spawn_app().await;
    let bcrypt = bcrypt::hash(LEGACY_HASH_PASSWORD, 4).unwrap();
    let good_legacy = resident_id(date("1970-05-05"));
    let good_recent = resident_id(date("1980-06-06"));
    let taken = app.register_as("resident_id").await;
    let csv = legacy_csv(&[
        format!("resident_id,{good_legacy},王五,{bcrypt},777777@qq.com,13900000000,2015-06-01T08:00:00+08:00"),
        format!("resident_id,{good_recent},赵六,,,,2020-01-01T00:00:00Z"),
        "resident_id,110105197005050000,坏号码,,,,2015-06-01T08:00:00+08:00".into(),
        format!("resident_id,{},重复,,,,2015-06-01T08:00:00+08:00", taken.doc),
        format!("resident_id,{},坏日期,,,,June 2015", resident_id(date("1975-01-01"))),
        "hk_mo_permit,H87654321,陈大文,,not-an-email,,2016-03-03T00:00:00+08:00".to_owned(),
        format!("resident_id,{},坏哈希,md5:abc,,,2015-06-01T08:00:00+08:00", resident_id(date("1976-01-01"))),
    ]);
    let first = jszg::flows::import::import(&app.app, csv.as_bytes()).await.unwrap();
    assert_eq!(first.imported, 3, "{first:?}");
    let refused: Vec<usize> = first.refused.iter().map(|(line, _)| *line).collect();
    assert_eq!(refused, vec![4, 5, 6, 8], "{first:?}");
    assert!(first.refused[0].1.contains("bad number"));
    assert!(first.refused[1].1.contains("duplicate"));
    assert!(first.refused[2].1.contains("bad date"));
    assert!(first.refused[3].1.contains("hash"));
    assert_eq!(first.notes.len(), 1, "the bad email is left out, the account kept");
    let again = jszg::flows::import::import(&app.app, csv.as_bytes()).await.unwrap();
    assert_eq!((again.imported, again.already), (0, 3));

    // A legacy account cannot reset (REC-1)…
    let (status, error) = error_code(start(&app, "resident_id", &good_legacy, "王五").await).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::CONFLICT, Some("legacy_account")));
    assert!(error["message"].as_str().unwrap().contains("重新注册"));
    // …but its bcrypt password works and is upgraded to argon2id.
    assert_eq!(app.login(&good_legacy, LEGACY_HASH_PASSWORD, "certification").await.status(), StatusCode::OK);
    let stored: String = jszg::db_run!(&app.app.db, pool => sqlx::query_scalar("SELECT password_hash FROM accounts WHERE name = '王五'").fetch_one(pool).await.unwrap());
    assert!(stored.starts_with("$argon2id$"));
    assert_eq!(app.another_client().login(&good_legacy, LEGACY_HASH_PASSWORD, "certification").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn registering_a_legacy_number_again_supersedes_the_old_account() {
    let app = spawn_app().await;
    let doc = resident_id(date("1985-03-15"));
    let bcrypt = bcrypt::hash(LEGACY_HASH_PASSWORD, 4).unwrap();
    let csv = legacy_csv(&[format!("resident_id,{doc},张三,{bcrypt},,,2016-01-01T00:00:00+08:00")]);
    assert_eq!(jszg::flows::import::import(&app.app, csv.as_bytes()).await.unwrap().imported, 1);
    let phone = phone();
    let code = app.sms_code(&phone).await;
    let res = app.register(&form(&doc, &phone, &code)).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    // The old password is dead, the new one works, and both rows remain.
    assert_eq!(app.login(&doc, LEGACY_HASH_PASSWORD, "certification").await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.login(&doc, PASSWORD, "certification").await.status(), StatusCode::OK);
    let (live, archived): (i64, i64) = jszg::db_run!(&app.app.db, pool => sqlx::query_as(
        "SELECT SUM(CASE WHEN archived_at IS NULL THEN 1 ELSE 0 END), SUM(CASE WHEN archived_at IS NULL THEN 0 ELSE 1 END) FROM accounts"
    ).fetch_one(pool).await.unwrap());
    assert_eq!((live, archived), (1, 1));
    // A modern account is never superseded.
    let code = app.sms_code(&phone).await;
    assert_eq!(error_code(app.register(&form(&doc, &phone, &code)).await).await.1["code"], "account_exists");
}

async fn email_code(api: &Api, email: &str) -> String {
    let token = api.captcha_token("email").await;
    let res = api
        .post(
            "/api/v1/verification-codes",
            &json!({ "channel": "email", "email": email, "purpose": "contact_change", "captcha_token": token }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    api.last_code(email).await
}

fn change_form(kind: &str, value: &str, code: &str) -> reqwest::multipart::Form {
    reqwest::multipart::Form::new()
        .text("kind", kind.to_owned())
        .text("new_value", value.to_owned())
        .text("verification_code", code.to_owned())
        .text("reason", "原邮箱已停用")
        .part("handheld", part(jpeg(300, 400, false), "handheld.jpg"))
}

async fn request_change(api: &Api, id: &str, form: reqwest::multipart::Form) -> reqwest::Response {
    api.client.post(api.url(&format!("/api/v1/recoveries/{id}/contact-changes"))).multipart(form).send().await.unwrap()
}

#[tokio::test]
async fn an_approved_email_change_mails_a_working_link_to_the_new_address() {
    let app = spawn_app().await;
    let who = app.register_as("resident_id").await;
    let id = recovery_id(&app, &who.doc).await;
    let code = email_code(&app, "88888@qq.com").await;
    let res = request_change(&app, &id, change_form("email", "88888@qq.com", &code)).await;
    assert_eq!(res.status(), StatusCode::CREATED, "{}", res.text().await.unwrap_or_default());
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "pending");
    let due = jszg_domain::parse_date(body["due_date"].as_str().unwrap()).unwrap();
    assert_eq!(due, app.app.calendar.add_working_days(app.app.clock.today(), 1));
    // CC-2: one request at a time.
    let code = email_code(&app, "99999@qq.com").await;
    let (status, error) = error_code(request_change(&app, &id, change_form("email", "99999@qq.com", &code)).await).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::CONFLICT, Some("change_pending")));

    let staff = app.staff("rev1", Role::Reviewer).await;
    let queue: Vec<Value> = staff.get("/api/v1/staff/reviews?kind=contact_change").await.json().await.unwrap();
    assert_eq!(queue.len(), 1);
    let item = queue[0]["id"].as_str().unwrap();
    let detail: Value = staff.get(&format!("/api/v1/staff/reviews/{item}")).await.json().await.unwrap();
    assert_eq!(detail["submitted"]["new_value"], "88888@qq.com");
    assert_eq!(staff.post(&format!("/api/v1/staff/reviews/{item}/decision"), &json!({ "approve": true })).await.status(), StatusCode::OK);

    let mail = &app.outbox("88888@qq.com").await[0];
    assert!(mail["body"].as_str().unwrap().contains("审核通过"));
    let token = link_token(mail["body"].as_str().unwrap());
    assert_eq!(reset(&app, &token, "Changed#2026").await.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.login(&who.doc, "Changed#2026", "certification").await.status(), StatusCode::OK);
    let me: Value = app.get("/api/v1/me").await.json().await.unwrap();
    assert_eq!(me["email_masked"], "8*****@qq.com");
}

#[tokio::test]
async fn a_rejected_phone_change_tells_the_new_phone_why() {
    let app = spawn_app().await;
    let who = app.register_as("resident_id").await;
    let id = recovery_id(&app, &who.doc).await;
    let new_phone = phone();
    assert_eq!(app.request_sms(&new_phone, "contact_change").await.status(), StatusCode::ACCEPTED);
    let code = app.last_code(&new_phone).await;
    // Photos follow the manual-review rules.
    let mut bad = change_form("phone", &new_phone, &code);
    bad = bad.part("handheld", part(png(300, 300), "x.jpg"));
    let (_, error) = error_code(request_change(&app, &id, bad).await).await;
    assert_eq!((error["code"].as_str(), error["field"].as_str()), (Some("invalid_photo"), Some("handheld")));
    assert_eq!(request_change(&app, &id, change_form("phone", &new_phone, &code)).await.status(), StatusCode::CREATED);
    let staff = app.staff("rev1", Role::Reviewer).await;
    let queue: Vec<Value> = staff.get("/api/v1/staff/reviews?kind=contact_change").await.json().await.unwrap();
    let item = queue[0]["id"].as_str().unwrap();
    let res = staff.post(&format!("/api/v1/staff/reviews/{item}/decision"), &json!({ "approve": false, "reason": "照片不清晰" })).await;
    assert_eq!(res.status(), StatusCode::OK);
    let sms = &app.outbox(&new_phone).await[0];
    assert!(sms["body"].as_str().unwrap().contains("不通过原因：照片不清晰"));
    // Nothing changed on the account.
    app.login(&who.doc, PASSWORD, "certification").await;
    let me: Value = app.get("/api/v1/me").await.json().await.unwrap();
    assert_eq!(me["phone_masked"], format!("{}*****{}", &who.phone[..3], &who.phone[9..]));
}

#[tokio::test]
async fn an_enrolled_applicant_must_log_in_to_change_contacts() {
    let app = spawn_app().await;
    let who = app.register_as("resident_id").await;
    let secret = jszg::flows::enrollment::rotate_secret(&app.app, jszg::flows::applicant::Entry::Renewal).await.unwrap();
    let res =
        app.client.put(app.url(&format!("/api/v1/service/enrollments/renewal/{}", who.doc))).bearer_auth(&secret).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let id = recovery_id(&app, &who.doc).await;
    let new_phone = phone();
    app.request_sms(&new_phone, "contact_change").await;
    let code = app.last_code(&new_phone).await;
    let (status, error) = error_code(request_change(&app, &id, change_form("phone", &new_phone, &code)).await).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::CONFLICT, Some("enrolled_must_login")));
}

/// Step 1 is throttled like login: mismatches per document number and per source address.
#[tokio::test]
async fn step_one_mismatches_are_limited_per_number_and_per_address() {
    let app = spawn_app().await;
    let who = app.register_as("resident_id").await;
    let limits = app.app.config.recovery.clone();
    for _ in 0..limits.number_limit {
        assert_eq!(error_code(start(&app, "resident_id", &who.doc, "李四").await).await.1["code"], "identity_mismatch");
    }
    // Now even the right name waits, with retry_after.
    let (status, error) = error_code(start(&app, "resident_id", &who.doc, "张三").await).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("too_many_attempts")));
    assert!((1..=limits.window_secs).contains(&error["retry_after"].as_i64().unwrap()), "{error}");
    assert!(error["message"].as_str().unwrap().contains("分钟"));
    // Other numbers from this address go on until the address limit.
    for i in limits.number_limit..limits.address_limit {
        let other = resident_id(date(&format!("19{:02}-02-03", 50 + i)));
        assert_eq!(error_code(start(&app, "resident_id", &other, "王五").await).await.1["code"], "identity_mismatch", "try {i}");
    }
    let fresh = resident_id(date("1977-07-07"));
    let (status, error) = error_code(start(&app, "resident_id", &fresh, "王五").await).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("too_many_attempts")));
    // After the window, the right answer passes.
    app.advance_clock(limits.window_secs + 1).await;
    assert_eq!(start(&app, "resident_id", &who.doc, "张三").await.status(), StatusCode::CREATED);
}

/// Pages second pass, item 11: a pending contact change is said when 忘记密码 starts, before
/// any form, slider or code; and staff are not offered 民族错误 to refuse one.
#[tokio::test]
async fn a_pending_contact_change_is_said_at_the_start_and_staff_get_fitting_reasons() {
    let app = spawn_app().await;
    let who = app.applicant().await;
    let start = |app: &TestApp| {
        let (app, doc) = (app.another_client(), who.doc.clone());
        async move {
            let token = app.captcha_token("recovery").await;
            let res = app
                .post("/api/v1/recoveries", &json!({ "doc_type": "resident_id", "doc_number": doc, "name": "张三", "captcha_token": token }))
                .await;
            assert_eq!(res.status(), StatusCode::CREATED);
            res.json::<Value>().await.unwrap()
        }
    };
    assert_eq!(start(&app).await["contact_change_pending"], false);
    let recovery = app.recovery_for(&who.doc).await;
    let id = app.email_change(&recovery, "66666@qq.com").await;
    assert_eq!(start(&app).await["contact_change_pending"], true);

    let staff = app.staff("rev1", jszg::flows::staff::Role::Reviewer).await;
    let detail: Value = staff.get(&format!("/api/v1/staff/reviews/{id}")).await.json().await.unwrap();
    let reasons = detail["common_reasons"].as_array().unwrap();
    assert!(!reasons.is_empty());
    assert!(!reasons.iter().any(|r| r == "民族错误"), "{reasons:?}");
}
