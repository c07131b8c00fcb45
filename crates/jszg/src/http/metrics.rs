//! Prometheus metrics (OPS-2) at `/metrics`: requests by route pattern and
//! status from this process, and the outbox backlog from the database
//! (which every instance shares).

use std::fmt::Write as _;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::app::App;
use crate::metrics::Counter;
use crate::store::outbox;

pub async fn render(State(app): State<App>) -> Response {
    let mut out = String::new();
    out.push_str("# HELP jszg_http_requests_total HTTP requests by route pattern and status.\n# TYPE jszg_http_requests_total counter\n");
    for ((method, route, status), n) in app.metrics.snapshot() {
        let _ = writeln!(out, "jszg_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {n}");
    }
    for counter in Counter::ALL {
        let (name, help) = counter.describe();
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}", app.metrics.get(counter));
    }
    let backlog = outbox::backlog(&app.db).await;
    out.push_str("# HELP jszg_outbox_messages Outbox messages by status.\n# TYPE jszg_outbox_messages gauge\n");
    match backlog {
        Ok(rows) => {
            for (status, n) in rows {
                let _ = writeln!(out, "jszg_outbox_messages{{status=\"{status}\"}} {n}");
            }
            out.push_str("# TYPE jszg_database_up gauge\njszg_database_up 1\n");
        }
        Err(_) => out.push_str("# TYPE jszg_database_up gauge\njszg_database_up 0\n"),
    }
    let _ = writeln!(
        out,
        "# TYPE jszg_build_info gauge\njszg_build_info{{version=\"{}\",backend=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION"),
        app.db.backend()
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], out).into_response()
}
