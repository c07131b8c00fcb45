//! Personal data at rest (OPS-3) and the durable outbox (NOTE-1).

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Everything the database holds, as bytes: the SQLite files, or a
/// `pg_dump` of the PostgreSQL database.
fn raw_database(app: &TestApp) -> Vec<u8> {
    if is_postgres() {
        let out = Command::new("pg_dump").arg("--no-owner").arg(&app.database_url).output().expect("pg_dump runs");
        assert!(out.status.success(), "pg_dump: {}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    } else {
        let path = app.database_url.trim_start_matches("sqlite://").to_owned();
        let mut bytes = std::fs::read(&path).expect("database file");
        for suffix in ["-wal", "-shm"] {
            if let Ok(more) = std::fs::read(format!("{path}{suffix}")) {
                bytes.extend(more);
            }
        }
        bytes
    }
}

#[tokio::test]
async fn personal_data_is_not_stored_in_clear() {
    let app = spawn_app().await;
    let doc = resident_id(date("1985-03-15"));
    let phone = phone();
    let email = "987654321@qq.com";
    let code = app.sms_code(&phone).await;
    let mut body = form(&doc, &phone, &code);
    body["email"] = json!(email);
    assert_eq!(app.register(&body).await.status(), StatusCode::CREATED);
    app.post("/api/v1/dev/identities", &json!({ "doc_type": "resident_id", "doc_number": doc, "name": "张三" })).await;
    // Messages to both addresses are in the outbox too.
    let token = app.captcha_token("email").await;
    app.post(
        "/api/v1/verification-codes",
        &json!({ "channel": "email", "email": email, "purpose": "change_email", "captcha_token": token }),
    )
    .await;
    // Let the worker deliver so rows are final.
    app.outbox_settled().await;

    let raw = raw_database(&app);
    assert!(raw.len() > 1000);
    for secret in [doc.as_str(), phone.as_str(), email, "987654321", &doc[6..14]] {
        assert!(!contains(&raw, secret), "{secret} found in clear");
    }
    // The name is not personal data of that class and is stored as typed.
    assert!(contains(&raw, "张三"));
}

async fn wait_for(api: &Api, path: &str) {
    eventually("the server up", Duration::from_secs(10), || async {
        api.client.get(api.url(path)).send().await.ok().filter(|res| res.status().is_success()).map(|_| ())
    })
    .await
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn start_binary(database_url: &str, port: u16, worker: bool, dir: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_jszg"))
        .arg("serve")
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("JSZG_BIND", format!("127.0.0.1:{port}"))
        .env("JSZG_DATABASE_URL", database_url)
        .env("JSZG_DEV", "1")
        .env("JSZG_ARGON2__MEMORY_KIB", "1024")
        .env("JSZG_ARGON2__ITERATIONS", "1")
        .env("JSZG_OUTBOX__WORKER", if worker { "true" } else { "false" })
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("binary starts")
}

/// A message queued by a server that is then killed is delivered once
/// after the restart: the row survives and the worker picks it up.
#[tokio::test]
async fn a_queued_message_survives_a_kill() {
    let (url, dir) = fresh_database().await;
    let work = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut first = start_binary(&url, port, false, work.path());
    let api = Api::new(format!("127.0.0.1:{port}").parse().unwrap());
    wait_for(&api, "/readyz").await;
    let phone = phone();
    let res = api.request_sms(&phone, "register").await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let queued = api.outbox(&phone).await;
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0]["status"], "pending");
    first.kill().unwrap();
    first.wait().unwrap();

    let port = free_port();
    let mut second = start_binary(&url, port, true, work.path());
    let api = Api::new(format!("127.0.0.1:{port}").parse().unwrap());
    wait_for(&api, "/readyz").await;
    let delivered = eventually("the code sent by the second instance", Duration::from_secs(5), || async {
        let listed = api.outbox(&phone).await;
        listed.first().is_some_and(|m| m["status"] == "sent").then_some(listed)
    })
    .await;
    second.kill().unwrap();
    second.wait().unwrap();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0]["status"], "sent");
    assert_eq!(delivered[0]["attempts"], 1, "delivered once");
    assert_eq!(extract_code(delivered[0]["body"].as_str().unwrap()), extract_code(queued[0]["body"].as_str().unwrap()));
    drop(dir);
}
