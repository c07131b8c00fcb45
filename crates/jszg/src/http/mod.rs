//! The HTTP layer: routes, extractors, JSON errors, pages, and the
//! cross-cutting middleware (security headers, CSRF, request logs).

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequest, FromRequestParts, MatchedPath, Request, State};
use axum::http::{header, request::Parts, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::de::DeserializeOwned;

use crate::app::App;
use crate::error::{AppError, ErrorCode};
use crate::flows::quotas::Source;

pub mod api;
pub mod assets;
pub mod metrics;
pub mod oidc;
pub mod pages;
pub mod session;
pub mod dev;
pub mod wechat;

/// Largest JSON or form body: a captcha track of `jszg_captcha::MAX_POINTS`
/// points is about 40 KB.
pub const JSON_BODY_LIMIT: usize = 128 * 1024;
/// Largest multipart upload: three photos under 190 KB each and a few fields.
pub const UPLOAD_BODY_LIMIT: usize = 1024 * 1024;
/// Longest path and query accepted.
pub const MAX_URI_LEN: usize = 16 * 1024;

/// The body limit of the routes that take photos.
pub fn upload_limit() -> DefaultBodyLimit {
    DefaultBodyLimit::max(UPLOAD_BODY_LIMIT)
}

pub fn router(app: App) -> Router {
    let mut routes = Router::new()
        .merge(api::router(app.dev))
        .merge(pages::router(app.dev, &app.config.site))
        .merge(assets::router())
        .merge(oidc::router())
        .merge(wechat::router());
    if app.dev {
        routes = routes.merge(dev::router());
    }
    let mut routes = routes.route_layer(middleware::from_fn_with_state(app.clone(), log_request));
    if app.dev {
        routes = routes.layer(middleware::from_fn_with_state(app.clone(), follow_dev_clock));
    }
    // Health checks stay outside the database-backed layers: /healthz must
    // answer while the database is down.
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics::render))
        .merge(routes)
        .fallback(|uri: Uri| async move { status_response(StatusCode::NOT_FOUND, is_api(uri.path())) })
        .method_not_allowed_fallback(|uri: Uri| async move { status_response(StatusCode::METHOD_NOT_ALLOWED, is_api(uri.path())) })
        .layer(middleware::from_fn(refuse_cross_site))
        .layer(middleware::from_fn_with_state(app.clone(), body_deadline))
        .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT))
        .layer(middleware::from_fn(uniform_errors))
        .layer(middleware::from_fn(pages::care_mode))
        .layer(middleware::from_fn_with_state(app.dev, security_headers))
        .layer(axum::Extension(PublicScheme::of(&app.config.public_url())))
        .with_state(app)
}

