use askama::Template;
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use crate::app::App;

pub fn router() -> Router<App> {
    Router::new().route("/", get(home))
}

#[derive(Template)]
#[template(path = "home.html")]
struct Home;

async fn home() -> Response {
    super::render(&Home)
}
