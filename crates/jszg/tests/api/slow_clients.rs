//! Slow and idle clients (issue 17 item 2): a bounded slowloris against
//! short timeouts; health checks keep answering and the slow connections
//! are closed.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;

async fn spawn_strict(max_connections: usize, header_secs: u64, body_secs: u64) -> TestApp {
    spawn_strict_per_address(max_connections, None, header_secs, body_secs).await
}

async fn spawn_strict_per_address(max_connections: usize, per_address: Option<usize>, header_secs: u64, body_secs: u64) -> TestApp {
    let (url, dir) = fresh_database().await;
    let mut config = test_config(&url);
    config.server.max_connections = max_connections;
    config.server.max_connections_per_address = per_address;
    config.server.header_timeout_secs = header_secs;
    config.server.body_timeout_secs = body_secs;
    spawn_with(config, dir).await
}

fn addr(app: &TestApp) -> String {
    app.base.trim_start_matches("http://").to_owned()
}

/// Everything the server sends until it closes, or `None` if it keeps the
/// connection open past `wait`.
async fn until_closed(stream: &mut (impl AsyncRead + Unpin), wait: Duration) -> Option<Vec<u8>> {
    let mut seen = Vec::new();
    let deadline = Instant::now() + wait;
    let mut chunk = [0u8; 4096];
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        match tokio::time::timeout(left, stream.read(&mut chunk)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(seen),
            Ok(Ok(n)) => seen.extend_from_slice(&chunk[..n]),
        }
    }
}

async fn healthz_quickly(app: &TestApp) -> Duration {
    let started = Instant::now();
    let res = app.another_client().get("/healthz").await;
    let took = started.elapsed();
    assert_eq!(res.status(), StatusCode::OK);
    took
}

#[tokio::test]
async fn a_bounded_slowloris_is_timed_out_and_health_checks_answer() {
    // The timeouts are the subject: the slowloris and the health checks share 127.0.0.1, so the
    // per-address share is lifted here (it has its own test below).
    let app = spawn_strict_per_address(800, Some(800), 2, 2).await;
    let target = addr(&app);
    let mut partial_headers = Vec::new();
    for i in 0..300 {
        let mut s = TcpStream::connect(&target).await.unwrap();
        s.write_all(format!("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow-{i}: ").as_bytes()).await.unwrap();
        partial_headers.push(s);
    }
    let mut idle = Vec::new();
    for _ in 0..50 {
        idle.push(TcpStream::connect(&target).await.unwrap());
    }
    let mut partial_bodies = Vec::new();
    for _ in 0..50 {
        let mut s = TcpStream::connect(&target).await.unwrap();
        s.write_all(
            b"POST /api/v1/accounts/checks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"doc",
        )
        .await
        .unwrap();
        partial_bodies.push(s);
    }
    let started = Instant::now();
    let took = healthz_quickly(&app).await;
    assert!(took < Duration::from_secs(1), "/healthz took {took:?} under 400 slow connections");

    // Closed after the timeouts (2 s; a first request line read apart may add
    // up to one more header timeout), never left open.
    let wait = Duration::from_secs(8);
    for s in &mut partial_headers {
        assert!(until_closed(s, wait).await.is_some(), "a partial header was kept open");
    }
    for s in &mut idle {
        assert_eq!(until_closed(s, wait).await, Some(Vec::new()), "an idle connection was kept open");
    }
    for s in &mut partial_bodies {
        let answer = until_closed(s, wait).await.expect("a partial body was kept open");
        let text = String::from_utf8_lossy(&answer);
        assert!(text.starts_with("HTTP/1.1 408"), "{text}");
        assert!(text.contains("request_timeout"), "{text}");
    }
    let all_closed = started.elapsed();
    assert!(all_closed >= Duration::from_millis(1500), "closed after the timeout, not before: {all_closed:?}");
    assert!(healthz_quickly(&app).await < Duration::from_secs(1));
}

#[tokio::test]
async fn a_trickled_body_is_cut_at_the_body_deadline() {
    let app = spawn_strict(800, 2, 2).await;
    let s = TcpStream::connect(addr(&app)).await.unwrap();
    let (mut rd, mut wr) = s.into_split();
    wr.write_all(b"POST /api/v1/accounts/checks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n")
        .await
        .unwrap();
    // One byte every 300 ms never leaves the body idle for long, yet the
    // whole body has 2 s.
    let started = Instant::now();
    let writer = tokio::spawn(async move {
        for _ in 0..30 {
            if wr.write_all(b" ").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    });
    let answer = until_closed(&mut rd, Duration::from_secs(6)).await.expect("closed");
    let took = started.elapsed();
    writer.abort();
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.to_ascii_lowercase().contains("connection: close"), "{text}");
    assert!(took >= Duration::from_millis(1800) && took < Duration::from_secs(5), "{took:?}");
}

#[tokio::test]
async fn connections_over_the_cap_are_refused_with_503() {
    let app = spawn_strict(20, 10, 10).await;
    let target = addr(&app);
    let mut held = Vec::new();
    for _ in 0..20 {
        held.push(TcpStream::connect(&target).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut extra = TcpStream::connect(&target).await.unwrap();
    let answer = until_closed(&mut extra, Duration::from_secs(3)).await.expect("refused at once");
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 503"), "{text}");
    assert!(text.contains("server_busy"), "{text}");
    drop(held);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(healthz_quickly(&app).await < Duration::from_secs(1), "served again once connections close");
}

/// Hardening round 2, item 8: one address cannot hold every connection. With the cap at 100,
/// 150 idle sockets from one address made real health checks get 503; now that address gets
/// its share (a quarter by default) and everybody else still gets in.
#[tokio::test]
async fn one_address_cannot_hold_every_connection() {
    let app = spawn_strict(100, 30, 30).await;
    let target = addr(&app);
    let attacker: std::net::SocketAddr = "127.91.0.1:0".parse().unwrap();
    let mut held = Vec::new();
    let mut refused = 0;
    for _ in 0..150 {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(attacker).unwrap();
        let mut s = socket.connect(target.parse().unwrap()).await.unwrap();
        // A refused connection is answered at once and closed; an admitted one waits.
        if let Some(answer) = until_closed(&mut s, Duration::from_millis(30)).await {
            assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 503"), "{}", String::from_utf8_lossy(&answer));
            refused += 1;
        } else {
            held.push(s);
        }
    }
    // On a busy machine a refusal can take longer than 30 ms to arrive: look again at the
    // sockets counted as held before judging.
    let mut admitted = Vec::new();
    for mut s in held {
        match until_closed(&mut s, Duration::from_millis(200)).await {
            // The first look may have consumed the start of the 503 already.
            Some(_) => refused += 1,
            None => admitted.push(s),
        }
    }
    let mut held = admitted;
    assert_eq!((held.len(), refused), (25, 125), "a quarter of 100 per address");
    // Health checks from elsewhere answer at once.
    for _ in 0..10 {
        assert!(healthz_quickly(&app).await < Duration::from_secs(1));
    }
    // Closing its connections gives the address its share back.
    held.clear();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let from_attacker = app.seen_from("127.91.0.1");
    assert_eq!(from_attacker.get("/healthz").await.status(), StatusCode::OK);
}
