//! 商用密码 GM-2 and GM-3, tried as an attacker with write access to the database would:
//! a password hash of their own put into an account, and the audit log rewritten after the
//! triggers that guard it were dropped.

use std::process::Command;

use reqwest::StatusCode;

use jszg::flows::integrity::Verdict;

use crate::helpers::*;

async fn exec(app: &TestApp, sql: &str) {
    jszg::db_run!(&app.app.db, pool => sqlx::query(sql).execute(pool).await.unwrap().rows_affected());
}

async fn scalar(app: &TestApp, sql: &str) -> i64 {
    jszg::db_run!(&app.app.db, pool => sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await.unwrap())
}

async fn verdict(app: &TestApp) -> Verdict {
    jszg::flows::integrity::verify(&app.app.db, &app.app.vault).await.unwrap()
}

/// The entry `verify` names and the first word of what it says about it.
async fn broken(app: &TestApp) -> (i64, String) {
    match verdict(app).await {
        Verdict::Broken { id, what } => (id, what.split(|c: char| !c.is_alphabetic()).next().unwrap_or_default().to_owned()),
        intact => panic!("expected a broken chain, got {intact:?}"),
    }
}

/// `jszg audit verify` against the test's database with `keys` written to a key file.
fn audit_verify(app: &TestApp, keys: &jszg::vault::KeyMaterial) -> std::process::Output {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), keys.to_toml()).unwrap();
    Command::new(env!("CARGO_BIN_EXE_jszg"))
        .args(["audit", "verify", "--database-url", &app.database_url])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("JSZG_KEYS_FILE", file.path())
        .env("JSZG_DEV", "1")
        .env("JSZG_LOG", "error")
        .output()
        .unwrap()
}

/// What an intruder does first: drop the triggers that refuse UPDATE and DELETE.
async fn drop_guards(app: &TestApp) {
    if is_postgres() {
        exec(app, "DROP TRIGGER audit_log_no_update ON audit_log").await;
    } else {
        exec(app, "DROP TRIGGER audit_log_no_update").await;
        exec(app, "DROP TRIGGER audit_log_no_delete").await;
    }
}

/// GM-2: a hash the attacker computed for a password of their choosing logs nobody in, nor
/// does a genuine hash and tag copied from the attacker's own account; each try is audited.
#[tokio::test]
async fn a_password_hash_written_behind_jszgs_back_is_refused_and_audited() {
    let app = spawn_app().await;
    let victim_api = app.another_client();
    let victim = victim_api.applicant().await;
    let victim_id = scalar(&app, "SELECT max(id) FROM accounts").await;
    let attacker_api = app.another_client();
    let attacker = attacker_api.applicant().await;
    let attacker_id = scalar(&app, "SELECT max(id) FROM accounts").await;
    assert_ne!(victim_id, attacker_id);

    let wrong = app.another_client().login(&victim.doc, "Wrong#Pass2026", "certification").await;
    let (wrong_status, wrong_body) = error_code(wrong).await;
    assert_eq!(wrong_status, StatusCode::UNAUTHORIZED);

    // 1. A fresh argon2id hash of the attacker's password, written straight into the row.
    let chosen = "Attacker#2026";
    let hash = app.app.hasher.hash(chosen).await.unwrap();
    jszg::db_run!(&app.app.db, pool => sqlx::query("UPDATE accounts SET password_hash = $1 WHERE id = $2")
        .bind(&hash).bind(victim_id).execute(pool).await.unwrap().rows_affected());
    let res = app.another_client().login(&victim.doc, chosen, "certification").await;
    let (status, body) = error_code(res).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the swapped hash must not log in: {body}");
    assert_eq!(body["code"], wrong_body["code"], "the same answer as a wrong password");
    let audited = format!("SELECT count(*) FROM audit_log WHERE action = 'password_hash_untagged' AND account_id = {victim_id}");
    assert_eq!(scalar(&app, &audited).await, 1);

    // 2. The attacker's own hash and its genuine tag: the tag names the account it was made for.
    jszg::db_run!(&app.app.db, pool => sqlx::query(
        "UPDATE accounts SET password_hash = (SELECT password_hash FROM accounts WHERE id = $1),
                             password_tag = (SELECT password_tag FROM accounts WHERE id = $1) WHERE id = $2")
        .bind(attacker_id).bind(victim_id).execute(pool).await.unwrap().rows_affected());
    let res = app.another_client().login(&victim.doc, PASSWORD, "certification").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "the attacker's password, through a copied hash and tag");
    assert_eq!(scalar(&app, &audited).await, 2);

    // 3. A tag removed is a tag missing.
    exec(&app, &format!("UPDATE accounts SET password_tag = NULL WHERE id = {attacker_id}")).await;
    assert_eq!(attacker_api.login(&attacker.doc, PASSWORD, "renewal").await.status(), StatusCode::UNAUTHORIZED);

    // The untouched path still works: nothing else was disturbed.
    let third = app.another_client();
    let who = third.applicant().await;
    assert_eq!(third.login(&who.doc, PASSWORD, "renewal").await.status(), StatusCode::OK);
    assert!(matches!(verdict(&app).await, Verdict::Intact { .. }), "the refusals are chained too");
}

