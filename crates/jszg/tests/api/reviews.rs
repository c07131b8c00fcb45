//! 人工审核 (MR-1..6) and the staff console (STAFF-1..5).

use reqwest::StatusCode;
use serde_json::{json, Value};

use jszg::flows::staff::Role;

use crate::helpers::*;

async fn me(api: &Api) -> Value {
    api.get("/api/v1/me").await.json().await.unwrap()
}

async fn pending_id(staff: &Api) -> String {
    let queue: Vec<Value> = staff.get("/api/v1/staff/reviews?kind=identity&status=pending").await.json().await.unwrap();
    queue.first().and_then(|i| i["id"].as_str()).expect("a pending item").to_owned()
}

async fn decide(staff: &Api, id: &str, body: Value) -> reqwest::Response {
    staff.post(&format!("/api/v1/staff/reviews/{id}/decision"), &body).await
}

#[tokio::test]
async fn an_application_is_queued_with_a_due_date_and_locks_the_profile() {
    let app = spawn_app().await;
    app.applicant().await;
    let res = app.submit_review(review_form("张三")).await;
    assert_eq!(res.status(), StatusCode::CREATED, "{}", res.text().await.unwrap_or_default());
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "pending");
    assert_eq!(body["remaining_in_period"], 2);
    let due = jszg_domain::parse_date(body["due_date"].as_str().unwrap()).unwrap();
    assert_eq!(due, app.app.calendar.add_working_days(app.app.clock.today(), 7));
    let status = me(&app).await;
    assert_eq!(status["realname"]["status"], "review_pending");
    assert_eq!(status["realname"]["review"]["due_date"], body["due_date"]);

    // MR-4: nothing can change while it is pending.
    let (s, e) = error_code(app.post("/api/v1/me/realname", &json!({})).await).await;
    assert_eq!((s, e["code"].as_str()), (StatusCode::CONFLICT, Some("review_pending")));
    let (s, e) = error_code(app.put_json("/api/v1/me/profile", &json!({ "ethnicity": "02" })).await).await;
    assert_eq!((s, e["code"].as_str()), (StatusCode::CONFLICT, Some("review_pending")));
    let (s, e) = error_code(app.submit_review(review_form("张三")).await).await;
    assert_eq!((s, e["code"].as_str()), (StatusCode::CONFLICT, Some("review_pending")));
    let (s, e) = error_code(app.post("/api/v1/me/phone", &json!({ "phone": phone(), "verification_code": "123456" })).await).await;
    assert_eq!((s, e["code"].as_str()), (StatusCode::CONFLICT, Some("review_pending")));
    assert_eq!(me(&app).await["ethnicity"], "01");
}

#[tokio::test]
async fn photos_must_be_real_jpegs_under_190_kb() {
    let app = spawn_app().await;
    app.applicant().await;
    let big = {
        let mut b = jpeg(700, 500, true);
        while b.len() < 191 * 1024 {
            b = jpeg(900, 700, true);
        }
        b
    };
    let mut truncated = jpeg(320, 200, false);
    truncated.truncate(truncated.len() / 2);
    for (slot, bytes, label) in [
        ("front", png(320, 200), "a PNG renamed .jpg"),
        ("back", truncated, "a truncated JPEG"),
        ("handheld", big, "a 191 KB JPEG"),
        ("front", b"not an image at all".to_vec(), "text"),
        ("back", Vec::new(), "an empty file"),
    ] {
        let form = reqwest::multipart::Form::new()
            .text("validity_period", "20y")
            .text("validity_start", "2020-05-01")
            .text("name", "张三")
            .text("reason", "信息无误")
            .part("front", part(if slot == "front" { bytes.clone() } else { jpeg(320, 200, false) }, "a.jpg"))
            .part("back", part(if slot == "back" { bytes.clone() } else { jpeg(320, 200, false) }, "b.jpg"))
            .part("handheld", part(if slot == "handheld" { bytes.clone() } else { jpeg(320, 200, false) }, "c.jpg"));
        let (status, error) = error_code(app.submit_review(form).await).await;
        assert_eq!(
            (status, error["code"].as_str(), error["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_photo"), Some(slot)),
            "{label}"
        );
    }
    // None of them cost an application.
    let res = app.submit_review(review_form("张三")).await;
    assert_eq!(res.json::<Value>().await.unwrap()["remaining_in_period"], 2);
}

