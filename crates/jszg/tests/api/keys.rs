//! Key rotation (PRIV-4): seal with key 1, add key 2, rotate (stopped
//! halfway, then again), drop key 1, restart, and everyone still gets in.

use reqwest::StatusCode;
use serde_json::{json, Value};

use jszg::flows::keys::{self, Options, Quiet};
use jszg::flows::staff::Role;
use jszg::vault::{Field, KeyMaterial};

use crate::helpers::*;

fn with_key_2(k1: &KeyMaterial) -> KeyMaterial {
    let mut k = k1.clone();
    k.data_keys.insert("2".into(), KeyMaterial::generate().data_keys["1"].clone());
    k.current = 2;
    k
}

fn without_key_1(k: &KeyMaterial) -> KeyMaterial {
    let mut k = k.clone();
    k.data_keys.remove("1");
    k
}

async fn stale_total(app: &TestApp) -> i64 {
    keys::stale_counts(&app.app).await.unwrap().iter().map(|(_, n)| n).sum()
}

#[tokio::test]
async fn rotation_reseals_everything_resumes_after_a_stop_and_lets_old_keys_go() {
    let app = spawn_app().await;
    let k1 = app.app.config.keys.clone().unwrap();
    assert_eq!(app.app.vault.current_id(), 1);
    // Applicants with every kind of sealed value: numbers, contacts, a
    // permit holder's local numbers, review payloads and photos, a contact
    // change, outbox messages, a staff member's TOTP secret.
    let mut people = Vec::new();
    for _ in 0..3 {
        let api = app.another_client();
        let who = api.applicant().await;
        people.push(who);
    }
    let permit = app.another_client();
    let holder = permit.register_as("hmt_residence").await;
    assert_eq!(permit.login(&holder.doc, PASSWORD, "certification").await.status(), StatusCode::OK);
    let res = permit
        .put_json("/api/v1/me/profile", &json!({ "ethnicity": "01", "local_id_number": "A123456(7)", "permit_number": "H12345678" }))
        .await;
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap_or_default());
    let reviewer = app.another_client();
    let first = people[0].doc.clone();
    assert_eq!(reviewer.login(&first, PASSWORD, "certification").await.status(), StatusCode::OK);
    assert_eq!(reviewer.submit_review(review_form("张三")).await.status(), StatusCode::CREATED);
    let recovery = app.recovery_for(&people[1].doc).await;
    app.email_change(&recovery, "66666@qq.com").await;
    jszg::flows::staff::add(&app.app, "keeper", Role::Admin).await.unwrap();

    // Key 2 becomes current: new values use it, old ones still open.
    let app = app.restart(|c| c.keys = Some(with_key_2(&k1))).await;
    let k2 = app.app.config.keys.clone().unwrap();
    assert_eq!(app.app.vault.current_id(), 2);
    let before = stale_total(&app).await;
    // 4 accounts × (number, email, phone) + 2 local numbers + 2 payloads + 4 photos + outbox + TOTP.
    assert!(before >= 4 * 3 + 2 + 2 + 4 + 2, "{before}");

    // Dropping key 1 now is refused at start-up, with the reason.
    let mut refused = test_config(&app.database_url);
    refused.keys = Some(without_key_1(&k2));
    let err = jszg::App::start(refused).await.err().expect("start-up refuses").to_string();
    assert!(err.contains("accounts.doc_number_enc") && err.contains("key 1") && err.contains("jszg keys rotate"), "{err}");

    // A run stopped after two batches of 2 rows (as if killed) leaves the rest...
    let partial = keys::rotate(&app.app, &Options { batch: 2, stop_after_batches: Some(2) }, &mut Quiet).await.unwrap();
    assert!(!partial.complete);
    assert_eq!(partial.total(), 4);
    assert_eq!(stale_total(&app).await, before - 4);
    // ...and the next run finishes it, counting per column.
    let rest = keys::rotate(&app.app, &Options { batch: 3, stop_after_batches: None }, &mut Quiet).await.unwrap();
    assert!(rest.complete);
    assert_eq!(partial.total() + rest.total(), before as u64);
    let count = |name: &str| rest.counts.iter().find(|(c, _)| c == name).map(|(_, n)| *n).unwrap();
    assert_eq!(count("review_photos.data_enc"), 4);
    assert_eq!(count("staff.totp_secret_enc"), 1);
    assert_eq!(count("accounts.local_id_enc"), 1);
    assert_eq!(stale_total(&app).await, 0);
    // A third run has nothing to do.
    assert_eq!(keys::rotate(&app.app, &Options::default(), &mut Quiet).await.unwrap().total(), 0);

    // Key 1 leaves the key file; the restart is accepted and nothing is lost.
    let app = app.restart(|c| c.keys = Some(without_key_1(&k2))).await;
    assert_eq!(app.app.vault.key_ids(), [2]);
    for who in &people {
        let api = app.another_client();
        assert_eq!(api.login(&who.doc, PASSWORD, "certification").await.status(), StatusCode::OK);
        let me: Value = api.get("/api/v1/me").await.json().await.unwrap();
        assert_eq!(me["phone_masked"], format!("{}*****{}", &who.phone[..3], &who.phone[9..]));
        let export: Value = api.get("/api/v1/me/export").await.json().await.unwrap();
        assert_eq!(export["account"]["doc_number"], who.doc.as_str());
        assert_eq!(export["contacts"]["email"], "123456@qq.com");
    }
    let api = app.another_client();
    assert_eq!(api.login(&holder.doc, PASSWORD, "certification").await.status(), StatusCode::OK);
    let export: Value = api.get("/api/v1/me/export").await.json().await.unwrap();
    assert_eq!(export["profile"]["local_id_number"], "A123456(7)");
    assert_eq!(export["profile"]["permit_number"], "H12345678");
    let api = app.another_client();
    assert_eq!(api.login(&first, PASSWORD, "certification").await.status(), StatusCode::OK);
    let export: Value = api.get("/api/v1/me/export").await.json().await.unwrap();
    assert_eq!(export["reviews"][0]["photos"].as_array().unwrap().len(), 3);
    // Staff open the review, its photos and the contact change.
    let staff = app.staff("rev9", Role::Reviewer).await;
    let queue: Vec<Value> = staff.get("/api/v1/staff/reviews?status=pending").await.json().await.unwrap();
    assert_eq!(queue.len(), 2);
    for item in &queue {
        let id = item["id"].as_str().unwrap();
        assert_eq!(staff.get(&format!("/api/v1/staff/reviews/{id}")).await.status(), StatusCode::OK);
        assert_eq!(staff.get(&format!("/api/v1/staff/reviews/{id}/photos/handheld")).await.status(), StatusCode::OK);
    }
    // Every outbox message opens; the old TOTP secret opens.
    assert_eq!(app.get("/api/v1/dev/outbox").await.status(), StatusCode::OK);
    let keeper = jszg::store::staff::by_username(&app.app.db, "keeper").await.unwrap().unwrap();
    assert!(app.app.vault.open(Field::Totp, &keeper.totp_secret_enc).is_ok());
}
