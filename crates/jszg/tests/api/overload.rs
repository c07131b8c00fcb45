//! Overload (REL-3): the password workers have a bounded queue. A burst of logins beyond
//! it is refused at once with 503 `server_busy` and `Retry-After`, not queued without bound;
//! once the burst has passed, logins work again.

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{json, Value};

use jszg::config::Argon2Config;

use crate::helpers::*;

#[tokio::test]
async fn a_login_burst_beyond_the_password_queue_gets_503_then_logins_work_again() {
    let (url, dir) = fresh_database().await;
    let mut config = test_config(&url);
    // One slow worker and room for two waiting jobs.
    config.argon2 = Argon2Config { memory_kib: 16 * 1024, iterations: 4, parallelism: 1, max_concurrent: 1, queue_limit: 2 };
    let app = spawn_with(config, dir).await;
    let who = app.register_as("resident_id").await;

    // Unknown numbers, so no per-number delay spreads the burst out (each still costs a verify).
    let mut bodies = vec![];
    for _ in 0..16 {
        let token = app.captcha_token("login").await;
        bodies.push(json!({ "doc_number": resident_id(date("1990-01-01")), "password": PASSWORD, "captcha_token": token, "entry": "certification" }));
    }
    let answers = join_all(bodies.iter().map(|body| async {
        let res = app.post("/api/v1/sessions", body).await;
        let retry = res.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let status = res.status();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        (status, retry, body)
    }))
    .await;

    let busy: Vec<_> = answers.iter().filter(|(s, ..)| *s == StatusCode::SERVICE_UNAVAILABLE).collect();
    let judged = answers.iter().filter(|(s, ..)| *s == StatusCode::UNAUTHORIZED).count();
    assert_eq!(busy.len() + judged, answers.len(), "only 401 or 503: {answers:?}");
    assert!(!busy.is_empty(), "a burst of 16 beyond one worker and a queue of 2 is refused in part");
    // The queue holds two jobs; the worker frees a third place only once the scheduler runs it
    // and it takes its first job, which on a loaded machine can come after the whole burst.
    assert!(judged >= 2, "the queued jobs are answered: {judged}");
    for (_, retry, body) in &busy {
        assert_eq!(body["error"]["code"], "server_busy");
        assert!(body["error"]["message"].as_str().unwrap_or_default().contains("请稍后重试"));
        assert_eq!(retry.as_deref(), Some("1"));
    }

    // The queue drains: the applicant gets in.
    assert_eq!(app.login(&who.doc, PASSWORD, "certification").await.status(), StatusCode::OK);
}
