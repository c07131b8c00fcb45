//! The shared state every handler and flow receives, and how it is built at
//! start-up. The server loop that uses it lives in `server.rs`, above.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::adapters::authority::{HttpAuthority, IdentityAuthority, ReferenceRegistry};
use crate::adapters::delivery::Couriers;
use crate::adapters::mail::Mailer;
use crate::adapters::passwords::Hasher;
use crate::adapters::wechat::{simulator::Simulator, ServiceAccount};
use crate::adapters::sms::SmsClient;
use crate::clock::Clock;
use crate::config::AuthorityProvider;
use crate::config::Config;
use crate::store::Db;
use crate::vault::{KeyMaterial, Vault};
use jszg_domain::WorkingCalendar;

#[derive(Clone)]
pub struct App {
    pub db: Db,
    pub clock: Clock,
    pub vault: Arc<Vault>,
    pub hasher: Hasher,
    /// Decodes uploaded photos, a bounded number at once.
    pub photos: crate::adapters::photos::Decoder,
    pub config: Arc<Config>,
    pub couriers: Arc<Couriers>,
    pub outbox_wake: Arc<Notify>,
    pub authority: Arc<dyn IdentityAuthority>,
    pub calendar: Arc<WorkingCalendar>,
    pub metrics: Arc<crate::metrics::Metrics>,
    /// 教育部账号登录, when `[upstream]` is configured.
    pub upstream: Option<Arc<crate::adapters::oidc_rp::OidcRp>>,
    /// The WeChat service account, when `[wechat]` is configured, or the simulated one of
    /// development (`/dev/wechat`).
    pub wechat: Option<Arc<ServiceAccount>>,
    /// Parsed OpenID Connect signing keys (the keys themselves live in the database).
    pub signing_keys: Arc<crate::adapters::signing_keys::KeyCache>,
    pub dev: bool,
    /// Development without `[clients]`: the stand-in business system is the client.
    pub standin: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("keys: {0}")]
    Keys(#[from] crate::vault::VaultError),
    #[error("{0}")]
    Other(String),
}

