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

/// A resident ID number that is the `i`-th of a series: unique without drawing at random.
fn numbered_resident_id(i: usize) -> String {
    let birth = date("1975-01-01") + time::Duration::days((i / 1000) as i64);
    let first17 = format!("110101{:04}{:02}{:02}{:03}", birth.year(), u8::from(birth.month()), birth.day(), i % 1000);
    let check = jszg_domain::resident_check_char(&first17).expect("check char");
    format!("{first17}{check}")
}

/// GM-1: a populated `intl` database (10,000 accounts) moves to `gm` while applicants keep
/// logging in: the key file is moved, the first rotation is killed partway, the second
/// finishes; no login fails at any point, and afterwards the previous index key can go.
#[tokio::test]
async fn moving_ten_thousand_accounts_from_intl_to_gm_while_applicants_log_in() {
    const ACCOUNTS: usize = 10_000;
    let (url, dir) = fresh_database().await;
    let mut config = test_config(&url);
    config.keys = Some(KeyMaterial::generate_intl());
    let app = spawn_with(config, dir).await;
    assert_eq!(app.app.vault.suite(), jszg::vault::Suite::Intl);
    // One cheap argon2id hash for every row: what is measured here is the move, not hashing.
    let hash = app.app.hasher.hash(PASSWORD).await.unwrap();
    let mut csv = String::with_capacity(ACCOUNTS * 200);
    for i in 0..ACCOUNTS {
        let email = if i % 2 == 0 { format!("user{i}@163.com") } else { String::new() };
        csv.push_str(&format!("resident_id,{},张三,\"{hash}\",{email},1580000{i:04},2020-09-01T08:00:00+08:00\n", numbered_resident_id(i)));
    }
    let report = jszg::flows::import::import(&app.app, csv.as_bytes()).await.unwrap();
    assert_eq!(report.imported, ACCOUNTS, "{:?}", report.refused.first());
    assert!(report.notes.is_empty(), "{:?}", report.notes.first());
    let registered = app.another_client();
    let someone = registered.applicant().await;
    let sample: Vec<String> = (0..ACCOUNTS).step_by(997).map(numbered_resident_id).chain([someone.doc.clone()]).collect();
    for doc in &sample {
        assert_eq!(app.another_client().login(doc, PASSWORD, "certification").await.status(), StatusCode::OK, "{doc} before");
    }

    // The key file moves to gm: new values are SM4 and HMAC-SM3 from the next start.
    let moved = app.app.config.keys.as_ref().unwrap().move_to(jszg::vault::Suite::Gm).unwrap();
    let app = app.restart(|c| c.keys = Some(moved.clone())).await;
    assert_eq!(app.app.vault.suite(), jszg::vault::Suite::Gm);
    assert!(app.app.vault.rehashing());
    let stale_before = stale_total(&app).await;
    assert!(stale_before >= (ACCOUNTS * 2 + ACCOUNTS / 2) as i64, "{stale_before}");

    // Logins run the whole time, from two clients in turn.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let logins = {
        let (stop, base, sample) = (stop.clone(), app.base.clone(), sample.clone());
        tokio::spawn(async move {
            let api = Api { base, client: reqwest::Client::builder().cookie_store(true).build().unwrap() };
            let (mut ok, mut failed) = (0u32, Vec::new());
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) || i < sample.len() {
                let doc = &sample[i % sample.len()];
                let status = api.login(doc, PASSWORD, if i % 2 == 0 { "certification" } else { "renewal" }).await.status();
                if status == StatusCode::OK {
                    ok += 1;
                } else {
                    failed.push((doc.clone(), status));
                }
                i += 1;
            }
            (ok, failed)
        })
    };

    // Killed after 6 batches of 500...
    let partial = keys::rotate(&app.app, &Options { batch: 500, stop_after_batches: Some(6) }, &mut Quiet).await.unwrap();
    assert!(!partial.complete);
    assert_eq!(partial.total(), 3000);
    assert_eq!(stale_total(&app).await, stale_before - 3000);
    // ...a new registration during the move is found by its gm hash, an old one by its intl hash.
    let during = app.another_client();
    let new_one = during.applicant().await;
    assert_eq!(during.login(&new_one.doc, PASSWORD, "renewal").await.status(), StatusCode::OK);
    // ...and resumed to the end.
    let rest = keys::rotate(&app.app, &Options::default(), &mut Quiet).await.unwrap();
    assert!(rest.complete);
    assert_eq!(stale_total(&app).await, 0);
    assert!(rest.untagged.is_empty(), "{:?}", rest.untagged.len());
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let (ok, failed) = logins.await.unwrap();
    assert!(failed.is_empty(), "logins refused during the move: {failed:?}");
    eprintln!("{ok} logins during the move of {ACCOUNTS} accounts, none refused");
    assert!(ok as usize >= sample.len(), "{ok}");

    // Every lookup hash is now HMAC-SM3 under the new index key, every tag under it too.
    let tags = keys::tag_status(&app.app).await.unwrap();
    assert_eq!((tags.previous, tags.invalid), (0, 0));
    let vault = jszg::vault::Vault::new(&moved).unwrap();
    let under_new: i64 = {
        let hashes: Vec<Vec<u8>> = sample.iter().map(|d| vault.lookup(Field::DocNumber, d)).collect();
        let mut n = 0;
        for h in hashes {
            n += jszg::db_run!(&app.app.db, pool => sqlx::query_scalar::<_, i64>("SELECT count(*) FROM accounts WHERE doc_hash = $1").bind(h).fetch_one(pool).await.unwrap());
        }
        n
    };
    assert_eq!(under_new, sample.len() as i64);

    // The previous index key is no longer needed: without it everyone still gets in.
    let mut finished = moved.clone();
    finished.previous_index_key = None;
    finished.previous_suite = None;
    let app = app.restart(|c| c.keys = Some(finished)).await;
    assert!(!app.app.vault.rehashing());
    for doc in sample.iter().chain([&new_one.doc]) {
        assert_eq!(app.another_client().login(doc, PASSWORD, "certification").await.status(), StatusCode::OK, "{doc} after");
    }
}

