//! Real delivery (NOTE-1): mail to a real SMTP server (aiosmtpd, started
//! here on loopback) and SMS to a local server speaking Aliyun's protocol.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use jszg::config::{SmsConfig, SmsProvider, SmtpConfig};
use mail_parser::MimeHeaders;

use crate::helpers::*;

/// Whether the SMTP tests can run here. CI sets `JSZG_SMTP_TESTS=1` after
/// installing aiosmtpd, and then a missing server is a failure, not a skip.
fn smtp_available() -> bool {
    let ok = Command::new("python3").args(["-c", "import aiosmtpd"]).status().map(|s| s.success()).unwrap_or(false);
    if !ok {
        assert!(std::env::var("JSZG_SMTP_TESTS").is_err(), "JSZG_SMTP_TESTS is set but aiosmtpd is not installed");
        eprintln!("skipping: aiosmtpd is not installed (pip install aiosmtpd)");
    }
    ok
}

struct Sink {
    child: Child,
    dir: tempfile::TempDir,
}

impl Sink {
    fn start(port: u16) -> Sink {
        let dir = tempfile::tempdir().unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/smtp_sink.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(port.to_string())
            .arg(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 runs");
        use std::io::BufRead;
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "ready");
        Sink { child, dir }
    }

    fn messages(&self) -> Vec<Vec<u8>> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        files.sort();
        files.iter().map(|p| std::fs::read(p).unwrap()).collect()
    }

    async fn wait_for(&self, n: usize) -> Vec<Vec<u8>> {
        eventually(&format!("{n} messages at the sink"), Duration::from_secs(10), || async {
            let m = self.messages();
            (m.len() >= n).then_some(m)
        })
        .await
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn app_with_smtp(port: u16) -> TestApp {
    let (url, dir) = fresh_database().await;
    let mut config = test_config(&url);
    config.smtp =
        Some(SmtpConfig { url: format!("smtp://127.0.0.1:{port}"), from: "中国教师资格网 <noreply@jszg.example.cn>".into() });
    config.public_url = Some("https://www.jszg.example.cn".into());
    config.outbox.poll_ms = 50;
    spawn_with(config, dir).await
}

async fn send_reset_mail(app: &TestApp) -> String {
    let who = app.register_as("resident_id").await;
    let token = app.captcha_token("recovery").await;
    let res = app
        .post("/api/v1/recoveries", &json!({ "doc_type": "resident_id", "doc_number": who.doc, "name": "张三", "captcha_token": token }))
        .await;
    let id = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    assert_eq!(app.post(&format!("/api/v1/recoveries/{id}/email"), &json!({})).await.status(), StatusCode::ACCEPTED);
    who.doc
}

#[tokio::test]
async fn a_reset_mail_arrives_as_a_proper_mime_message_with_a_working_link() {
    if !smtp_available() {
        return;
    }
    let port = free_port();
    let sink = Sink::start(port);
    let app = app_with_smtp(port).await;
    let doc = send_reset_mail(&app).await;
    let raw = sink.wait_for(1).await.remove(0);
    let mail = mail_parser::MessageParser::default().parse(&raw).expect("a MIME message");
    assert_eq!(mail.subject(), Some("中国教师资格网密码重置"));
    let from = mail.from().and_then(|f| f.first()).unwrap();
    assert_eq!(from.address(), Some("noreply@jszg.example.cn"));
    assert_eq!(from.name(), Some("中国教师资格网"));
    assert_eq!(mail.to().and_then(|t| t.first()).and_then(|a| a.address()), Some("123456@qq.com"));
    let message_id = mail.message_id().unwrap();
    assert!(message_id.starts_with("outbox-") && message_id.ends_with("@jszg.example.cn"), "{message_id}");
    assert!(mail.date().is_some());
    let content_type = mail.content_type().unwrap();
    assert_eq!((content_type.ctype(), content_type.subtype()), ("multipart", Some("alternative")));
    let text = mail.body_text(0).unwrap().into_owned();
    let html = mail.body_html(0).unwrap().into_owned();
    assert!(text.contains("24小时内有效") && html.contains("24小时内有效"));
    let link = text.split_whitespace().find(|w| w.starts_with("https://www.jszg.example.cn/reset/")).expect("link in the text part");
    assert!(html.contains(&format!("href=\"{link}\"")), "the same link in the HTML part");
    let token = link.rsplit('/').next().unwrap();
    let res = app
        .post("/api/v1/password-resets", &json!({ "token": token, "new_password": "Mailed#2026", "new_password_confirm": "Mailed#2026" }))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.login(&doc, "Mailed#2026", "certification").await.status(), StatusCode::OK);
    // Delivered means marked sent once.
    let outbox = app.outbox("123456@qq.com").await;
    assert_eq!((outbox[0]["status"].as_str(), outbox[0]["attempts"].as_i64()), (Some("sent"), Some(1)));
}

