//! The top of the stack: the server loop that builds the router and runs the
//! background workers (outbox delivery, the retention sweep, housekeeping) beside it.
//!
//! Connections are served by hyper directly rather than `axum::serve`, for
//! what a slow or idle client may hold (docs/hardening.md): a cap on open
//! connections, a header-read timeout, and our own answer to a request line
//! too long for hyper (which would otherwise answer an empty 414).

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::StatusCode;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tower::ServiceExt;

use crate::app::App;

/// Serve until `shutdown` resolves; background tasks stop with it.
pub async fn serve(
    app: App,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    if app.standin {
        // The stand-in business needs its client secrets before the first request.
        if let Err(err) = crate::flows::dev::ensure_dev_secrets(&app).await {
            return Err(io::Error::other(err.message.into_owned()));
        }
    }
    if let (Some(simulator), Ok(addr)) = (app.wechat_simulator(), listener.local_addr()) {
        simulator.listening_on(addr);
    }
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = Vec::new();
    if app.config.outbox.worker {
        tasks.push(tokio::spawn(crate::flows::notify::run_worker(app.clone(), stop_rx.clone())));
    }
    tasks.push(tokio::spawn(crate::flows::retention::run(app.clone(), stop_rx.clone())));
    tasks.push(tokio::spawn(housekeeping(app.clone(), stop_rx)));
    let router = crate::http::router(app.clone());
    let limits = &app.config.server;
    let max_connections = limits.max_connections.max(1);
    let caps = Caps {
        total: max_connections,
        per_address: if app.config.trust_forwarded_for {
            None
        } else {
            Some(limits.max_connections_per_address.unwrap_or(max_connections / 4).max(1))
        },
    };
    let result = accept_loop(listener, router, caps, Duration::from_secs(limits.header_timeout_secs.max(1)), shutdown).await;
    let _ = stop_tx.send(true);
    for task in tasks {
        let _ = task.await;
    }
    result
}

/// What the accept loop lets in: connections in all, and from one address.
struct Caps {
    total: usize,
    per_address: Option<usize>,
}

/// Open connections per client address; a [`Slot`] gives its place back when dropped.
#[derive(Clone, Default)]
struct PerAddress(Arc<std::sync::Mutex<std::collections::HashMap<IpAddr, usize>>>);

struct Slot {
    map: PerAddress,
    ip: IpAddr,
}

