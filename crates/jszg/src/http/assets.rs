//! Static files, compiled into the binary so one file is the whole server.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::app::App;

pub fn router() -> Router<App> {
    Router::new().route("/static/{file}", get(serve)).route("/favicon.ico", get(|| serve(Path("favicon.svg".to_owned()))))
}

fn lookup(name: &str) -> Option<(&'static str, &'static str)> {
    macro_rules! files {
        ($($name:literal => $mime:literal),* $(,)?) => {
            match name {
                $($name => Some((include_str!(concat!("../../static/", $name)), $mime)),)*
                _ => None,
            }
        };
    }
    files! {
        "app.css" => "text/css; charset=utf-8",
        "captcha.css" => "text/css; charset=utf-8",
        "captcha.js" => "text/javascript; charset=utf-8",
        "pow.js" => "text/javascript; charset=utf-8",
        "register.js" => "text/javascript; charset=utf-8",
        "done.js" => "text/javascript; charset=utf-8",
        "login.js" => "text/javascript; charset=utf-8",
        "contact.js" => "text/javascript; charset=utf-8",
        "photo.js" => "text/javascript; charset=utf-8",
        "private.js" => "text/javascript; charset=utf-8",
        "a11y.js" => "text/javascript; charset=utf-8",
        "realname.js" => "text/javascript; charset=utf-8",
        "review.js" => "text/javascript; charset=utf-8",
        "recover.js" => "text/javascript; charset=utf-8",
        "reset.js" => "text/javascript; charset=utf-8",
        "wechat_bind.js" => "text/javascript; charset=utf-8",
        "dev_wechat.js" => "text/javascript; charset=utf-8",
        "staff.css" => "text/css; charset=utf-8",
        "staff.js" => "text/javascript; charset=utf-8",
        "favicon.svg" => "image/svg+xml",
    }
}

async fn serve(Path(file): Path<String>) -> Response {
    match lookup(&file) {
        Some((body, mime)) => ([(header::CONTENT_TYPE, mime), (header::CACHE_CONTROL, "public, max-age=300")], body).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
