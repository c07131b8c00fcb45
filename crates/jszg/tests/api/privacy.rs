//! Personal data life cycle (PRIV-1, PRIV-2): photo retention with the dev
//! clock, sweeping of expired rows, the applicant's export and access log.

use base64::Engine;
use reqwest::StatusCode;
use serde_json::{json, Value};

use jszg::flows::retention;
use jszg::flows::staff::Role;
use jszg::store::retention::count;

use crate::helpers::*;

const DAY: i64 = 86_400;

async fn pending(staff: &Api, kind: &str) -> Vec<String> {
    let queue: Vec<Value> = staff.get(&format!("/api/v1/staff/reviews?kind={kind}&status=pending")).await.json().await.unwrap();
    queue.iter().map(|i| i["id"].as_str().unwrap().to_owned()).collect()
}

async fn detail(staff: &Api, id: &str) -> Value {
    staff.get(&format!("/api/v1/staff/reviews/{id}")).await.json().await.unwrap()
}

async fn photo_rows(app: &TestApp, review: &str) -> i64 {
    let sql = "SELECT COUNT(*) FROM review_photos WHERE review_id = $1";
    match &app.app.db {
        jszg::store::Db::Sqlite(p) => sqlx::query_scalar(sql).bind(review).fetch_one(p).await.unwrap(),
        jszg::store::Db::Postgres(p) => sqlx::query_scalar(sql).bind(review).fetch_one(p).await.unwrap(),
    }
}

#[tokio::test]
async fn photos_are_deleted_after_the_retention_period_and_the_decisions_stay() {
    let app = spawn_app().await;
    assert_eq!(app.app.config.privacy.photo_retention_days, 180);
    // Applicant A: an identity review, approved today.
    let a = app.another_client();
    a.applicant().await;
    assert_eq!(a.submit_review(review_form("张三")).await.status(), StatusCode::CREATED);
    // Applicant C: a contact change, rejected today.
    let c = app.register_as("resident_id").await;
    let recovery = app.recovery_for(&c.doc).await;
    let change = app.email_change(&recovery, "77777@qq.com").await;
    let staff = app.staff("rev1", Role::Reviewer).await;
    let decided = pending(&staff, "identity").await.remove(0);
    assert_eq!(
        staff.post(&format!("/api/v1/staff/reviews/{decided}/decision"), &json!({ "approve": true })).await.status(),
        StatusCode::OK
    );
    let body = json!({ "approve": false, "reason": "照片不清晰" });
    assert_eq!(staff.post(&format!("/api/v1/staff/reviews/{change}/decision"), &body).await.status(), StatusCode::OK);
    // Applicant B: an identity review still pending when the period is long over.
    let b = app.another_client();
    b.applicant().await;
    assert_eq!(b.submit_review(review_form("张三")).await.status(), StatusCode::CREATED);
    let waiting = pending(&staff, "identity").await.remove(0);
    assert_eq!((photo_rows(&app, &decided).await, photo_rows(&app, &change).await, photo_rows(&app, &waiting).await), (3, 1, 3));

    // One day short of 180: nothing goes.
    app.advance_clock(179 * DAY).await;
    assert_eq!(retention::sweep_now(&app.app).await.unwrap().photos_deleted(), 0);
    assert_eq!(photo_rows(&app, &decided).await, 3);

    app.advance_clock(2 * DAY).await;
    let report = retention::sweep_now(&app.app).await.unwrap();
    assert_eq!(report.photos_deleted(), 4, "{report:?}");
    assert_eq!((photo_rows(&app, &decided).await, photo_rows(&app, &change).await, photo_rows(&app, &waiting).await), (0, 0, 3));
    // A second sweep finds nothing more.
    assert_eq!(retention::sweep_now(&app.app).await.unwrap().photos_deleted(), 0);

    // The console keeps the decisions and says where the photos went.
    let staff = app.staff("rev2", Role::Reviewer).await;
    for (id, status) in [(&decided, "approved"), (&change, "rejected")] {
        let d = detail(&staff, id).await;
        assert_eq!(d["status"], status);
        assert_eq!(d["photos"], json!([]));
        assert!(d["photos_deleted_at"].is_string(), "{d}");
        let (s, e) = error_code(staff.get(&format!("/api/v1/staff/reviews/{id}/photos/handheld")).await).await;
        assert_eq!((s, e["code"].as_str()), (StatusCode::GONE, Some("photos_deleted")));
    }
    assert_eq!(detail(&staff, &change).await["decision_reason"], "照片不清晰");
    let page = staff.get(&format!("/staff/reviews/{decided}")).await.text().await.unwrap();
    assert!(page.contains("照片已按规定删除"), "{page}");
    // Pending items are never swept.
    let d = detail(&staff, &waiting).await;
    assert_eq!(d["photos"], json!(["front", "back", "handheld"]));
    assert!(d["photos_deleted_at"].is_null());
    let photo = staff.get(&format!("/api/v1/staff/reviews/{waiting}/photos/front")).await;
    assert_eq!(photo.status(), StatusCode::OK);
    let page = staff.get(&format!("/staff/reviews/{waiting}")).await.text().await.unwrap();
    assert!(!page.contains("照片已按规定删除"));
}

