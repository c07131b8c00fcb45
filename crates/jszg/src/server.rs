//! The top of the stack: the server loop that builds the router and runs the
//! background workers (outbox delivery, the retention sweep) beside it.

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::app::App;

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
    tasks.push(tokio::spawn(crate::flows::retention::run(app.clone(), stop_rx)));
    let router = crate::http::router(app.clone());
    let result =
        axum::serve(listener, router.into_make_service_with_connect_info::<std::net::SocketAddr>()).with_graceful_shutdown(shutdown).await;
    let _ = stop_tx.send(true);
    for task in tasks {
        let _ = task.await;
    }
    result
}