/// The operator's path through the command line: `jszg keys suite gm` rewrites the key file and
/// keeps the old one, `jszg keys rotate` reseals and rehashes, `jszg keys status` says when the
/// previous index key may go; the applicants registered before still get in.
#[tokio::test]
async fn the_command_line_moves_a_key_file_to_gm() {
    let (url, dir) = fresh_database().await;
    let mut config = test_config(&url);
    config.keys = Some(KeyMaterial::generate_intl());
    let app = spawn_with(config, dir).await;
    let api = app.another_client();
    let who = api.applicant().await;
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("keys.toml");
    std::fs::write(&file, app.app.config.keys.as_ref().unwrap().to_toml()).unwrap();
    let database_url = app.database_url.clone();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_jszg"))
            .args(args)
            .args(["--database-url", &database_url])
            .current_dir(work.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("JSZG_KEYS_FILE", &file)
            .env("JSZG_DEV", "1")
            .env("JSZG_LOG", "error")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "{args:?}: {stdout} {}", String::from_utf8_lossy(&out.stderr));
        stdout
    };
    let said = run(&["keys", "suite", "gm"]);
    assert!(said.contains("suite gm") && said.contains("jszg keys rotate"), "{said}");
    let moved = KeyMaterial::load(&file).unwrap();
    assert_eq!(moved.suite, jszg::vault::Suite::Gm);
    assert!(moved.previous_index_key.is_some());
    let backups = std::fs::read_dir(work.path()).unwrap().filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with("keys.toml.before-")).count();
    assert_eq!(backups, 1, "the old file is kept");

    let app = app.restart(|c| c.keys = Some(moved.clone())).await;
    let status = run(&["keys", "status"]);
    assert!(status.contains("suite: gm") && status.contains("a change of suite is under way"), "{status}");
    let rotated = run(&["keys", "rotate"]);
    assert!(rotated.contains("resealed"), "{rotated}");
    let status = run(&["keys", "status"]);
    assert!(status.contains("every row is rehashed"), "{status}");
    assert!(status.contains("password tags under the previous key: 0"), "{status}");
    assert_eq!(app.another_client().login(&who.doc, PASSWORD, "certification").await.status(), StatusCode::OK);
}