#[tokio::test]
async fn the_retention_period_is_configurable() {
    let (url, dir) = fresh_database().await;
    let mut config = test_config(&url);
    config.privacy.photo_retention_days = 7;
    let app = spawn_with(config, dir).await;
    app.applicant().await;
    assert_eq!(app.submit_review(review_form("张三")).await.status(), StatusCode::CREATED);
    let staff = app.staff("rev1", Role::Reviewer).await;
    let id = pending(&staff, "identity").await.remove(0);
    let body = json!({ "approve": false, "reason": "民族错误" });
    assert_eq!(staff.post(&format!("/api/v1/staff/reviews/{id}/decision"), &body).await.status(), StatusCode::OK);
    app.advance_clock(8 * DAY).await;
    // The dev endpoint runs the same sweep.
    let res: Value = app.post("/api/v1/dev/sweep", &json!({})).await.json().await.unwrap();
    assert_eq!(res["photos_deleted"], 3, "{res}");
    assert_eq!(photo_rows(&app, &id).await, 0);
}

const SWEPT: [&str; 7] =
    ["sessions", "staff_sessions", "verification_codes", "captcha_challenges", "captcha_tokens", "recoveries", "password_resets"];

#[tokio::test]
async fn expired_sessions_codes_captchas_and_reset_links_are_swept() {
    let app = spawn_app().await;
    // Some of everything: sessions, a staff session, SMS codes, unanswered
    // challenges, unspent tokens, a recovery with a mailed reset link.
    let who = app.applicant().await;
    for _ in 0..3 {
        app.another_client().applicant().await;
    }
    let _staff = app.staff("rev1", Role::Reviewer).await;
    for _ in 0..4 {
        app.new_captcha("login").await;
        app.captcha_token("sms").await;
    }
    assert_eq!(app.request_sms(&phone(), "register").await.status(), StatusCode::ACCEPTED);
    let recovery = app.recovery_for(&who.doc).await;
    assert_eq!(app.post(&format!("/api/v1/recoveries/{recovery}/email"), &json!({})).await.status(), StatusCode::ACCEPTED);

    let mut before = Vec::new();
    for table in SWEPT {
        before.push(count(&app.app.db, table).await.unwrap());
    }
    assert!(before.iter().all(|n| *n > 0), "every table has rows: {before:?}");
    // Nothing has expired yet: the sweep leaves live rows alone.
    let report = retention::sweep_now(&app.app).await.unwrap();
    for table in ["sessions", "staff_sessions", "verification_codes", "captcha_tokens", "recoveries", "password_resets"] {
        assert_eq!(report.expired(table), 0, "{table}: {report:?}");
    }

    // Two days later every one of them has expired; a session opened now is live.
    app.advance_clock(2 * DAY).await;
    let fresh = app.another_client();
    assert_eq!(fresh.login(&who.doc, PASSWORD, "certification").await.status(), StatusCode::OK);
    retention::sweep_now(&app.app).await.unwrap();
    let mut after = Vec::new();
    for table in SWEPT {
        after.push(count(&app.app.db, table).await.unwrap());
    }
    for ((table, b), a) in SWEPT.iter().zip(&before).zip(&after) {
        println!("{table}: {b} rows before, {a} after");
    }
    // The login just made took a captcha token and opened a session: only that session stays.
    assert_eq!(after, [1, 0, 0, 0, 0, 0, 0], "{SWEPT:?}");
    assert_eq!(fresh.get("/api/v1/me").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn one_instance_claims_each_sweep() {
    let app = spawn_app().await;
    let sibling = spawn_sibling(&app).await;
    let (x, y) = tokio::join!(retention::sweep_if_due(&app.app), retention::sweep_if_due(&sibling.app));
    assert_eq!([x.unwrap().is_some(), y.unwrap().is_some()].iter().filter(|s| **s).count(), 1);
    // The lease runs out with the interval, then the next tick sweeps again.
    assert!(retention::sweep_if_due(&app.app).await.unwrap().is_none());
    app.advance_clock(app.app.config.privacy.sweep_interval_secs).await;
    sibling.app.clock.refresh(&sibling.app.db).await.unwrap();
    assert!(retention::sweep_if_due(&sibling.app).await.unwrap().is_some());
}

#[tokio::test]
async fn export_needs_a_session_and_holds_everything() {
    let app = spawn_app().await;
    for path in ["/api/v1/me/export", "/api/v1/me/access-log"] {
        let (status, error) = error_code(app.get(path).await).await;
        assert_eq!((status, error["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("not_logged_in")), "{path}");
    }
    let who = app.applicant().await;
    // A failed self-check (nobody is in the registry) and a review with photos.
    assert_eq!(error_code(app.post("/api/v1/me/realname", &json!({})).await).await.1["code"], "realname_failed");
    assert_eq!(app.submit_review(review_form("张三")).await.status(), StatusCode::CREATED);

    let res = app.get("/api/v1/me/export").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let export: Value = res.json().await.unwrap();
    assert_eq!(export["account"]["doc_number"], who.doc);
    assert_eq!(export["account"]["doc_type"], "resident_id");
    assert_eq!(export["account"]["name"], "张三");
    assert_eq!(export["account"]["validity"]["period"], "20y");
    assert_eq!(export["account"]["realname_status"], "review_pending");
    assert_eq!(export["profile"]["ethnicity"], "01");
    assert!(export["profile"]["sex"].is_string());
    assert_eq!(export["profile"]["birth_date"], "1985-03-15");
    assert_eq!(export["contacts"], json!({ "email": "123456@qq.com", "phone": who.phone }));
    assert_eq!(export["realname_attempts"][0]["used"], 1);
    let reviews = export["reviews"].as_array().unwrap();
    assert_eq!(reviews.len(), 1);
    assert_eq!(reviews[0]["status"], "pending");
    assert_eq!(reviews[0]["submitted"]["name"], "张三");
    assert_eq!(reviews[0]["reason"], "实名认证不通过，信息确认无误");
    let photos = reviews[0]["photos"].as_array().unwrap();
    assert_eq!(photos.len(), 3);
    let jpeg = base64::engine::general_purpose::STANDARD.decode(photos[0]["jpeg_base64"].as_str().unwrap()).unwrap();
    assert!(jpeg.starts_with(&[0xFF, 0xD8, 0xFF]));
    assert_eq!(export["contact_changes"], json!([]));
    assert_eq!(export["access_log"], json!([]));
    // Another applicant's export holds none of it.
    let other = app.another_client();
    other.applicant().await;
    let theirs: Value = other.get("/api/v1/me/export").await.json().await.unwrap();
    assert_ne!(theirs["account"]["doc_number"], who.doc);
    assert_eq!(theirs["reviews"], json!([]));
}

#[tokio::test]
async fn the_access_log_lists_every_staff_opening_newest_first() {
    let app = spawn_app().await;
    app.applicant().await;
    assert_eq!(app.submit_review(review_form("张三")).await.status(), StatusCode::CREATED);
    let bystander = app.another_client();
    bystander.applicant().await;
    let staff = app.staff("rev1", Role::Reviewer).await;
    let id = pending(&staff, "identity").await.remove(0);
    assert_eq!(detail(&staff, &id).await["doc_number"].as_str().map(str::len), Some(18));
    app.advance_clock(60).await;
    assert_eq!(staff.get(&format!("/api/v1/staff/reviews/{id}/photos/back")).await.status(), StatusCode::OK);
    let admin = app.staff("boss", Role::Admin).await;
    app.advance_clock(60).await;
    detail(&admin, &id).await;

    let res = app.get("/api/v1/me/access-log").await;
    assert_eq!(res.headers()["cache-control"], "no-store");
    let log: Vec<Value> = res.json().await.unwrap();
    let seen: Vec<(&str, &str, Value)> =
        log.iter().map(|e| (e["role"].as_str().unwrap(), e["action"].as_str().unwrap(), e["opened"].clone())).collect();
    assert_eq!(
        seen,
        [
            ("admin", "review_viewed", json!(["review", "doc_number"])),
            ("reviewer", "photo_viewed", json!(["photo"])),
            ("reviewer", "review_viewed", json!(["review", "doc_number"])),
        ]
    );
    assert_eq!(log[1]["opened_label"], "证件背面照片");
    assert_eq!(log[1]["item"], id.as_str());
    assert!(log[0]["at"].as_str().unwrap() > log[2]["at"].as_str().unwrap());
    // The export carries the same list; the page shows it.
    let export: Value = app.get("/api/v1/me/export").await.json().await.unwrap();
    assert_eq!(export["access_log"].as_array().unwrap().len(), 3);
    let page = app.get("/me/data").await;
    assert_eq!(page.headers()["cache-control"], "no-store");
    let page = page.text().await.unwrap();
    assert!(page.contains("我的数据") && page.contains("审核材料、完整证件号码") && page.contains("管理员"), "{page}");
    assert!(page.contains("/api/v1/me/export"));
    // Nobody looked at the bystander's data.
    assert_eq!(bystander.get("/api/v1/me/access-log").await.json::<Value>().await.unwrap(), json!([]));
    assert!(bystander.get("/me/data").await.text().await.unwrap().contains("暂无工作人员查看您的数据"));
}
