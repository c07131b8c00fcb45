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
    /// Import legacy accounts (REC-4) from a CSV file with the columns
    /// doc_type,doc_number,name,password_hash_or_empty,email,phone,registered_at.
    ImportAccounts {
        file: PathBuf,
        #[command(flatten)]
        common: Common,
    },
    /// Staff accounts of the review console.
    Staff {
        #[command(subcommand)]
        action: StaffAction,
        #[command(flatten)]
        common: Common,
    },
    /// Keys: data encryption keys (PRIV-4) and OpenID Connect signing keys.
    Keys {
        #[command(subcommand)]
        action: KeyAction,
        #[command(flatten)]
        common: Common,
    },
    /// The audit log's chain (GM-3).
    Audit {
        #[command(subcommand)]
        action: AuditAction,
        #[command(flatten)]
        common: Common,
    },
    /// The business systems' client credentials.
    Clients {
        #[command(subcommand)]
        action: ClientAction,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Subcommand)]
enum StaffAction {
    /// Create a staff member; prints the initial password and TOTP secret.
    Add {
        #[arg(long)]
        username: String,
        #[arg(long, value_parser = ["reviewer", "admin"])]
        role: String,
    },
}

#[derive(Subcommand)]
enum KeyAction {
    /// Reseal every stored value under the current data key (resumable).
    Rotate {
        /// Rows per batch; each batch is one transaction.
        #[arg(long, default_value_t = jszg::flows::keys::DEFAULT_BATCH)]
        batch: i64,
    },
    /// Count the values per column still sealed with an older key, and the password-hash tags
    /// still under the previous index key.
    Status,
    /// Move the key file to another suite (`gm`: SM4-GCM and HMAC-SM3; `intl`: AES-256-GCM and
    /// HMAC-SHA256): a new data key and index key, the old ones kept for the rows not yet
    /// moved. Restart every instance with the new file, then run `jszg keys rotate`.
    Suite {
        #[arg(value_parser = ["gm", "intl"])]
        suite: String,
    },
    /// Add a new OpenID Connect signing key; it signs from now on, and the
    /// JWKS keeps the previous one until tokens signed with it have expired.
    RotateSigning,
}

#[derive(Subcommand)]
enum AuditAction {
    /// Walk the chain: exit 0 and `audit chain intact: N entries`, or exit 1 naming the first
    /// entry that was altered, removed or inserted.
    Verify,
}

#[derive(Subcommand)]
enum ClientAction {
    /// Set a new secret for an entry's client and print it.
    RotateSecret {
        #[arg(value_parser = ["certification", "renewal"])]
        entry: String,
    },
}

