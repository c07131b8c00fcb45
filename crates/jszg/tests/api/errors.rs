//! One error shape (issue 17 item 1): every error under `/api/` is our JSON
//! with a Chinese message, pages get the error page, whatever answered.

use reqwest::StatusCode;

use crate::helpers::*;

async fn json_error(res: reqwest::Response) -> (StatusCode, String, String) {
    let status = res.status();
    let content_type = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    assert!(content_type.starts_with("application/json"), "{status}: content-type {content_type:?}");
    let body: serde_json::Value = res.json().await.expect("json");
    (status, body["error"]["code"].as_str().unwrap_or("").to_owned(), body["error"]["message"].as_str().unwrap_or("").to_owned())
}

async fn html_error(res: reqwest::Response) -> (StatusCode, String) {
    let status = res.status();
    let content_type = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    assert!(content_type.starts_with("text/html"), "{status}: content-type {content_type:?}");
    (status, res.text().await.expect("text"))
}

#[tokio::test]
async fn oversized_bodies_are_payload_too_large_in_json() {
    let app = spawn_app().await;
    // 10 MB of JSON on an anonymous JSON endpoint.
    let big = format!("{{\"doc_number\": \"{}\"}}", "1".repeat(10 * 1024 * 1024));
    let res = app.client.post(app.url("/api/v1/accounts")).header("content-type", "application/json").body(big).send().await.unwrap();
    let (status, code, message) = json_error(res).await;
    assert_eq!((status, code.as_str()), (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"));
    assert!(message.contains("过大") && !message.contains("JSON"), "{message}");
    // 3 MB on /me/realname (raw bytes, signed in): the same shape.
    app.applicant().await;
    let res = app
        .client
        .post(app.url("/api/v1/me/realname"))
        .header("content-type", "application/json")
        .body(vec![b' '; 3 << 20])
        .send()
        .await
        .unwrap();
    let (status, code, _) = json_error(res).await;
    assert_eq!((status, code.as_str()), (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"));
    // Just under the JSON limit is read (and judged on its content).
    let res = app
        .client
        .post(app.url("/api/v1/me/realname"))
        .header("content-type", "application/json")
        .body(vec![b' '; 100 * 1024])
        .send()
        .await
        .unwrap();
    assert_ne!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // Photo uploads may be larger than JSON, up to their own limit.
    let form = reqwest::multipart::Form::new().part("front", part(vec![0xFF; 300 * 1024], "front.jpg"));
    let (status, code, _) = json_error(app.submit_review(form).await).await;
    assert_eq!((status, code.as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_photo"), "a 300 KB part is read, then judged");
    let form = reqwest::multipart::Form::new().part("front", part(vec![0xFF; 2 << 20], "front.jpg"));
    let (status, code, _) = json_error(app.submit_review(form).await).await;
    assert_eq!((status, code.as_str()), (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"));
}

#[tokio::test]
async fn multipart_without_boundary_unknown_routes_and_methods_are_json() {
    let app = spawn_app().await;
    let no_boundary = |path: &str| app.client.post(app.url(path)).header("content-type", "multipart/form-data").body("front=1").send();
    let (status, code, message) = json_error(no_boundary("/api/v1/recoveries/0/contact-changes").await.unwrap()).await;
    assert_eq!((status, code.as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_request"));
    assert!(message.contains("multipart"), "{message}");
    let (status, code, _) = json_error(no_boundary("/api/v1/me/reviews").await.unwrap()).await;
    assert_eq!((status, code.as_str()), (StatusCode::UNAUTHORIZED, "not_logged_in"));
    app.applicant().await;
    let (status, code, _) = json_error(no_boundary("/api/v1/me/reviews").await.unwrap()).await;
    assert_eq!((status, code.as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_request"));

    for path in ["/api/v1/nothing-here", "/api/v2/captchas", "/api/"] {
        let (status, code, message) = json_error(app.get(path).await).await;
        assert_eq!((status, code.as_str()), (StatusCode::NOT_FOUND, "not_found"), "{path}");
        assert!(!message.is_empty());
    }
    let res = app.client.delete(app.url("/api/v1/captchas")).send().await.unwrap();
    assert!(res.headers().get("allow").is_some_and(|v| v.to_str().unwrap().contains("POST")), "{:?}", res.headers());
    let (status, code, _) = json_error(res).await;
    assert_eq!((status, code.as_str()), (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"));
    let (status, code, _) = json_error(app.get("/api/v1/sessions").await).await;
    assert_eq!((status, code.as_str()), (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"));
    // A form where JSON is expected stays the JSON error it was.
    let res = app.client.post(app.url("/api/v1/captchas")).form(&[("purpose", "sms")]).send().await.unwrap();
    let (status, code, _) = json_error(res).await;
    assert_eq!((status, code.as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_request"));
}

/// A GET by hand: clients refuse to build a URL this long. Returns the
/// status line, the headers and the body.
async fn raw_get(app: &TestApp, target: &str) -> (String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(app.base.trim_start_matches("http://")).await.unwrap();
    stream.write_all(format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
    let text = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (head.to_ascii_lowercase(), body.to_owned())
}

#[tokio::test]
async fn overlong_urls_are_414_json() {
    let app = spawn_app().await;
    // 100 k characters: past hyper's own limit, answered before hyper parses.
    let (head, body) = raw_get(&app, &format!("/api/v1/captchas?q={}", "a".repeat(100_000))).await;
    assert!(head.starts_with("http/1.1 414") && head.contains("content-type: application/json"), "{head}");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&body).unwrap()["error"]["code"], "uri_too_long");
    let (head, body) = raw_get(&app, &format!("/login/certification?q={}", "a".repeat(100_000))).await;
    assert!(head.starts_with("http/1.1 414") && head.contains("text/html"), "{head}");
    assert!(body.contains("地址过长"));
    // 20 k: hyper parses it, the router refuses it; also on a kept-alive connection.
    let client = app.another_client();
    assert_eq!(client.get("/healthz").await.status(), StatusCode::OK);
    let long = format!("/api/v1/captchas?q={}", "a".repeat(20_000));
    let (status, code, _) = json_error(client.get(&long).await).await;
    assert_eq!((status, code.as_str()), (StatusCode::URI_TOO_LONG, "uri_too_long"));
    assert_eq!(app.get("/api/v1/openapi.json").await.status(), StatusCode::OK, "the server still serves");
}

#[tokio::test]
async fn pages_get_the_error_page() {
    let app = spawn_app().await;
    let (status, page) = html_error(app.get("/no-such-page").await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(page.contains("页面不存在"));
    let (status, page) = html_error(app.get("/static/missing.css").await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(page.contains("页面不存在"));
    let (status, _) = html_error(app.client.delete(app.url("/register")).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    // A form far over the limit.
    let big = format!("username=a&password={}", "x".repeat(300 * 1024));
    let res = app
        .client
        .post(app.url("/staff/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(big)
        .send()
        .await
        .unwrap();
    let (status, page) = html_error(res).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(page.contains("过大"));
    // A form that is not a form.
    let res = app.client.post(app.url("/staff/login")).header("content-type", "text/plain").body("hello").send().await.unwrap();
    let (status, page) = html_error(res).await;
    assert!(status.is_client_error());
    assert!(page.contains("请求有误"));
}
