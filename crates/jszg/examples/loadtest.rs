//! Load test against a running development-mode server (see bench/run.sh):
//! password logins per second beside a reference argon2id verification rate
//! measured in the same run, then a cookie for the `GET /api/v1/me` run.
//!
//! cargo run --release --example loadtest -- BASE_URL LOGINS CONCURRENCY

use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::Rng;
use serde_json::{json, Value};

const PASSWORD: &str = "Bench#2026pw";

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let base = args.get(1).cloned().unwrap_or_else(|| "http://127.0.0.1:8080".into());
    let logins: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(300);
    let concurrency: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(8);
    let client = reqwest::Client::new();

    // One account per worker, so per-number lockout never interferes.
    let mut docs = Vec::new();
    for _ in 0..concurrency {
        docs.push(register(&client, &base).await?);
    }
    // Captcha tokens are solved beforehand: the measurement is the login.
    let mut tokens = Vec::with_capacity(logins);
    while tokens.len() < logins {
        tokens.push(captcha_token(&client, &base, "login").await?);
    }
    let started = Instant::now();
    let chunks: Vec<Vec<String>> = tokens.chunks(logins.div_ceil(concurrency)).map(|c| c.to_vec()).collect();
    let mut handles = Vec::new();
    for (i, chunk) in chunks.into_iter().enumerate() {
        let (client, base, doc) = (client.clone(), base.clone(), docs[i % docs.len()].clone());
        handles.push(tokio::spawn(async move {
            let mut ok = 0usize;
            let mut latencies = Vec::with_capacity(chunk.len());
            for token in chunk {
                let sent = Instant::now();
                let res = client
                    .post(format!("{base}/api/v1/sessions"))
                    .json(&json!({ "doc_number": doc, "password": PASSWORD, "captcha_token": token, "entry": "certification" }))
                    .send()
                    .await;
                if res.map(|r| r.status().is_success()).unwrap_or(false) {
                    ok += 1;
                }
                latencies.push(sent.elapsed());
            }
            (ok, latencies)
        }));
    }
    let mut ok = 0;
    let mut latencies = Vec::new();
    for h in handles {
        let (n, l) = h.await?;
        ok += n;
        latencies.extend(l);
    }
    latencies.sort();
    let pct = |p: f64| latencies.get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1))).copied();
    let elapsed = started.elapsed();
    let login_rate = ok as f64 / elapsed.as_secs_f64();

    let verify_rate = reference_verify_rate(Duration::from_secs(5));
    println!("logins: {ok}/{logins} in {:.2} s = {login_rate:.1} logins/s", elapsed.as_secs_f64());
    if let (Some(p50), Some(p99)) = (pct(0.50), pct(0.99)) {
        println!("login latency: p50 {:.1} ms, p99 {:.1} ms", p50.as_secs_f64() * 1e3, p99.as_secs_f64() * 1e3);
    }
    println!("reference argon2id verify (m=19456 KiB, t=2, p=1, 2 threads): {verify_rate:.1} verifies/s");
    println!("login cost / verify cost: {:.3} (goal <= 1.15)", verify_rate / login_rate);

    // A session cookie for the GET /api/v1/me run.
    let token = captcha_token(&client, &base, "login").await?;
    let res = client
        .post(format!("{base}/api/v1/sessions"))
        .json(&json!({ "doc_number": docs[0], "password": PASSWORD, "captcha_token": token, "entry": "certification" }))
        .send()
        .await?;
    let cookie =
        res.headers().get("set-cookie").and_then(|v| v.to_str().ok()).and_then(|v| v.split(';').next()).unwrap_or_default().to_owned();
    println!("cookie: {cookie}");
    Ok(())
}

/// Verifications per second of one argon2id hash at the server's default
/// parameters, on two threads: what two cores can do at best.
fn reference_verify_rate(duration: Duration) -> f64 {
    let Ok(params) = Params::new(19 * 1024, 2, 1, None) else { return 0.0 };
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    let Ok(hash) = argon.hash_password(PASSWORD.as_bytes(), &salt).map(|h| h.to_string()) else { return 0.0 };
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let (argon, hash) = (argon.clone(), hash.clone());
            std::thread::spawn(move || {
                let Ok(parsed) = PasswordHash::new(&hash) else { return 0.0 };
                let started = Instant::now();
                let mut n = 0u64;
                while started.elapsed() < duration {
                    if argon.verify_password(PASSWORD.as_bytes(), &parsed).is_ok() {
                        n += 1;
                    }
                }
                n as f64 / started.elapsed().as_secs_f64()
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap_or(0.0)).sum()
}

async fn captcha_token(client: &reqwest::Client, base: &str, purpose: &str) -> Result<String> {
    let c: Value = client.post(format!("{base}/api/v1/captchas")).json(&json!({ "purpose": purpose })).send().await?.json().await?;
    let x = c["dev_solution"].as_i64().ok_or("no dev_solution: run the server in development mode")?;
    let track: Vec<Value> =
        jszg_captcha::human_track(&mut rand::thread_rng(), x).iter().map(|p| json!({ "t": p.t, "x": p.x, "y": p.y })).collect();
    let id = c["id"].as_str().unwrap_or_default();
    let puzzle = c["pow"]["challenge"].as_str().unwrap_or_default();
    let difficulty = c["pow"]["difficulty"].as_u64().and_then(|d| u32::try_from(d).ok()).unwrap_or(0);
    let nonce = jszg_captcha::pow::solve(puzzle, difficulty, 1 << 32).ok_or("no proof-of-work nonce")?.to_string();
    let body = json!({ "x": x, "track": track, "pow_nonce": nonce });
    let res: Value = client.post(format!("{base}/api/v1/captchas/{id}/answer")).json(&body).send().await?.json().await?;
    Ok(res["captcha_token"].as_str().ok_or("captcha not passed")?.to_owned())
}

async fn register(client: &reqwest::Client, base: &str) -> Result<String> {
    let (first17, phone) = {
        let mut rng = rand::thread_rng();
        (format!("11010519850315{:03}", rng.gen_range(0..1000)), format!("139{:08}", rng.gen_range(0..100_000_000u32)))
    };
    let doc = format!("{first17}{}", jszg_domain::resident_check_char(&first17).ok_or("check")?);
    let token = captcha_token(client, base, "sms").await?;
    client
        .post(format!("{base}/api/v1/verification-codes"))
        .json(&json!({ "channel": "sms", "phone": phone, "purpose": "register", "captcha_token": token }))
        .send()
        .await?;
    let outbox: Vec<Value> = client.get(format!("{base}/api/v1/dev/outbox")).query(&[("to", &phone)]).send().await?.json().await?;
    let body = outbox.first().and_then(|m| m["body"].as_str()).ok_or("no code")?;
    let code: String = body.chars().filter(|c| c.is_ascii_digit()).take(6).collect();
    let res = client
        .post(format!("{base}/api/v1/accounts"))
        .json(&json!({
            "doc_type": "resident_id", "doc_number": doc, "name": "测试", "validity": { "period": "20y", "start": "2020-05-01" },
            "password": PASSWORD, "password_confirm": PASSWORD, "email": "10001@qq.com", "phone": phone,
            "verification_code": code, "agree_terms": true
        }))
        .send()
        .await?;
    if !res.status().is_success() {
        return Err(format!("register: {}", res.text().await?).into());
    }
    Ok(doc)
}
