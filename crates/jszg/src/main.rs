use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use jszg::config::{Config, LogFormat, Overrides};
use jszg::store::Db;
use jszg::App;

#[derive(Parser)]
#[command(name = "jszg", version, about = "中国教师资格网 accounts and real-name verification")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Default)]
struct Common {
    /// Database URL: sqlite://FILE (default sqlite://jszg.db) or postgres://…
    #[arg(long, global = true)]
    database_url: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve {
        /// Address to listen on (default 127.0.0.1:8080).
        #[arg(long)]
        bind: Option<String>,
        /// Development mode: outbox page, reference registry, dev endpoints.
        #[arg(long)]
        dev: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Apply database migrations and exit.
    Migrate {
        #[command(flatten)]
        common: Common,
    },
}

fn init_logs(format: LogFormat) {
    let filter = EnvFilter::try_from_env("JSZG_LOG").unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

fn load(overrides: Overrides) -> Result<Config, String> {
    let dir = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    Config::load(&dir, overrides).map_err(|e| e.to_string())
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("jszg: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Serve { bind, dev, common } => {
            let config = load(Overrides { bind, database_url: common.database_url, dev: dev.then_some(true) })?;
            init_logs(config.log_format);
            let addr = config.bind_addr().map_err(|e| e.to_string())?;
            let dev = config.is_dev();
            let backend = if config.database().is_postgres() { "postgres" } else { "sqlite" };
            tracing::info!(database = %config.database(), dev, "starting");
            let app = App::start(config).await.map_err(|e| e.to_string())?;
            let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| format!("bind {addr}: {e}"))?;
            let local = listener.local_addr().map_err(|e| e.to_string())?;
            tracing::info!(%local, backend, dev, "listening on http://{local}");
            app.serve(listener, shutdown_signal()).await.map_err(|e| e.to_string())
        }
        Command::Migrate { common } => {
            let config = load(Overrides { database_url: common.database_url, ..Overrides::default() })?;
            init_logs(config.log_format);
            let db = Db::connect(&config.database(), 2).await.map_err(|e| e.to_string())?;
            db.migrate().await.map_err(|e| e.to_string())?;
            println!("migrations applied ({})", db.backend());
            Ok(())
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
    tracing::info!("shutting down");
}
