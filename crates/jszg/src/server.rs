//! The top of the stack: the server loop that builds the router and runs the
//! background workers (outbox delivery, housekeeping) beside it.

use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::app::App;
use crate::store::{captchas, sessions};

/// Serve until `shutdown` resolves; background tasks stop with it.
pub async fn serve(
    app: App,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = Vec::new();
    if app.config.outbox.worker {
        tasks.push(tokio::spawn(crate::flows::notify::run_worker(app.clone(), stop_rx.clone())));
    }
    tasks.push(tokio::spawn(housekeeping(app.clone(), stop_rx)));
    let router = crate::http::router(app.clone());
    let result =
        axum::serve(listener, router.into_make_service_with_connect_info::<std::net::SocketAddr>()).with_graceful_shutdown(shutdown).await;
    let _ = stop_tx.send(true);
    for task in tasks {
        let _ = task.await;
    }
    result
}

/// Drop expired captcha rows and sessions now and then; they are refused
/// when expired anyway, this only keeps the tables small.
async fn housekeeping(app: App, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(60)) => {}
            _ = stop.changed() => return,
        }
        let now = app.clock.unix();
        if let Err(err) = captchas::purge_expired(&app.db, now).await {
            tracing::warn!(error = %err, "housekeeping failed");
        }
        if let Err(err) = sessions::purge_expired(&app.db, now, now - app.config.sessions.idle_secs).await {
            tracing::warn!(error = %err, "housekeeping failed");
        }
        if let Err(err) = crate::store::upstream::purge(&app.db, now - crate::flows::upstream_login::PENDING_SECS).await {
            tracing::warn!(error = %err, "housekeeping failed");
        }
    }
}