fn init_logs(format: LogFormat) {
    let filter = EnvFilter::try_from_env("JSZG_LOG").unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false).with_writer(std::io::stderr);
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
            jszg::server::serve(app, listener, shutdown_signal()).await.map_err(|e| e.to_string())
        }
        Command::ImportAccounts { file, common } => {
            let app = start_for_command(common).await?;
            let input = std::fs::File::open(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            let started = std::time::Instant::now();
            let report = jszg::flows::import::import(&app, std::io::BufReader::new(input)).await.map_err(|e| e.message.into_owned())?;
            for (line, reason) in &report.refused {
                println!("line {line}: refused: {reason}");
            }
            for (line, note) in &report.notes {
                println!("line {line}: note: {note}");
            }
            println!(
                "imported {}, already present {}, refused {} ({:.1} s)",
                report.imported,
                report.already,
                report.refused.len(),
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::Staff { action: StaffAction::Add { username, role }, common } => {
            let app = start_for_command(common).await?;
            let role = jszg::flows::staff::Role::parse(&role).ok_or("role must be reviewer or admin")?;
            let created = jszg::flows::staff::add(&app, &username, role).await.map_err(|e| e.message.into_owned())?;
            println!("username: {username}");
            println!("role: {}", role.as_str());
            println!("password: {}", created.password);
            println!("totp: {}", created.totp_secret);
            Ok(())
        }
        Command::Keys { action: KeyAction::Rotate { batch }, common } => {
            let app = start_for_command(common).await?;
            let started = std::time::Instant::now();
            let options = jszg::flows::keys::Options { batch, stop_after_batches: None };
            let mut bars = Bars::default();
            let rotated =
                jszg::flows::keys::rotate(&app, &options, &mut bars).await.map_err(|e| e.source.unwrap_or(e.message.into_owned()))?;
            for (column, n) in &rotated.counts {
                println!("{column}: resealed {n}");
            }
            if rotated.retagged > 0 {
                println!("password tags made again under the current key: {}", rotated.retagged);
            }
            for (holder, id) in &rotated.untagged {
                println!("{holder:?} {id}: its password hash has no valid tag and was left alone; a password reset gives it one");
            }
            println!(
                "resealed {} values under key {} ({:.1} s); old keys can now be removed from the key file",
                rotated.total(),
                app.vault.current_id(),
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::Keys { action: KeyAction::Status, common } => {
            let app = start_for_command(common).await?;
            let counts = jszg::flows::keys::stale_counts(&app).await.map_err(|e| e.source.unwrap_or(e.message.into_owned()))?;
            println!("suite: {}", app.vault.suite().as_str());
            for (column, n) in &counts {
                println!("{column}: {n} not under key {}", app.vault.current_id());
            }
            let tags = jszg::flows::keys::tag_status(&app).await.map_err(|e| e.source.unwrap_or(e.message.into_owned()))?;
            println!("password tags under the previous key: {}", tags.previous);
            println!("password hashes without a valid tag: {}", tags.invalid);
            let left: i64 = counts.iter().map(|(_, n)| n).sum();
            if app.vault.rehashing() {
                if left == 0 && tags.previous == 0 {
                    println!(
                        "every row is rehashed: previous_index_key and previous_suite can leave the key file once the sessions \
                         from before the move have expired (12 hours)"
                    );
                } else {
                    println!("a change of suite is under way: run `jszg keys rotate`");
                }
            }
            Ok(())
        }
        Command::Keys { action: KeyAction::Suite { suite }, common } => {
            let config = load(Overrides { database_url: common.database_url, ..Overrides::default() })?;
            let to = if suite == "gm" { jszg::vault::Suite::Gm } else { jszg::vault::Suite::Intl };
            let path = match (&config.keys_file, &config.keys) {
                (Some(path), _) => path.clone(),
                (None, Some(_)) => return Err("the keys are inline in the configuration ([keys]): move them to a keys_file first".into()),
                (None, None) if config.is_dev() => config.dev_keys_path(),
                (None, None) => return Err("no keys_file configured".into()),
            };
            let material = jszg::vault::KeyMaterial::load(&path).map_err(|e| e.to_string())?;
            let moved = material.move_to(to).map_err(|e| e.to_string())?;
            // Only names the backup file: wall time, not the service's (possibly development) clock.
            #[allow(clippy::disallowed_methods)]
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
            let backup = moved.replace_file(&path, now).map_err(|e| e.to_string())?;
            println!("{}: suite {}, new data key {} seals from now on (the old file is kept as {})", path.display(), to.as_str(), moved.current, backup.display());
            println!("next: restart every instance with this file, then run `jszg keys rotate`");
            Ok(())
        }
        Command::Audit { action: AuditAction::Verify, common } => {
            let app = start_for_command(common).await?;
            match jszg::flows::integrity::verify(&app.db, &app.vault).await.map_err(|e| e.source.unwrap_or(e.message.into_owned()))? {
                jszg::flows::integrity::Verdict::Intact { entries } => {
                    println!("audit chain intact: {entries} entries");
                    Ok(())
                }
                jszg::flows::integrity::Verdict::Broken { id, what } => {
                    println!("audit chain broken at entry {id}: {what}");
                    std::process::exit(1);
                }
            }
        }
        Command::Clients { action: ClientAction::RotateSecret { entry }, common } => {
            let app = start_for_command(common).await?;
            let entry = jszg::flows::applicant::Entry::parse(&entry).ok_or("entry must be certification or renewal")?;
            let secret = jszg::flows::enrollment::rotate_secret(&app, entry).await.map_err(|e| e.message.into_owned())?;
            println!("secret: {secret}");
            Ok(())
        }
        Command::Keys { action: KeyAction::RotateSigning, common } => {
            let app = start_for_command(common).await?;
            for (alg, kid) in jszg::flows::oidc::keys::rotate(&app).await.map_err(|e| e.message.into_owned())? {
                println!("{} kid: {kid}", alg.as_str());
            }
            Ok(())
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

/// One progress bar per column on a terminal; nothing when piped.
#[derive(Default)]
struct Bars {
    bar: Option<indicatif::ProgressBar>,
}

impl jszg::flows::keys::Progress for Bars {
    fn column(&mut self, name: &str, stale: u64) {
        let bar = indicatif::ProgressBar::new(stale);
        let style = indicatif::ProgressStyle::with_template("{prefix:<28} [{bar:40}] {pos}/{len} {per_sec}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(name.to_owned());
        self.bar = Some(bar);
    }
    fn advance(&mut self, rows: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(rows);
        }
    }
    fn done(&mut self, _: &str, _: u64) {
        if let Some(bar) = self.bar.take() {
            bar.finish();
        }
    }
}

/// The app without the server, for commands that act on its database.
async fn start_for_command(common: Common) -> Result<App, String> {
    let mut config = load(Overrides { database_url: common.database_url, ..Overrides::default() })?;
    // Commands never deliver mail themselves; the server's worker does.
    config.outbox.worker = false;
    init_logs(config.log_format);
    App::start(config).await.map_err(|e| e.to_string())
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