impl PerAddress {
    fn take(&self, ip: IpAddr, cap: usize) -> Option<Slot> {
        let mut map = self.0.lock().ok()?;
        let open = map.entry(ip).or_insert(0);
        if *open >= cap {
            return None;
        }
        *open += 1;
        Some(Slot { map: self.clone(), ip })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Ok(mut map) = self.map.0.lock() {
            if let Some(open) = map.get_mut(&self.ip) {
                *open -= 1;
                if *open == 0 {
                    map.remove(&self.ip);
                }
            }
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    router: Router,
    caps: Caps,
    header_timeout: Duration,
    shutdown: impl std::future::Future<Output = ()>,
) -> io::Result<()> {
    let permits = Arc::new(Semaphore::new(caps.total));
    let per_address = PerAddress::default();
    // Each connection holds a receiver: `true` asks it to finish gracefully,
    // and the sender sees it closed once every connection has ended.
    let (closing_tx, closing_rx) = watch::channel(false);
    let mut shutdown = pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(err) => {
                    // Out of file descriptors or a connection reset before
                    // accept: wait a little rather than spin.
                    tracing::warn!(error = %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let slot = match caps.per_address {
            Some(cap) => match per_address.take(peer.ip().to_canonical(), cap) {
                Some(slot) => Some(slot),
                None => {
                    refuse_busy(&stream, "too many open connections from one address");
                    continue;
                }
            },
            None => None,
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            refuse_busy(&stream, "too many open connections");
            continue;
        };
        let router = router.clone();
        let closing = closing_rx.clone();
        tokio::spawn(async move {
            serve_connection(stream, peer, router, header_timeout, closing).await;
            drop((permit, slot));
        });
    }
    drop(listener);
    drop(closing_rx);
    let _ = closing_tx.send(true);
    closing_tx.closed().await;
    Ok(())
}

/// Over a connection cap: say so in one write and close, without a task.
fn refuse_busy(stream: &TcpStream, why: &'static str) {
    tracing::warn!("connection refused: {why}");
    let body = crate::http::status_error(StatusCode::SERVICE_UNAVAILABLE).body().to_string();
    let head = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.try_write(format!("{head}{body}").as_bytes());
}

/// Request lines longer than this are refused before hyper sees them; a
/// kept-alive connection's later requests are checked in `crate::http`.
pub const MAX_REQUEST_LINE: usize = crate::http::MAX_URI_LEN + 32;

async fn serve_connection(
    mut stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    header_timeout: Duration,
    mut closing: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let prefix = match tokio::time::timeout(header_timeout, read_request_line(&mut stream)).await {
        Ok(Ok(FirstLine::Fits(prefix))) => prefix,
        Ok(Ok(FirstLine::TooLong(prefix))) => {
            let api = prefix.split(|b| *b == b' ').nth(1).is_some_and(|path| path.starts_with(b"/api/"));
            let response = crate::http::status_response(StatusCode::URI_TOO_LONG, api);
            let _ = tokio::time::timeout(header_timeout, write_response(&mut stream, response)).await;
            return;
        }
        // Closed, reset or too slow: nothing to answer.
        Ok(Ok(FirstLine::Closed)) | Ok(Err(_)) | Err(_) => return,
    };
    let io = TokioIo::new(Prefixed { prefix, pos: 0, inner: stream });
    let service = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
        // Handlers and `ClientIp` read the peer as axum::serve would give it.
        req.extensions_mut().insert(ConnectInfo(peer));
        router.clone().oneshot(req.map(axum::body::Body::new))
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(header_timeout);
    let mut conn = pin!(builder.serve_connection(io, service));
    let mut asked = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(err) = result {
                    tracing::debug!(error = %err, "connection ended with an error");
                }
                return;
            }
            changed = closing.changed(), if !asked => {
                asked = true;
                if changed.is_ok() {
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

enum FirstLine {
    Fits(Vec<u8>),
    TooLong(Vec<u8>),
    Closed,
}

/// Read until the end of the request line (or past the limit).
async fn read_request_line(stream: &mut TcpStream) -> io::Result<FirstLine> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    loop {
        if buf.contains(&b'\n') {
            return Ok(FirstLine::Fits(buf));
        }
        if buf.len() > MAX_REQUEST_LINE {
            return Ok(FirstLine::TooLong(buf));
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(FirstLine::Closed);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Write a whole response by hand (the connection is not hyper's yet) and close.
async fn write_response(stream: &mut TcpStream, response: axum::response::Response) -> io::Result<()> {
    let (parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default();
    let mut head = format!("HTTP/1.1 {} {}\r\n", parts.status.as_u16(), parts.status.canonical_reason().unwrap_or(""));
    for (name, value) in &parts.headers {
        if let Ok(value) = value.to_str() {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    head.push_str(&format!("content-length: {}\r\nconnection: close\r\n\r\n", body.len()));
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(&body).await?;
    stream.shutdown().await
}

/// The stream with the bytes already read for the request line put back.
struct Prefixed {
    prefix: Vec<u8>,
    pos: usize,
    inner: TcpStream,
}

impl AsyncRead for Prefixed {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        if self.pos < self.prefix.len() {
            let n = (self.prefix.len() - self.pos).min(buf.remaining());
            let start = self.pos;
            buf.put_slice(&self.prefix[start..start + n]);
            self.pos += n;
            if self.pos == self.prefix.len() {
                self.prefix = Vec::new();
                self.pos = 0;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Prefixed {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
    fn poll_write_vectored(mut self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// Drop expired ministry-login attempts and OpenID Connect codes and tokens
/// now and then (the retention sweep handles the rest); they are refused when
/// expired anyway, this only keeps the tables small.
async fn housekeeping(app: App, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(60)) => {}
            _ = stop.changed() => return,
        }
        let now = app.clock.unix();
        if let Err(err) = crate::store::upstream::purge(&app.db, now - crate::flows::upstream_login::PENDING_SECS).await {
            tracing::warn!(error = %err, "housekeeping failed");
        }
        if let Err(err) = crate::store::oidc::purge_expired(&app.db, now).await {
            tracing::warn!(error = %err, "housekeeping failed");
        }
    }
}