#[tokio::test]
async fn approval_unlocks_business_and_survives_a_failed_self_check() {
    let app = spawn_app().await;
    let who = app.applicant().await;
    assert_eq!(app.submit_review(review_form("张三")).await.status(), StatusCode::CREATED);
    let staff = app.staff("rev1", Role::Reviewer).await;
    let id = pending_id(&staff).await;
    let detail: Value = staff.get(&format!("/api/v1/staff/reviews/{id}")).await.json().await.unwrap();
    assert_eq!(detail["submitted"]["name"], "张三");
    assert_eq!(detail["profile"]["doc_number_masked"], format!("{}*****{}", &who.doc[..2], &who.doc[16..]));
    assert_eq!(detail["photos"], json!(["front", "back", "handheld"]));
    assert!(detail["common_reasons"].as_array().unwrap().iter().any(|r| r == "民族错误"));
    let photo = staff.get(&format!("/api/v1/staff/reviews/{id}/photos/front")).await;
    assert_eq!(photo.headers().get("content-type").unwrap(), "image/jpeg");
    assert!(photo.bytes().await.unwrap().starts_with(&[0xFF, 0xD8]));

    assert_eq!(decide(&staff, &id, json!({ "approve": true })).await.status(), StatusCode::OK);
    let status = me(&app).await;
    assert_eq!(status["realname"]["status"], "review_approved");
    assert_eq!(app.get("/api/v1/entries/certification").await.status(), StatusCode::OK);
    // The applicant is told by SMS.
    let sms = app.outbox(&who.phone).await;
    assert!(sms[0]["body"].as_str().unwrap().contains("人工审核已通过"));
    // MR-5: a later failed self-check changes nothing.
    let (_, error) = error_code(app.post("/api/v1/me/realname", &json!({})).await).await;
    assert_eq!(error["code"], "realname_failed");
    assert_eq!(me(&app).await["realname"]["status"], "review_approved");
    assert_eq!(app.get("/api/v1/entries/certification").await.status(), StatusCode::OK);
    // A later successful one updates the status.
    app.post("/api/v1/dev/identities", &json!({ "doc_type": "resident_id", "doc_number": who.doc, "name": "张三" })).await;
    assert_eq!(app.post("/api/v1/me/realname", &json!({})).await.status(), StatusCode::OK);
    assert_eq!(me(&app).await["realname"]["status"], "verified");
}

#[tokio::test]
async fn a_rejection_gives_its_reason_and_allows_a_new_application() {
    let app = spawn_app().await;
    let who = app.applicant().await;
    app.submit_review(review_form("张三")).await;
    let staff = app.staff("rev1", Role::Reviewer).await;
    let id = pending_id(&staff).await;
    let (status, error) = error_code(decide(&staff, &id, json!({ "approve": false })).await).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_reason")));
    // A mistyped decision is refused, never read as one way or the other.
    for body in [json!({ "approve": "yes" }), json!({ "approve": 1 }), json!({ "approve": false, "reason": 5 })] {
        let (status, error) = error_code(decide(&staff, &id, body.clone()).await).await;
        assert_eq!((status, error["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_request")), "{body}");
    }
    assert_eq!(decide(&staff, &id, json!({ "approve": false, "reason": "民族错误" })).await.status(), StatusCode::OK);
    let status = me(&app).await;
    assert_eq!(status["realname"]["status"], "review_rejected");
    assert_eq!(status["realname"]["review"]["decision_reason"], "民族错误");
    assert!(app.outbox(&who.phone).await[0]["body"].as_str().unwrap().contains("不通过原因：民族错误"));
    // Corrected and sent again; the history shows the first one.
    assert_eq!(app.put_json("/api/v1/me/profile", &json!({ "ethnicity": "02" })).await.status(), StatusCode::OK);
    let res = app.submit_review(review_form("张三")).await;
    assert_eq!(res.json::<Value>().await.unwrap()["remaining_in_period"], 1);
    let second = pending_id(&staff).await;
    let detail: Value = staff.get(&format!("/api/v1/staff/reviews/{second}")).await.json().await.unwrap();
    assert_eq!(detail["history"][0]["decision_reason"], "民族错误");
}