#[tokio::test]
async fn an_smtp_server_that_is_down_then_up_gets_the_mail_once() {
    if !smtp_available() {
        return;
    }
    let port = free_port();
    let app = app_with_smtp(port).await;
    send_reset_mail(&app).await;
    // Nobody listens: the first attempt fails and is scheduled again. Wait for the failure to be
    // recorded, not only for the attempt to start: a slow first attempt would otherwise find
    // the server below already up.
    let failed = eventually("the first attempt's failure recorded", Duration::from_secs(10), || async {
        let first = app.outbox("123456@qq.com").await.remove(0);
        (first["last_attempt_failed"] == true).then_some(first)
    })
    .await;
    assert_eq!((failed["status"].as_str(), failed["attempts"].as_i64()), (Some("pending"), Some(1)));
    let sink = Sink::start(port);
    app.advance_clock(3600).await;
    app.app.wake_outbox();
    assert_eq!(sink.wait_for(1).await.len(), 1);
    eventually("the mail marked sent", Duration::from_secs(5), || async {
        (app.outbox("123456@qq.com").await[0]["status"] == "sent").then_some(())
    })
    .await;
    // More time passes and more polls happen: still one mail.
    app.advance_clock(3600).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sink.messages().len(), 1);
    let sent = &app.outbox("123456@qq.com").await[0];
    assert_eq!((sent["status"].as_str(), sent["attempts"].as_i64()), (Some("sent"), Some(2)));
}

/// A local server speaking Aliyun Dysms' RPC protocol: it checks the
/// signature the way Aliyun documents it and records what was sent.
async fn aliyun(secret: &'static str) -> (String, Arc<Mutex<Vec<std::collections::BTreeMap<String, String>>>>) {
    use hmac::{Hmac, Mac};
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let router = axum::Router::new().route(
        "/",
        axum::routing::get(move |axum::extract::RawQuery(query): axum::extract::RawQuery| {
            let record = record.clone();
            async move {
                let query = query.unwrap_or_default();
                let mut params: std::collections::BTreeMap<String, String> = url_pairs(&query).into_iter().collect();
                let signature = params.remove("Signature").unwrap_or_default();
                let canonical = params
                    .iter()
                    .map(|(k, v)| format!("{}={}", jszg::adapters::sms::percent_encode(k), jszg::adapters::sms::percent_encode(v)))
                    .collect::<Vec<_>>()
                    .join("&");
                let to_sign = format!("GET&%2F&{}", jszg::adapters::sms::percent_encode(&canonical));
                let mut mac = <Hmac<sha1::Sha1> as Mac>::new_from_slice(format!("{secret}&").as_bytes()).unwrap();
                mac.update(to_sign.as_bytes());
                use base64::Engine;
                let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
                if expected != signature {
                    return axum::Json(json!({ "Code": "SignatureDoesNotMatch" }));
                }
                record.lock().unwrap().push(params);
                axum::Json(json!({ "Code": "OK", "Message": "OK", "BizId": "1", "RequestId": "r" }))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.ok() });
    (format!("http://{addr}/"), seen)
}

fn url_pairs(query: &str) -> Vec<(String, String)> {
    query.split('&').filter_map(|pair| pair.split_once('=')).map(|(k, v)| (decode(k), decode(v))).collect()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

#[tokio::test]
async fn sms_codes_go_out_through_the_provider_template() {
    let (endpoint, seen) = aliyun("test-secret").await;
    let (url, dir) = fresh_database().await;
    let mut config = test_config(&url);
    config.sms = Some(SmsConfig {
        provider: SmsProvider::Aliyun,
        access_key_id: "LTAI-test".into(),
        access_key_secret: "test-secret".into(),
        sign_name: "中国教师资格网".into(),
        code_template: "SMS_000001".into(),
        notice_template: "SMS_000002".into(),
        sdk_app_id: None,
        region: None,
        endpoint: Some(endpoint),
    });
    config.outbox.poll_ms = 50;
    let app = spawn_with(config, dir).await;
    let phone = phone();
    let code = app.sms_code(&phone).await;
    let sent = eventually("the SMS at the provider", Duration::from_secs(5), || async {
        let seen = seen.lock().unwrap().clone();
        (!seen.is_empty()).then_some(seen)
    })
    .await;
    assert_eq!(sent.len(), 1, "signed correctly and sent once");
    assert_eq!(sent[0]["PhoneNumbers"], phone);
    assert_eq!(sent[0]["TemplateCode"], "SMS_000001");
    assert_eq!(sent[0]["SignName"], "中国教师资格网");
    let param: Value = serde_json::from_str(&sent[0]["TemplateParam"]).unwrap();
    assert_eq!(param["code"], code);
}
