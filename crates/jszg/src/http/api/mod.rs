//! The JSON API of API.md, version 1.

use axum::routing::get;
use axum::Router;
use utoipa::OpenApi;

use crate::app::App;

pub mod accounts;
pub mod captchas;
pub mod ownership_claims;
pub mod codes;
pub mod me;
mod conventions;
use conventions::Conventions;
pub mod privacy;
pub mod realname;
pub mod recovery;
pub mod sessions;
pub mod staff;
pub mod wechat;

#[derive(OpenApi)]
#[openapi(
    info(title = "jszg", description = "中国教师资格网 applicant accounts and real-name verification"),
    paths(
        captchas::create,
        captchas::answer,
        codes::create,
        accounts::create,
        accounts::check,
        ownership_claims::create,
        sessions::create,
        sessions::destroy,
        sessions::upstream_link,
        sessions::upstream_unlink,
        sessions::me,
        sessions::update_profile,
        sessions::change_password,
        sessions::change_phone,
        sessions::change_email,
        sessions::entry,
        privacy::export,
        privacy::access_log,
        realname::verify,
        realname::apply,
        realname::enroll,
        recovery::start,
        recovery::email,
        recovery::sms_code,
        recovery::sms_reset,
        recovery::reset,
        recovery::contact_change_request,
        recovery::my_contact_changes,
        recovery::withdraw_contact_change,
        recovery::cancel_contact_change,
        staff::sign_in,
        staff::sign_out,
        staff::change_password,
        staff::queue,
        staff::detail,
        staff::photo,
        staff::decide,
        staff::audit,
        wechat::create_qr,
        wechat::unbind,
        wechat::reset,
        recovery::wechat_qr,
        crate::http::dev::api::outbox,
        crate::http::dev::api::add_identity,
        crate::http::dev::api::advance_clock,
        crate::http::dev::api::sweep,
        crate::http::dev::wechat::phone,
        crate::http::dev::wechat::act,
    ),
    components(schemas(crate::error::ErrorBody, crate::error::ErrorDetail)),
    modifiers(&Conventions),
    tags((name = "captcha"), (name = "codes"), (name = "accounts"), (name = "sessions"), (name = "realname"), (name = "service"), (name = "privacy"), (name = "recovery"), (name = "staff"), (name = "dev"))
)]
pub struct ApiDoc;

/// The document a server publishes: what it serves. Production has no development endpoints,
/// so its document does not list them (nor their tag).
pub fn published(dev: bool) -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    if !dev {
        doc.paths.paths.retain(|path, _| !path.starts_with("/api/v1/dev/"));
        if let Some(tags) = doc.tags.as_mut() {
            tags.retain(|t| t.name != "dev");
        }
    }
    doc
}

pub fn router(dev: bool) -> Router<App> {
    let document = std::sync::Arc::new(published(dev));
    let mut router = Router::new()
        .route("/api/v1/openapi.json", get(move || async move { axum::Json(document.as_ref().clone()) }))
        .merge(captchas::router())
        .merge(codes::router())
        .merge(accounts::router())
        .merge(ownership_claims::router())
        .merge(sessions::router())
        .merge(privacy::router())
        .merge(realname::router())
        .merge(recovery::router())
        .merge(staff::router())
        .merge(wechat::router());
    if dev {
        router = router.merge(crate::http::dev::api_router());
    }
    router
}
