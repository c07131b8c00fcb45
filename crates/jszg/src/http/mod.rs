//! The HTTP layer: routes, extractors, JSON errors, pages, and the
//! cross-cutting middleware (security headers, CSRF, request logs).

use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, MatchedPath, Request, State};
use axum::http::{header, request::Parts, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::de::DeserializeOwned;

use crate::app::App;
use crate::error::AppError;

pub mod api;
pub mod assets;
pub mod metrics;
pub mod pages;
pub mod session;

pub fn router(app: App) -> Router {
    let mut routes = Router::new()
        .merge(api::router(app.dev))
        .merge(pages::router(app.dev))
        .merge(assets::router())
        .route_layer(middleware::from_fn_with_state(app.clone(), log_request));
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
        .layer(middleware::from_fn(refuse_cross_site))
        .layer(middleware::from_fn(security_headers))
        .layer(axum::extract::DefaultBodyLimit::max(2 * 1024 * 1024))
        .with_state(app)
}

async fn readyz(State(app): State<App>) -> Response {
    match app.db.ping().await {
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
            tracing::error!(code = self.code, cause = %source, "request failed");
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
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Json(value)),
            Err(rejection) => {
                // Only the kind: serde's message quotes the offending value (PRIV-3).
                tracing::debug!(status = rejection.status().as_u16(), "unreadable JSON body");
                Err(AppError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_request",
                    "请求内容无法识别，请以 JSON 格式提交（Content-Type: application/json）。",
                ))
            }
        }
    }
}

/// The client's address: the peer, or the first `X-Forwarded-For` hop when
/// the operator says a trusted proxy sits in front.
pub struct ClientIp(pub String);

impl FromRequestParts<App> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        if app.config.trust_forwarded_for {
            if let Some(first) = parts
                .headers
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
                .map(str::trim)
                .filter(|v| !v.is_empty())
            {
                return Ok(ClientIp(first.to_owned()));
            }
        }
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip().to_string())
            .unwrap_or_else(|| "unknown".to_owned());
        Ok(ClientIp(peer))
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
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe && req.headers().contains_key(header::COOKIE) && is_cross_site(&req) {
        return AppError::forbidden("csrf", "请求来源不被允许，请从中国教师资格网页面操作。").into_response();
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
    let origin_host = origin.split_once("://").map(|(_, rest)| rest).unwrap_or("null");
    !origin_host.eq_ignore_ascii_case(host)
}

async fn security_headers(req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    let fixed = [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; img-src 'self' data: blob:; script-src 'self'; style-src 'self'; \
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