#[tokio::test]
async fn three_applications_per_period_across_the_september_boundary() {
    let app = spawn_app().await;
    // Move to 30 August of the next year (Beijing time).
    let today = app.app.clock.today();
    let target = time::Date::from_calendar_date(today.year() + 1, time::Month::August, 30).unwrap();
    app.advance_clock((target - today).whole_seconds()).await;
    let staff = app.staff("rev1", Role::Reviewer).await;
    let who = app.applicant().await;
    for left in [2, 1, 0] {
        let res = app.submit_review(review_form("张三")).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        assert_eq!(res.json::<Value>().await.unwrap()["remaining_in_period"], left);
        let id = pending_id(&staff).await;
        assert_eq!(decide(&staff, &id, json!({ "approve": false, "reason": "照片不清晰" })).await.status(), StatusCode::OK);
    }
    app.advance_clock(86_400).await; // 31 August: same period
    app.login(&who.doc, PASSWORD, "certification").await;
    let (status, error) = error_code(app.submit_review(review_form("张三")).await).await;
    assert_eq!((status, error["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("period_limit")));
    app.advance_clock(86_400).await; // 1 September: a new period
    app.login(&who.doc, PASSWORD, "certification").await;
    let res = app.submit_review(review_form("张三")).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(res.json::<Value>().await.unwrap()["remaining_in_period"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_reviewers_racing_one_decision_stands() {
    let app = spawn_app().await;
    app.applicant().await;
    app.submit_review(review_form("张三")).await;
    let a = app.staff("rev1", Role::Reviewer).await;
    let b = app.staff("rev2", Role::Reviewer).await;
    let id = pending_id(&a).await;
    for _ in 0..1 {
        let (ra, rb) = tokio::join!(
            decide(&a, &id, json!({ "approve": true })),
            decide(&b, &id, json!({ "approve": false, "reason": "照片旋转或镜像" }))
        );
        let mut statuses = [ra.status(), rb.status()];
        statuses.sort();
        assert_eq!(statuses, [StatusCode::OK, StatusCode::CONFLICT]);
        let loser = if ra.status() == StatusCode::CONFLICT { ra } else { rb };
        assert_eq!(error_code(loser).await.1["code"], "already_decided");
    }
    let status = me(&app).await["realname"]["status"].clone();
    assert!(status == "review_approved" || status == "review_rejected");
    assert_eq!(error_code(decide(&a, &id, json!({ "approve": true })).await).await.1["code"], "already_decided");
}

#[tokio::test]
async fn decisions_and_photo_views_are_audited_for_admins() {
    let app = spawn_app().await;
    let who = app.applicant().await;
    app.submit_review(review_form("张三")).await;
    let reviewer = app.staff("rev1", Role::Reviewer).await;
    let admin = app.staff("boss", Role::Admin).await;
    let id = pending_id(&reviewer).await;
    reviewer.get(&format!("/api/v1/staff/reviews/{id}/photos/handheld")).await;
    decide(&reviewer, &id, json!({ "approve": true })).await;

    assert_eq!(reviewer.get("/api/v1/staff/audit").await.status(), StatusCode::FORBIDDEN);
    let by_applicant: Vec<Value> = admin
        .client
        .get(admin.url("/api/v1/staff/audit"))
        .query(&[("account", who.doc.as_str())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let actions: Vec<&str> = by_applicant.iter().filter_map(|e| e["action"].as_str()).collect();
    for expected in ["identity_review_submitted", "photo_viewed", "identity_approved", "login"] {
        assert!(actions.contains(&expected), "{expected} in {actions:?}");
    }
    let by_staff: Vec<Value> =
        admin.client.get(admin.url("/api/v1/staff/audit")).query(&[("staff", "rev1")]).send().await.unwrap().json().await.unwrap();
    assert!(by_staff.iter().all(|e| e["actor"] == "rev1"));
    assert!(by_staff.iter().any(|e| e["action"] == "photo_viewed"));
    let future: Vec<Value> = admin
        .client
        .get(admin.url("/api/v1/staff/audit"))
        .query(&[("from", "2099-01-01T00:00:00+08:00")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(future.is_empty());
    // The log is append-only at the database.
    let tampered = jszg::db_run!(&app.app.db, pool => sqlx::query("DELETE FROM audit_log").execute(pool).await.map(|_| ()));
    assert!(tampered.is_err());
}

#[tokio::test]
async fn staff_and_applicant_sessions_do_not_mix() {
    let app = spawn_app().await;
    app.applicant().await;
    // The applicant's session opens no staff path.
    for path in ["/api/v1/staff/reviews", "/api/v1/staff/audit", "/api/v1/staff/reviews/x", "/api/v1/staff/reviews/x/photos/front"] {
        assert_eq!(app.get(path).await.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    assert_eq!(app.post("/api/v1/staff/reviews/x/decision", &json!({ "approve": true })).await.status(), StatusCode::UNAUTHORIZED);
    // A staff session is nobody's applicant session.
    let staff = app.staff("rev1", Role::Reviewer).await;
    assert_eq!(staff.get("/api/v1/me").await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(staff.get("/api/v1/staff/reviews").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn staff_sign_in_checks_the_totp_code() {
    let app = spawn_app().await;
    let created = jszg::flows::staff::add(&app.app, "otp1", Role::Reviewer).await.unwrap();
    assert_eq!(created.password.len(), 16);
    let secret = base32_decode(&created.totp_secret);
    let now = app.app.clock.unix();
    let good = jszg::adapters::totp::code_at(&secret, now);
    let wrong = format!("{:06}", (good.parse::<u32>().unwrap() + 1) % 1_000_000);
    let sign_in = |totp: &str| {
        let body = json!({ "username": "otp1", "password": created.password, "totp": totp });
        let api = app.another_client();
        async move { api.post("/api/v1/staff/sessions", &body).await.status() }
    };
    assert_eq!(sign_in(&wrong).await, StatusCode::UNAUTHORIZED);
    assert_eq!(sign_in(&good).await, StatusCode::OK);
    assert_eq!(sign_in(&good).await, StatusCode::UNAUTHORIZED, "a code is good once");
    let res = app.another_client().post("/api/v1/staff/sessions", &json!({ "username": "otp1", "password": "Wrong#123456" })).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(jszg::flows::staff::add(&app.app, "otp1", Role::Admin).await.is_err(), "usernames are unique");
}

pub fn base32_decode(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0);
    for c in s.bytes() {
        let v = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".iter().position(|x| *x == c).unwrap() as u32;
        buffer = (buffer << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    out
}

#[tokio::test]
async fn the_queue_is_most_urgent_first_and_marks_overdue_items() {
    let app = spawn_app().await;
    let first = app.another_client();
    first.applicant().await;
    first.submit_review(review_form("张三")).await;
    app.advance_clock(3 * 86_400).await;
    let second = app.another_client();
    second.applicant().await;
    second.submit_review(review_form("张三")).await;
    let staff = app.staff("rev1", Role::Reviewer).await;
    let queue: Vec<Value> = staff.get("/api/v1/staff/reviews?kind=identity&status=pending").await.json().await.unwrap();
    assert_eq!(queue.len(), 2);
    assert!(queue[0]["due_date"].as_str() <= queue[1]["due_date"].as_str());
    assert_eq!(queue[0]["overdue"], false);
    app.advance_clock(20 * 86_400).await;
    let staff = app.staff("rev2", Role::Reviewer).await; // the first session idled out
    let queue: Vec<Value> = staff.get("/api/v1/staff/reviews?kind=identity&status=pending").await.json().await.unwrap();
    assert!(queue.iter().all(|i| i["overdue"] == true && i["working_days_left"].as_i64().unwrap() < 0));
    assert_eq!(staff.get("/api/v1/staff/reviews?kind=nonsense").await.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

/// A real JPEG grown to exactly `total` bytes with comment segments (APPn-like filler a
/// camera might write), so its size alone decides.
fn jpeg_of_size(total: usize) -> Vec<u8> {
    let base = jpeg(320, 200, false);
    assert!(base.len() + 4 <= total);
    let mut filler = total - base.len();
    let mut out = base[..2].to_vec();
    while filler > 0 {
        // A segment is FF FE, a 2-byte length counting itself, then the payload.
        let seg = filler.min(65_535 + 2);
        let seg = if filler - seg > 0 && filler - seg < 4 { seg - 4 } else { seg };
        let len = seg - 2;
        out.extend_from_slice(&[0xFF, 0xFE, (len >> 8) as u8, (len & 0xFF) as u8]);
        out.extend(std::iter::repeat_n(b' ', len - 2));
        filler -= seg;
    }
    out.extend_from_slice(&base[2..]);
    assert_eq!(out.len(), total);
    out
}

/// Pages second pass, item 9: sizes are counted as Windows Explorer and phones count them
/// (1 KB = 1,024 bytes). 193,614 bytes shows as 189 KB there, and is accepted.
#[tokio::test]
async fn photo_sizes_count_1024_bytes_to_the_kilobyte() {
    let app = spawn_app().await;
    app.applicant().await;
    let form = |front: Vec<u8>| {
        reqwest::multipart::Form::new()
            .text("validity_period", "20y")
            .text("validity_start", "2020-05-01")
            .text("name", "张三")
            .text("reason", "信息无误")
            .part("front", part(front, "a.jpg"))
            .part("back", part(jpeg(320, 200, false), "b.jpg"))
            .part("handheld", part(jpeg(320, 200, false), "c.jpg"))
    };
    let (status, error) = error_code(app.submit_review(form(jpeg_of_size(190 * 1024))).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["message"], "照片大小为190KB，应小于190KB，请压缩后重新上传。");
    let res = app.submit_review(form(jpeg_of_size(193_614))).await;
    assert_eq!(res.status(), StatusCode::CREATED, "{}", res.text().await.unwrap_or_default());
}

/// Pages second pass, item 1: a reason that ends in 。 is quoted with one 。, in the SMS, on the
/// page and in the stored decision.
#[tokio::test]
async fn a_reason_ending_in_a_full_stop_is_quoted_with_one() {
    let app = spawn_app().await;
    let who = app.applicant().await;
    app.submit_review(review_form("张三")).await;
    let staff = app.staff("rev1", Role::Reviewer).await;
    let id = pending_id(&staff).await;
    let res = decide(&staff, &id, json!({ "approve": false, "reason": "证件照片模糊，请重新拍摄。 " })).await;
    assert_eq!(res.status(), StatusCode::OK);
    let sms = app.outbox(&who.phone).await[0]["body"].as_str().unwrap().to_owned();
    assert!(sms.contains("不通过原因：证件照片模糊，请重新拍摄。请按要求修改后重新提交。"), "{sms}");
    assert!(!sms.contains("。。"), "{sms}");
    assert_eq!(me(&app).await["realname"]["review"]["decision_reason"], "证件照片模糊，请重新拍摄");
    let page = app.get("/me/realname").await.text().await.unwrap();
    assert!(page.contains("不通过原因：证件照片模糊，请重新拍摄。") && !page.contains("。。"));
}

/// Pages second pass, item 5: /me/realname shows the current state. A failed self-check in
/// the morning and an approved review in the afternoon: no red failure box, no attempts
/// count under 人工审核通过; after a successful check, no "还可进行2次" either.
#[tokio::test]
async fn the_realname_tab_shows_the_current_state_not_the_mornings_failure() {
    let app = spawn_app().await;
    let who = app.applicant().await;
    let (_, error) = error_code(app.post("/api/v1/me/realname", &json!({})).await).await;
    assert_eq!(error["code"], "realname_failed");
    let page = app.get("/me/realname").await.text().await.unwrap();
    assert!(page.contains(r#"id="verify-failed">"#), "the failure shows while it is the state");
    assert!(page.contains("今日已进行1次实名认证，未通过，还可进行2次"));

    app.submit_review(review_form("张三")).await;
    let staff = app.staff("rev1", Role::Reviewer).await;
    let id = pending_id(&staff).await;
    assert_eq!(decide(&staff, &id, json!({ "approve": true })).await.status(), StatusCode::OK);
    let page = app.get("/me/realname").await.text().await.unwrap();
    assert!(page.contains("人工审核通过"), "{page}");
    assert!(page.contains(r#"id="verify-failed" hidden>"#), "the morning's failure is history now");
    assert!(!page.contains("您今日提交的姓名与证件信息核验不一致"));
    assert!(!page.contains("还可进行"), "no attempts offered to someone approved");

    app.post("/api/v1/dev/identities", &json!({ "doc_type": "resident_id", "doc_number": who.doc, "name": "张三" })).await;
    assert_eq!(app.post("/api/v1/me/realname", &json!({})).await.status(), StatusCode::OK);
    let page = app.get("/me/realname").await.text().await.unwrap();
    assert!(!page.contains("还可进行"), "verified: another try makes no sense");
}