impl App {
    /// Check the settings, open and migrate the database, load the keys.
    pub async fn start(config: Config) -> Result<App, StartError> {
        config.check()?;
        let dev = config.is_dev();
        let mut config = config;
        let standin = dev && config.clients.is_empty();
        if standin {
            config.clients = crate::config::ClientsConfig::dev_standin(&config.public_url());
        }
        let db = Db::connect(&config.database(), config.max_connections).await?;
        db.migrate().await?;
        let vault = Vault::new(&load_keys(&config, dev)?)?;
        // PRIV-4: refuse to run with a key file that lacks a key some row needs.
        let missing = crate::store::sealed::missing_keys(&db, &vault).await?;
        if !missing.is_empty() {
            return Err(StartError::Other(format!(
                "the key file lacks data keys that stored values still need: {}. Put those keys back under [data_keys]; \
                 remove an old key only after `jszg keys rotate` has resealed every value under the current key",
                missing.join("; ")
            )));
        }
        let hasher = Hasher::new(&config.argon2).map_err(StartError::Other)?;
        let wechat = match &config.wechat {
            Some(w) => Some(Arc::new(ServiceAccount::new(w).map_err(StartError::Other)?)),
            None if dev && config.wechat_simulator => {
                let simulator = Arc::new(Simulator::new().map_err(StartError::Other)?);
                Some(Arc::new(ServiceAccount::simulated(simulator).map_err(StartError::Other)?))
            }
            None => None,
        };
        let couriers = Couriers {
            wechat: wechat.clone(),
            mail: config.smtp.as_ref().map(Mailer::new).transpose().map_err(StartError::Other)?,
            sms: config.sms.as_ref().map(SmsClient::new).transpose().map_err(StartError::Other)?,
            webhooks: if config.entries.certification_webhook.is_some() || config.entries.renewal_webhook.is_some() {
                Some(crate::adapters::delivery::Webhooks::new(&config.entries, vault.suite()).map_err(StartError::Other)?)
            } else {
                None
            },
            backchannel: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|e| StartError::Other(format!("back-channel client: {e}")))?,
            dev,
        };
        let clock = if dev { Clock::development() } else { Clock::system() };
        clock.refresh(&db).await?;
        // GM-2/GM-3: tag the password hashes and chain the audit entries already there, once.
        crate::store::upgrade::complete(&db, &vault, clock.unix())
            .await
            .map_err(|e| StartError::Other(format!("starting the audit chain: {e}")))?;
        let vault = Arc::new(vault);
        let registry = ReferenceRegistry::new(db.clone(), vault.clone());
        if let Some(csv) = &config.authority.registry_csv {
            let loaded = registry.load_csv(csv, clock.unix(), clock.today()).await.map_err(StartError::Other)?;
            tracing::info!(loaded, "reference registry loaded");
        }
        let authority: Arc<dyn IdentityAuthority> = match config.authority.provider {
            AuthorityProvider::Registry => Arc::new(registry),
            AuthorityProvider::Http => {
                let a = &config.authority;
                Arc::new(
                    HttpAuthority::new(
                        a.url.as_deref().unwrap_or_default(),
                        a.secret.as_deref().unwrap_or_default(),
                        Duration::from_millis(a.timeout_ms),
                        a.retries,
                        vault.suite(),
                    )
                    .map_err(StartError::Other)?,
                )
            }
        };
        let calendar = Arc::new(load_calendar(&config, clock.today())?);
        let upstream = match &config.upstream {
            Some(u) => Some(Arc::new(crate::adapters::oidc_rp::OidcRp::new(u, &config.public_url()).map_err(StartError::Other)?)),
            None => None,
        };
        let app = App {
            upstream,
            wechat,
            db,
            clock,
            authority,
            calendar,
            metrics: Arc::default(),
            signing_keys: Arc::default(),
            vault,
            hasher,
            photos: crate::adapters::photos::Decoder::new(config.uploads.max_concurrent_decodes, config.uploads.queue_limit),
            config: Arc::new(config),
            couriers: Arc::new(couriers),
            outbox_wake: Arc::new(Notify::new()),
            dev,
            standin,
        };
        Ok(app)
    }

    /// The development simulator of the service account, when it plays the account.
    pub fn wechat_simulator(&self) -> Option<&Arc<Simulator>> {
        self.wechat.as_deref().and_then(ServiceAccount::simulator)
    }

    /// Tell the delivery worker a message is waiting.
    pub fn wake_outbox(&self) {
        self.outbox_wake.notify_one();
    }
}

fn load_calendar(config: &Config, today: time::Date) -> Result<WorkingCalendar, StartError> {
    let mut calendar = WorkingCalendar::builtin();
    for path in &config.calendar_files {
        let text = std::fs::read_to_string(path).map_err(|e| StartError::Other(format!("calendar {}: {e}", path.display())))?;
        calendar.add_year_file(&text).map_err(|e| StartError::Other(format!("calendar {}: {e}", path.display())))?;
    }
    for year in [today.year(), today.year() + 1] {
        if !calendar.has_year(year) {
            // Next year is checked too: review deadlines reach into it from December on.
            tracing::warn!(
                year,
                "no working-day calendar for {year}: only weekends count as days off in {year}; add its file to calendar_files"
            );
        }
    }
    Ok(calendar)
}

fn load_keys(config: &Config, dev: bool) -> Result<KeyMaterial, StartError> {
    if let Some(keys) = &config.keys {
        return Ok(keys.clone());
    }
    if let Some(path) = &config.keys_file {
        return Ok(KeyMaterial::load(path)?);
    }
    if !dev {
        return Err(StartError::Other("no encryption keys configured".into()));
    }
    let path = config.dev_keys_path();
    if !path.exists() {
        KeyMaterial::generate().write_new(&path)?;
        tracing::warn!(
            path = %path.display(),
            "development mode generated encryption keys beside the database; production must configure keys_file"
        );
    } else {
        tracing::warn!(path = %path.display(), "development mode uses the generated key file");
    }
    Ok(KeyMaterial::load(&path)?)
}