/// GM-3: with the triggers gone, `verify` names the first altered, removed or inserted entry.
#[tokio::test]
async fn audit_verify_names_the_first_entry_that_was_altered_removed_or_inserted() {
    let app = spawn_app().await;
    for _ in 0..3 {
        let api = app.another_client();
        let who = api.applicant().await;
        assert_eq!(api.login(&who.doc, PASSWORD, "certification").await.status(), StatusCode::OK);
    }
    let entries = scalar(&app, "SELECT count(*) FROM audit_log").await;
    assert!(entries >= 6, "{entries}");
    assert_eq!(verdict(&app).await, Verdict::Intact { entries });
    drop_guards(&app).await;
    let ids: Vec<i64> = jszg::db_run!(&app.app.db, pool => sqlx::query_scalar("SELECT id FROM audit_log ORDER BY id").fetch_all(pool).await.unwrap());

    // Altered: one entry's detail rewritten, then put back; then one moved in time.
    let altered = ids[2];
    let original: String =
        jszg::db_run!(&app.app.db, pool => sqlx::query_scalar("SELECT detail FROM audit_log WHERE id = $1").bind(altered).fetch_one(pool).await.unwrap());
    exec(&app, &format!("UPDATE audit_log SET detail = 'nothing happened' WHERE id = {altered}")).await;
    assert_eq!(broken(&app).await, (altered, "altered".into()));
    jszg::db_run!(&app.app.db, pool => sqlx::query("UPDATE audit_log SET detail = $1 WHERE id = $2").bind(&original).bind(altered).execute(pool).await.unwrap().rows_affected());
    assert_eq!(verdict(&app).await, Verdict::Intact { entries });
    exec(&app, &format!("UPDATE audit_log SET at = at - 3600 WHERE id = {}", ids[1])).await;
    assert_eq!(broken(&app).await, (ids[1], "altered".into()));
    exec(&app, &format!("UPDATE audit_log SET at = at + 3600 WHERE id = {}", ids[1])).await;

    // Inserted: a row written without the chain (as an intruder's INSERT would be).
    exec(&app, "INSERT INTO audit_log (at, actor_kind, account_id, action, detail) VALUES (1, 'staff', 1, 'review_approved', '')").await;
    let inserted = scalar(&app, "SELECT max(id) FROM audit_log").await;
    assert_eq!(broken(&app).await, (inserted, "inserted".into()));
    exec(&app, &format!("DELETE FROM audit_log WHERE id = {inserted}")).await;
    assert_eq!(verdict(&app).await, Verdict::Intact { entries });

    // Removed: an entry in the middle.
    exec(&app, &format!("DELETE FROM audit_log WHERE id = {}", ids[3])).await;
    assert_eq!(broken(&app).await, (ids[3], "removed".into()));

    // The command line says the same, with its exit code.
    let out = audit_verify(&app, app.app.config.keys.as_ref().unwrap());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout} {}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.trim().starts_with(&format!("audit chain broken at entry {}: removed", ids[3])), "{stdout}");
}

/// The chain on a database that is only written through jszg verifies, and the command line
/// prints the count (exit 0).
#[tokio::test]
async fn jszg_audit_verify_prints_the_count_of_an_intact_chain() {
    let app = spawn_app().await;
    let api = app.another_client();
    let who = api.applicant().await;
    assert_eq!(api.login(&who.doc, PASSWORD, "certification").await.status(), StatusCode::OK);
    let entries = scalar(&app, "SELECT count(*) FROM audit_log").await;
    let out = audit_verify(&app, app.app.config.keys.as_ref().unwrap());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout} {}", String::from_utf8_lossy(&out.stderr));
    // Starting the command writes no entry of its own, so the count is what the server wrote.
    assert_eq!(stdout.trim(), format!("audit chain intact: {entries} entries"));
    // Under another audit key, no link fits: the first entry is named.
    let mut material = app.app.config.keys.clone().unwrap();
    material.audit_key = Some("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into());
    let out = audit_verify(&app, &material);
    assert_eq!(out.status.code(), Some(1));
    let first = scalar(&app, "SELECT min(id) FROM audit_log").await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.trim().starts_with(&format!("audit chain broken at entry {first}: altered")), "{stdout}");
}

/// GM-3 under concurrency: two instances on one database writing at once keep one chain.
#[tokio::test]
async fn two_instances_writing_at_once_keep_one_chain() {
    let app = spawn_app().await;
    let sibling = spawn_sibling(&app).await;
    let mut people = Vec::new();
    for _ in 0..8 {
        let api = app.another_client();
        let who = api.applicant().await;
        people.push(who);
    }
    let mut tasks = Vec::new();
    for (i, who) in people.iter().enumerate() {
        for round in 0..3 {
            let target = if (i + round) % 2 == 0 { &app } else { &sibling };
            let api = target.another_client();
            let doc = who.doc.clone();
            tasks.push(async move {
                let ok = api.login(&doc, PASSWORD, "certification").await.status();
                let bad = api.login(&doc, "Wrong#Pass2026", "renewal").await.status();
                (ok, bad)
            });
        }
    }
    for (ok, bad) in futures::future::join_all(tasks).await {
        assert_eq!(ok, StatusCode::OK);
        assert_eq!(bad, StatusCode::UNAUTHORIZED);
    }
    let entries = scalar(&app, "SELECT count(*) FROM audit_log").await;
    assert!(entries >= 8 + 8 * 3, "a registration and three logins each: {entries}");
    assert_eq!(verdict(&app).await, Verdict::Intact { entries });
    assert_eq!(scalar(&app, "SELECT count(*) FROM audit_chain").await, entries, "one chain row per entry");
    assert_eq!(scalar(&app, "SELECT min(seq) FROM audit_chain").await, 1);
    assert_eq!(scalar(&app, "SELECT max(seq) FROM audit_chain").await, entries, "no gap, no fork");
}
