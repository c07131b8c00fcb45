#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Crashes (REL-1): the real binary is SIGKILLed in the middle of concurrent registrations and
//! SMS code requests, then started again. Every registration that was answered 201 must log in,
//! and every code request answered 202 must reach the SMS provider exactly once.
//!
//! On SQLite one instance is killed and restarted. With `JSZG_TEST_DATABASE_URL` set to a
//! PostgreSQL server, two instances share a fresh database; one is killed while the other keeps
//! serving, and the survivor's outbox worker picks up what the dead one had leased.

use std::collections::HashMap;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::Rng;
use serde_json::{json, Value};

const PASSWORD: &str = "Abc#2024x";

/// A stand-in for the SMS provider (Aliyun's protocol): records the OutId (the outbox row) and
/// phone of every send it accepts.
async fn provider() -> (String, Arc<Mutex<Vec<(String, String)>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(move |axum::extract::Query(q): axum::extract::Query<HashMap<String, String>>| {
            let record = record.clone();
            async move {
                let (phone, out_id) = (q.get("PhoneNumbers").cloned().unwrap_or_default(), q.get("OutId").cloned().unwrap_or_default());
                if let Ok(mut seen) = record.lock() {
                    seen.push((phone, out_id));
                }
                axum::Json(json!({ "Code": "OK", "Message": "OK", "BizId": "1", "RequestId": "r" }))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind provider");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    (format!("http://{addr}/"), seen)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

struct Instance {
    base: String,
    port: u16,
    child: Option<Child>,
}

/// A failed assertion must not leave servers running.
impl Drop for Instance {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            child.kill().ok();
            child.wait().ok();
        }
    }
}

/// The quotas raised for a harness that registers many applicants from one address.
fn harness_env() -> impl Iterator<Item = (&'static str, &'static str)> {
    include_str!("support/harness.env")
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once('='))
}

fn start(port: u16, database_url: &str, sms_endpoint: &str, dir: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_jszg"))
        .arg("serve")
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("JSZG_BIND", format!("127.0.0.1:{port}"))
        .env("JSZG_DATABASE_URL", database_url)
        .env("JSZG_DEV", "1")
        .env("JSZG_LOG", "error")
        .env("JSZG_OUTBOX__POLL_MS", "50")
        .envs(harness_env())
        .env("JSZG_SMS__PROVIDER", "aliyun")
        .env("JSZG_SMS__ACCESS_KEY_ID", "LTAI-crash")
        .env("JSZG_SMS__ACCESS_KEY_SECRET", "crash-secret")
        .env("JSZG_SMS__SIGN_NAME", "中国教师资格网")
        .env("JSZG_SMS__CODE_TEMPLATE", "SMS_000001")
        .env("JSZG_SMS__NOTICE_TEMPLATE", "SMS_000002")
        .env("JSZG_SMS__ENDPOINT", sms_endpoint)
        .stdout(Stdio::null())
        .spawn()
        .expect("start jszg")
}

async fn healthy(client: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if client.get(format!("{base}/healthz")).send().await.is_ok_and(|r| r.status().is_success()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{base} did not become healthy");
}

/// A fresh database: a temporary SQLite file, or a new database on the PostgreSQL server.
async fn database(dir: &std::path::Path) -> (String, bool) {
    match std::env::var("JSZG_TEST_DATABASE_URL") {
        Ok(url) if url.starts_with("postgres") => {
            use sqlx::Executor;
            let name = format!("jszg_crash_{}", rand::thread_rng().gen::<u32>());
            let pool = sqlx::PgPool::connect(&url).await.expect("connect to PostgreSQL");
            pool.execute(format!("CREATE DATABASE {name}").as_str()).await.expect("create database");
            let base = url.rsplit_once('/').map(|(b, _)| b.to_owned()).unwrap_or(url);
            (format!("{base}/{name}"), true)
        }
        _ => (format!("sqlite://{}", dir.join("jszg.db").display()), false),
    }
}

fn resident_id() -> String {
    let mut rng = rand::thread_rng();
    let first17 = format!("1101{:02}1985{:02}{:02}{:03}", rng.gen_range(1..100), rng.gen_range(1..13), rng.gen_range(1..29), rng.gen_range(0..1000));
    let check = jszg_domain::resident_check_char(&first17).expect("check char");
    format!("{first17}{check}")
}

type Outcome = Result<Value, String>;

async fn post(client: &reqwest::Client, url: String, body: &Value) -> Result<(u16, Value), String> {
    let res = client.post(url).json(body).send().await.map_err(|e| e.to_string())?;
    let status = res.status().as_u16();
    Ok((status, res.json().await.unwrap_or(Value::Null)))
}

async fn captcha(client: &reqwest::Client, base: &str, purpose: &str) -> Outcome {
    let (_, c) = post(client, format!("{base}/api/v1/captchas"), &json!({ "purpose": purpose })).await?;
    let x = c["dev_solution"].as_i64().ok_or("no challenge")?;
    let track: Vec<Value> = jszg_captcha::human_track(&mut rand::thread_rng(), x).iter().map(|p| json!({ "t": p.t, "x": p.x, "y": p.y })).collect();
    let difficulty = c["pow"]["difficulty"].as_u64().and_then(|d| u32::try_from(d).ok()).ok_or("no pow")?;
    let nonce = jszg_captcha::pow::solve(c["pow"]["challenge"].as_str().unwrap_or_default(), difficulty, 1 << 32).ok_or("no nonce")?;
    let id = c["id"].as_str().unwrap_or_default();
    let (status, a) = post(client, format!("{base}/api/v1/captchas/{id}/answer"), &json!({ "x": x, "track": track, "pow_nonce": nonce.to_string() })).await?;
    if status != 200 {
        return Err(format!("captcha {status}"));
    }
    Ok(a["captcha_token"].clone())
}

#[derive(Default)]
struct Ledger {
    /// Phones whose code request was answered 202.
    codes: Mutex<Vec<String>>,
    /// Document numbers whose registration was answered 201.
    accounts: Mutex<Vec<String>>,
    /// Answers per instance after the kill (the survivor must keep answering).
    answered_after_kill: Vec<AtomicUsize>,
}

/// A phone number no other applicant of this run has: two random ones once collided (about one
/// run in 600 at this volume), and a number used twice reads as a code queued twice.
fn unique_phone() -> String {
    static START: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let start = *START.get_or_init(|| rand::thread_rng().gen_range(0..100_000_000u32));
    format!("139{:08}", start.wrapping_add(NEXT.fetch_add(1, Ordering::Relaxed)) % 100_000_000)
}

/// One applicant after another: an SMS code, then the registration with it.
async fn applicant(client: &reqwest::Client, base: &str, ledger: &Ledger) -> Result<(), String> {
    let phone = unique_phone();
    let token = captcha(client, base, "sms").await?;
    let body = json!({ "channel": "sms", "phone": phone, "purpose": "register", "captcha_token": token });
    let (status, _) = post(client, format!("{base}/api/v1/verification-codes"), &body).await?;
    if status != 202 {
        return Err(format!("code {status}"));
    }
    ledger.codes.lock().map_err(|e| e.to_string())?.push(phone.clone());
    let outbox: Value = client.get(format!("{base}/api/v1/dev/outbox?to={phone}")).send().await.map_err(|e| e.to_string())?.json().await.map_err(|e| e.to_string())?;
    let text = outbox[0]["body"].as_str().unwrap_or_default().to_owned();
    let code: String = text.chars().filter(char::is_ascii_digit).take(6).collect();
    let doc = resident_id();
    let form = json!({
        "doc_type": "resident_id", "doc_number": doc, "name": "张三", "validity": { "period": "20y", "start": "2020-05-01" },
        "password": PASSWORD, "password_confirm": PASSWORD, "email": "123456@qq.com", "phone": phone,
        "verification_code": code, "agree_terms": true, "confirm_validity_warning": false,
    });
    let (status, answer) = post(client, format!("{base}/api/v1/accounts"), &form).await?;
    if status != 201 {
        return Err(format!("register {status}: {answer}"));
    }
    ledger.accounts.lock().map_err(|e| e.to_string())?.push(doc);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_server_loses_no_answered_registration_and_sends_every_code_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (endpoint, sent) = provider().await;
    let (url, postgres) = database(dir.path()).await;
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().expect("client");
    // Two instances on PostgreSQL, one on SQLite; the first is the one killed.
    let mut instances: Vec<Instance> = (0..if postgres { 2 } else { 1 })
        .map(|_| {
            let port = free_port();
            Instance { base: format!("http://127.0.0.1:{port}"), port, child: None }
        })
        .collect();
    for (i, instance) in instances.iter_mut().enumerate() {
        instance.child = Some(start(instance.port, &url, &endpoint, dir.path()));
        healthy(&client, &instance.base).await;
        if i == 0 && postgres {
            // Let the first instance finish its migrations before the second starts.
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    let ledger = Arc::new(Ledger { answered_after_kill: instances.iter().map(|_| AtomicUsize::new(0)).collect(), ..Default::default() });
    let stop = Arc::new(AtomicBool::new(false));
    let killed = Arc::new(AtomicBool::new(false));
    let bases: Vec<String> = instances.iter().map(|i| i.base.clone()).collect();
    let workers: Vec<_> = (0..8)
        .map(|w| {
            let (client, ledger, stop, killed, bases) = (client.clone(), ledger.clone(), stop.clone(), killed.clone(), bases.clone());
            tokio::spawn(async move {
                let target = w % bases.len();
                while !stop.load(Ordering::Relaxed) {
                    let ok = applicant(&client, &bases[target], &ledger).await.is_ok();
                    if ok && killed.load(Ordering::Relaxed) {
                        ledger.answered_after_kill[target].fetch_add(1, Ordering::Relaxed);
                    }
                    if !ok {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            })
        })
        .collect();

    tokio::time::sleep(Duration::from_secs(4)).await;
    let before_kill = ledger.accounts.lock().map(|a| a.len()).unwrap_or(0);
    if let Some(child) = instances[0].child.as_mut() {
        child.kill().expect("SIGKILL"); // Child::kill is SIGKILL on Unix
        child.wait().ok();
    }
    killed.store(true, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(2)).await;
    instances[0].child = Some(start(instances[0].port, &url, &endpoint, dir.path()));
    healthy(&client, &instances[0].base).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.ok();
    }

    // A message leased by the killed worker is due again once its lease (60 s on the shared
    // development clock) has passed.
    let (status, _) = post(&client, format!("{}/api/v1/dev/clock", bases[0]), &json!({ "advance_seconds": 61 })).await.expect("clock");
    assert_eq!(status, 200);
    let codes = ledger.codes.lock().map(|c| c.clone()).unwrap_or_default();
    let accounts = ledger.accounts.lock().map(|a| a.clone()).unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let delivered: std::collections::HashSet<String> = sent.lock().map(|s| s.iter().map(|(p, _)| p.clone()).collect()).unwrap_or_default();
        if codes.iter().all(|p| delivered.contains(p)) || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Give a duplicate, if any, the time to show up.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let sent = sent.lock().map(|s| s.clone()).unwrap_or_default();
    // Out ids (outbox rows) per phone, and sends per out id.
    let mut rows_per_phone: HashMap<&str, std::collections::HashSet<&str>> = HashMap::new();
    let mut per_out_id: HashMap<&str, usize> = HashMap::new();
    for (phone, out_id) in &sent {
        rows_per_phone.entry(phone.as_str()).or_default().insert(out_id.as_str());
        *per_out_id.entry(out_id.as_str()).or_default() += 1;
    }
    let repeated = sent.len() - per_out_id.len();
    println!(
        "crash test ({}): {} codes answered 202, {} sends ({} repeated), {} accounts answered 201 ({} before the kill), answers after the kill per instance {:?}",
        if postgres { "PostgreSQL, two instances" } else { "SQLite, one instance" },
        codes.len(),
        sent.len(),
        repeated,
        accounts.len(),
        before_kill,
        ledger.answered_after_kill.iter().map(|n| n.load(Ordering::Relaxed)).collect::<Vec<_>>()
    );
    assert!(codes.len() >= 8 && before_kill >= 4, "the load ran before the kill");
    for phone in &codes {
        assert_eq!(rows_per_phone.get(phone.as_str()).map(|r| r.len()), Some(1), "code for {phone} queued once and delivered");
    }
    // Exactly once, except for the one message the killed worker may have had at the provider when
    // it died: the provider took it, the row was never marked sent, and it goes out again after
    // the lease (the outbox is at-least-once across a crash; docs/operations.md).
    assert!(repeated <= 1 && per_out_id.values().all(|n| *n <= 2), "at most the in-flight message repeated: {repeated}");
    if postgres {
        assert!(ledger.answered_after_kill[1].load(Ordering::Relaxed) > 0, "the survivor kept serving");
    }

    // Every answered registration logs in (after the restart, on the restarted instance).
    for doc in &accounts {
        let token = captcha(&client, &bases[0], "login").await.expect("login captcha");
        let body = json!({ "doc_number": doc, "password": PASSWORD, "captcha_token": token, "entry": "certification" });
        let (status, answer) = post(&client, format!("{}/api/v1/sessions", bases[0]), &body).await.expect("login");
        assert_eq!(status, 200, "account {doc} answered 201 logs in: {answer}");
    }
    if postgres {
        // The database goes with a passing run (a failing one keeps it to look at).
        use sqlx::Executor;
        if let (Ok(admin), Some((_, name))) = (std::env::var("JSZG_TEST_DATABASE_URL"), url.rsplit_once('/')) {
            if let Ok(pool) = sqlx::PgPool::connect(&admin).await {
                let _ = pool.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str()).await;
            }
        }
    }
}