/// The scheme applicants reach the site by (`public_url`'s): an `Origin` must carry it too.
#[derive(Clone, Copy)]
struct PublicScheme(&'static str);

impl PublicScheme {
    fn of(public_url: &str) -> Self {
        Self(if public_url.to_ascii_lowercase().starts_with("https://") { "https" } else { "http" })
    }
}

fn is_api(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}

/// The error for a status the framework (or hyper) answers on its own.
pub fn status_error(status: StatusCode) -> AppError {
    let (code, message) = match status {
        StatusCode::NOT_FOUND => (ErrorCode::NotFound, "请求的接口不存在，请检查请求地址。"),
        StatusCode::METHOD_NOT_ALLOWED => (ErrorCode::MethodNotAllowed, "该接口不支持此请求方法，请检查请求方法。"),
        StatusCode::REQUEST_TIMEOUT => (ErrorCode::RequestTimeout, "请求内容发送超时，请检查网络后重新提交。"),
        StatusCode::PAYLOAD_TOO_LARGE => (ErrorCode::PayloadTooLarge, "提交的内容过大，超过了允许的上限，请精简或压缩后重新提交。"),
        StatusCode::URI_TOO_LONG => (ErrorCode::UriTooLong, "请求地址过长，请检查后重新提交。"),
        StatusCode::SERVICE_UNAVAILABLE => (ErrorCode::ServerBusy, "当前访问人数较多，请稍后重试。"),
        s if s.is_server_error() => (ErrorCode::Internal, "系统繁忙，请稍后重试。"),
        _ => (ErrorCode::InvalidRequest, "请求格式不正确，请检查后重新提交。"),
    };
    // The framework's own status stands (an unlisted 4xx reads as invalid_request).
    AppError::new(code, message).with_status(status)
}

/// `status_error` as JSON on `/api/`, as the error page elsewhere.
pub fn status_response(status: StatusCode, api: bool) -> Response {
    if api {
        return status_error(status).into_response();
    }
    let (title, message) = match status {
        StatusCode::NOT_FOUND => ("页面不存在", "您访问的页面不存在。"),
        StatusCode::METHOD_NOT_ALLOWED => ("操作方式不正确", "该页面不支持此操作，请返回主页重新操作。"),
        StatusCode::REQUEST_TIMEOUT => ("提交超时", "表单内容发送超时，请检查网络后重新提交。"),
        StatusCode::PAYLOAD_TOO_LARGE => ("提交的内容过大", "提交的内容超过了允许的大小，请精简后重新提交。"),
        StatusCode::URI_TOO_LONG => ("地址过长", "您访问的地址过长，请检查后重试。"),
        s if s.is_server_error() => ("系统繁忙", "系统繁忙，请稍后重试。"),
        _ => ("请求有误", "提交的内容无法识别，请返回上一页重新填写。"),
    };
    page_error(status, title, message)
}

fn page_error(status: StatusCode, title: &str, message: &str) -> Response {
    (status, pages::render(&pages::ErrorPage { title, message })).into_response()
}

/// One error shape: on `/api/` every error is our JSON, on pages the error
/// page. Framework answers (extractor rejections in plain text, empty 404,
/// 405, 413) are rewritten here, keeping headers such as `Allow`.
async fn uniform_errors(req: Request, next: Next) -> Response {
    let api = is_api(req.uri().path());
    if req.uri().path_and_query().map_or(0, |pq| pq.as_str().len()) > MAX_URI_LEN {
        return status_response(StatusCode::URI_TOO_LONG, api);
    }
    let response = next.run(req).await;
    let status = response.status();
    if !status.is_client_error() && !status.is_server_error() {
        return response;
    }
    let content_type = response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    // JSON is ours under /api/ and left alone elsewhere (protocol endpoints
    // such as OAuth answer JSON errors of their own); a page is a page.
    if content_type.starts_with("application/json") || (!api && content_type.starts_with("text/html")) {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    let mut fresh = status_response(status, api);
    parts.headers.remove(header::CONTENT_TYPE);
    parts.headers.remove(header::CONTENT_LENGTH);
    for (name, value) in parts.headers.drain().filter_map(|(n, v)| n.map(|n| (n, v))) {
        fresh.headers_mut().entry(name).or_insert(value);
    }
    fresh
}

/// The whole body must arrive within `[server] body_timeout_secs` of the
/// headers; a stalled or trickling upload gets 408 and its connection closed.
async fn body_deadline(State(app): State<App>, req: Request, next: Next) -> Response {
    if req.body().is_end_stream() {
        return next.run(req).await;
    }
    let api = is_api(req.uri().path());
    // A declared length past what any route of its kind accepts is refused at once, not after
    // waiting for a body that would be refused anyway (a 10 GB `Content-Length`).
    let multipart = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("multipart/"));
    let most = if multipart { UPLOAD_BODY_LIMIT } else { JSON_BODY_LIMIT };
    if req.body().size_hint().lower() > most as u64 {
        return status_response(StatusCode::PAYLOAD_TOO_LARGE, api);
    }
    let expired = Arc::new(AtomicBool::new(false));
    let timeout = Duration::from_secs(app.config.server.body_timeout_secs.max(1));
    let req = req.map(|inner| Body::new(DeadlineBody { inner, deadline: Box::pin(tokio::time::sleep(timeout)), expired: expired.clone() }));
    let response = next.run(req).await;
    if !expired.load(Ordering::Relaxed) {
        return response;
    }
    tracing::info!("request body timed out");
    let mut response = status_response(StatusCode::REQUEST_TIMEOUT, api);
    response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

struct DeadlineBody {
    inner: Body,
    deadline: Pin<Box<tokio::time::Sleep>>,
    expired: Arc<AtomicBool>,
}

impl HttpBody for DeadlineBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame);
        }
        if this.deadline.as_mut().poll(cx).is_ready() {
            this.expired.store(true, Ordering::Relaxed);
            return Poll::Ready(Some(Err(axum::Error::new("request body timed out"))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

async fn readyz(State(app): State<App>) -> Response {
    match app.db.probe_write(app.clock.unix()).await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(err) => {
            tracing::warn!(error = %err, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let Some(source) = &self.source {
            tracing::error!(code = self.code.as_str(), cause = %source, "request failed");
        }
        let mut response = (self.status, axum::Json(self.body())).into_response();
        if let Some(secs) = self.retry_after() {
            if let Ok(value) = HeaderValue::from_str(&secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}

/// A JSON body whose rejection is our JSON error, not axum's plain text.
pub struct Json<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !json_content_type(req.headers()) {
            tracing::debug!("JSON body without a JSON content type");
            return Err(unreadable_json());
        }
        let bytes = match Bytes::from_request(req, state).await {
            Ok(bytes) => bytes,
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(status_error(StatusCode::PAYLOAD_TOO_LARGE)),
            Err(_) => return Err(unreadable_json()),
        };
        // A key given twice is ambiguous (which one did the client mean, and which one did a proxy
        // or a log check?): refused everywhere, as the typed bodies refuse it, not only where
        // serde's derive happens to.
        if serde_json::from_slice::<Unambiguous>(&bytes).is_err() {
            tracing::debug!("unreadable or ambiguous JSON body");
            return Err(unreadable_json());
        }
        // Only the kind in the log: serde's message quotes the offending value (PRIV-3).
        serde_json::from_slice(&bytes).map(Json).map_err(|_| unreadable_json())
    }
}

/// Any JSON value in which no object names a key twice (at any depth).
struct Unambiguous;

impl<'de> serde::Deserialize<'de> for Unambiguous {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UnambiguousVisitor)
    }
}

struct UnambiguousVisitor;

impl<'de> serde::de::Visitor<'de> for UnambiguousVisitor {
    type Value = Unambiguous;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JSON without duplicate keys")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Unambiguous, E> {
        Ok(Unambiguous)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Unambiguous, E> {
        Ok(Unambiguous)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Unambiguous, E> {
        Ok(Unambiguous)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Unambiguous, E> {
        Ok(Unambiguous)
    }
    fn visit_str<E>(self, _: &str) -> Result<Unambiguous, E> {
        Ok(Unambiguous)
    }
    fn visit_unit<E>(self) -> Result<Unambiguous, E> {
        Ok(Unambiguous)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Unambiguous, A::Error> {
        while seq.next_element::<Unambiguous>()?.is_some() {}
        Ok(Unambiguous)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Unambiguous, A::Error> {
        let mut seen = std::collections::HashSet::new();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if !seen.insert(key.into_owned()) {
                return Err(serde::de::Error::custom("duplicate key"));
            }
            map.next_value::<Unambiguous>()?;
        }
        Ok(Unambiguous)
    }
}

/// `application/json` or any `+json` type, as axum's own extractor asks.
fn json_content_type(headers: &axum::http::HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

fn unreadable_json() -> AppError {
    AppError::new(ErrorCode::InvalidRequest, "请求内容无法识别，请以 JSON 格式提交（Content-Type: application/json）。")
}

/// The first of `text_fields` that `body` holds as something other than a string or null: for
/// bodies where a number would be read as valid text (an ethnicity code) or an object silently
/// ignored, so the mistake must be refused rather than guessed at.
pub fn mistyped(body: &serde_json::Value, text_fields: &[&'static str]) -> Option<&'static str> {
    let fields = body.as_object()?;
    text_fields.iter().copied().find(|f| fields.get(*f).is_some_and(|v| !(v.is_string() || v.is_null())))
}

/// A body taken as a `Value` (to check its types first) read into `T`, failing as `Json` would.
pub fn read_json<T: DeserializeOwned>(raw: serde_json::Value) -> Result<T, AppError> {
    serde_json::from_value(raw).map_err(|_| unreadable_json())
}

/// The client's address: the peer, or, when the operator says a trusted
/// proxy sits in front, the last `X-Forwarded-For` hop: the one that proxy
/// appended. Earlier hops are whatever the client chose to send.
pub struct ClientIp(pub Source);

impl FromRequestParts<App> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        if app.config.trust_forwarded_for {
            if let Some(last) = parts
                .headers
                .get_all("x-forwarded-for")
                .iter()
                .next_back()
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit(',').next())
                .and_then(|v| v.trim().parse::<IpAddr>().ok())
            {
                return Ok(ClientIp(Source::new(&last.to_string())));
            }
        }
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip().to_string())
            .unwrap_or_else(|| "unknown".to_owned());
        Ok(ClientIp(Source::new(&peer)))
    }
}

/// Development mode: pick up the clock offset another instance may have set.
async fn follow_dev_clock(State(app): State<App>, req: Request, next: Next) -> Response {
    if let Err(err) = app.clock.refresh(&app.db).await {
        return AppError::from(err).into_response();
    }
    next.run(req).await
}

/// API.md: a state-changing request that carries a cookie and comes from
/// another site is refused. Requests without cookies (API clients) and
/// same-origin ones pass; HTML forms carry a synchronizer token as well.
async fn refuse_cross_site(req: Request, next: Next) -> Response {
    // The authorization endpoint takes POST from the business systems' pages (Core 3.1.2.1): it
    // does exactly what its GET does, which any link may already ask.
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) || req.uri().path() == "/oidc/authorize";
    if !safe && req.headers().contains_key(header::COOKIE) && is_cross_site(&req) {
        return AppError::new(ErrorCode::Csrf, "请求来源不被允许，请从中国教师资格网页面操作。").into_response();
    }
    next.run(req).await
}

/// Login CSRF: a login posted from another site would sign the victim in to
/// the attacker's account, and no cookie need be present. Login routes
/// refuse a foreign `Origin` or `Sec-Fetch-Site: cross-site` always.
pub async fn refuse_cross_site_login(req: Request, next: Next) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe && is_cross_site(&req) {
        tracing::info!("cross-site login refused");
        if is_api(req.uri().path()) {
            return AppError::new(ErrorCode::Csrf, "请求来源不被允许，请从中国教师资格网页面登录。").into_response();
        }
        return pages::csrf_page();
    }
    next.run(req).await
}

fn is_cross_site(req: &Request) -> bool {
    let headers = req.headers();
    if headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) == Some("cross-site") {
        return true;
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    let Some((scheme, origin_host)) = origin.split_once("://") else {
        return true; // `null` and anything else that names no origin
    };
    // The scheme counts: a page on http://host (which anyone on the path can write) is another
    // origin than the site at https://host.
    let expected = req.extensions().get::<PublicScheme>().map_or("http", |s| s.0);
    !scheme.eq_ignore_ascii_case(expected) || !origin_host.eq_ignore_ascii_case(host)
}

/// Fixed security headers, and `Cache-Control: no-store` on everything but
/// the static files: pages and JSON answers carry names, masked numbers and
/// phones, and applicants use shared computers (internet cafés, school
/// offices). `no-store` also keeps Chromium from restoring a page from the
/// back/forward cache after 退出登录.
async fn security_headers(State(dev): State<bool>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let cacheable = path.starts_with("/static/") || path == "/favicon.ico";
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    if !cacheable {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    // Production is served over TLS (by us or the proxy); development is
    // plain HTTP on loopback, where HSTS would pin localhost to HTTPS.
    if !dev {
        headers.entry(header::STRICT_TRANSPORT_SECURITY).or_insert(HeaderValue::from_static("max-age=31536000"));
    }
    let fixed = [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; img-src 'self' data: blob: https://mp.weixin.qq.com; script-src 'self'; style-src 'self'; \
             object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "same-origin"),
    ];
    for (name, value) in fixed {
        headers.entry(name).or_insert(HeaderValue::from_static(value));
    }
    response
}

/// One log line per routed request with the route pattern, never the raw
/// path or query: those can hold document numbers, phones and tokens.
async fn log_request(State(app): State<App>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_else(|| "unmatched".to_owned());
    let started = Instant::now();
    let response = next.run(req).await;
    app.metrics.count(method.as_str(), &route, response.status().as_u16());
    tracing::info!(
        %method,
        route,
        status = response.status().as_u16(),
        ms = started.elapsed().as_millis() as u64,
        "request"
    );
    response
}
