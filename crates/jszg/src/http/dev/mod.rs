//! Development mode only (`JSZG_DEV=1`): what lets one person run every journey on a laptop,
//! and nothing production serves. The dev API (the outbox, reference identities, the clock, the
//! retention sweep), the WeChat simulator's phone, the outbox pages and the stand-in business
//! system that signs in through single sign-on. `http::router` and the API and page routers
//! merge these only in development mode.
//!
//! The other layers keep theirs in one place each as well: `flows/dev.rs` (the stand-in's
//! client secrets and enrollment) and `adapters/wechat/simulator.rs` (the WeChat platform and a
//! phone, played in process, beside the adapter whose wire format it speaks).

use axum::Router;

use crate::app::App;

pub mod api;
pub mod pages;
pub mod standin;
pub mod wechat;

/// The stand-in business system (its own pages and callbacks).
pub fn router() -> Router<App> {
    standin::router()
}

/// `/api/v1/dev/…`: the dev API and the simulator's phone.
pub fn api_router() -> Router<App> {
    api::router().merge(wechat::router())
}

/// `/dev/…` pages: the outbox and the WeChat simulator.
pub fn pages_router() -> Router<App> {
    pages::router()
}
