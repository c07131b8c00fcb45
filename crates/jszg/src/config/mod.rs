//! Settings: defaults, then `jszg.toml`, then `JSZG_*` variables (nested keys
//! with `__`, e.g. `JSZG_SMTP__URL`), then command-line flags.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Deserializer, Serialize};

use crate::vault::KeyMaterial;

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default)]
pub struct Config {
    pub bind: String,
    pub database_url: String,
    /// Development mode. When unset it is on exactly when no production
    /// setting (SMTP, SMS, keys) is given, so a bare `jszg serve` just works
    /// and a half-configured production start is refused, not downgraded.
    #[serde(deserialize_with = "flag")]
    pub dev: Option<bool>,
    pub max_connections: u32,
    /// Public base URL used in links sent by mail; defaults to `http://{bind}`.
    pub public_url: Option<String>,
    pub log_format: LogFormat,
    pub keys_file: Option<PathBuf>,
    pub keys: Option<KeyMaterial>,
    pub smtp: Option<SmtpConfig>,
    pub sms: Option<SmsConfig>,
    #[serde(default)]
    pub wechat: Option<WechatConfig>,
    /// Development without `[wechat]`: play the service account with the `/dev/wechat` simulator
    /// (WX-4). Off, development has no WeChat, as a deployment without `[wechat]` has none.
    pub wechat_simulator: bool,
    /// The registration agreement shown in the 《注册协议》 dialog; plain text,
    /// paragraphs, `一、` headings and `1.` clauses (see `parse_terms`). Read on every page view.
    pub terms_file: Option<PathBuf>,
    /// Take the client address from `X-Forwarded-For` (behind a trusted proxy).
    pub trust_forwarded_for: bool,
    /// Connection limits and timeouts against slow and idle clients.
    pub server: ServerConfig,
    pub codes: CodeConfig,
    /// Quotas per source address, per network and in total (ABUSE-1, ABUSE-3).
    pub limits: LimitsConfig,
    pub captcha: CaptchaConfig,
    pub argon2: Argon2Config,
    /// Decoding uploaded photos (MR-1): how many at once.
    pub uploads: UploadsConfig,
    pub outbox: OutboxConfig,
    pub login: LoginConfig,
    pub recovery: RecoveryConfig,
    pub sessions: SessionConfig,
    pub entries: EntriesConfig,
    pub authority: AuthorityConfig,
    pub site: SiteConfig,
    /// 教育部账号登录 (LOGIN-5): the upstream OpenID Connect provider.
    pub upstream: Option<UpstreamConfig>,
    pub privacy: PrivacyConfig,
    /// The business entries as OpenID Connect clients (SSO-1).
    pub clients: ClientsConfig,
    /// Extra working-day calendar files (one per year) beside the built-in
    /// 2025 and 2026 ones; a later file overrides earlier entries date by date.
    pub calendar_files: Vec<PathBuf>,
}

mod database_url;
mod sections;

pub use database_url::DatabaseUrl;
pub use sections::*;

impl Default for Config {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            database_url: "sqlite://jszg.db".into(),
            dev: None,
            max_connections: 16,
            public_url: None,
            log_format: LogFormat::Text,
            keys_file: None,
            keys: None,
            smtp: None,
            sms: None,
            wechat: None,
            wechat_simulator: true,
            terms_file: None,
            trust_forwarded_for: false,
            server: ServerConfig::default(),
            codes: CodeConfig::default(),
            limits: LimitsConfig::default(),
            captcha: CaptchaConfig::default(),
            recovery: RecoveryConfig::default(),
            argon2: Argon2Config::default(),
            uploads: UploadsConfig::default(),
            outbox: OutboxConfig::default(),
            login: LoginConfig::default(),
            sessions: SessionConfig::default(),
            entries: EntriesConfig::default(),
            authority: AuthorityConfig::default(),
            site: SiteConfig::default(),
            upstream: None,
            privacy: PrivacyConfig::default(),
            clients: ClientsConfig::default(),
            calendar_files: Vec::new(),
        }
    }
}

/// Accept `true`/`false`, `1`/`0`, `yes`/`no`: what people put in env vars.
fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Bool(bool),
        Int(i64),
        Text(String),
    }
    Ok(match Option::<Raw>::deserialize(d)? {
        None => None,
        Some(Raw::Bool(b)) => Some(b),
        Some(Raw::Int(i)) => Some(i != 0),
        Some(Raw::Text(t)) => match t.trim().to_ascii_lowercase().as_str() {
            "" => None,
            "1" | "true" | "yes" | "on" => Some(true),
            "0" | "false" | "no" | "off" => Some(false),
            other => return Err(serde::de::Error::custom(format!("not a boolean: {other}"))),
        },
    })
}

/// Command-line overrides; only the flags given are applied.
#[derive(Debug, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dev: Option<bool>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Parse(String),
    #[error("{0}")]
    Refused(String),
}

impl Config {
    pub fn load(dir: &Path, overrides: Overrides) -> Result<Self, ConfigError> {
        Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::file(dir.join("jszg.toml")))
            .merge(Env::prefixed("JSZG_").split("__"))
            .merge(Serialized::globals(overrides))
            .extract()
            .map_err(|e| ConfigError::Parse(e.to_string()))
    }

    pub fn is_dev(&self) -> bool {
        self.dev.unwrap_or(self.smtp.is_none() && self.sms.is_none() && self.keys.is_none() && self.keys_file.is_none())
    }

    pub fn database(&self) -> DatabaseUrl {
        DatabaseUrl::new(self.database_url.clone())
    }

    pub fn bind_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.bind.parse().map_err(|_| ConfigError::Parse(format!("bind {:?} is not host:port", self.bind)))
    }

    pub fn public_url(&self) -> String {
        self.public_url.clone().unwrap_or_else(|| format!("http://{}", self.bind)).trim_end_matches('/').to_owned()
    }

    /// Refuse settings the server must not run with.
    pub fn check(&self) -> Result<(), ConfigError> {
        let addr = self.bind_addr()?;
        if self.is_dev() {
            if !addr.ip().is_loopback() {
                return Err(ConfigError::Refused(format!(
                    "development mode only binds loopback addresses, not {addr}: it exposes the outbox and test endpoints"
                )));
            }
            return Ok(());
        }
        let mut missing = Vec::new();
        if self.smtp.is_none() {
            missing.push("[smtp] url and from");
        }
        if self.sms.is_none() {
            missing.push("[sms] provider settings");
        }
        if self.keys.is_none() && self.keys_file.is_none() {
            missing.push("keys_file or [keys]");
        }
        match self.authority.provider {
            AuthorityProvider::Http if self.authority.url.is_none() || self.authority.secret.is_none() => {
                missing.push("[authority] url and secret");
            }
            // The reference registry knows nobody until it is filled: in production without a
            // registry file every real-name check would fail, silently.
            AuthorityProvider::Registry if self.authority.registry_csv.is_none() => {
                missing.push("[authority] provider = \"http\" with url and secret (or a registry_csv)");
            }
            _ => {}
        }
        if !missing.is_empty() {
            return Err(ConfigError::Refused(format!(
                "production mode needs real delivery and encryption settings; missing: {}",
                missing.join(", ")
            )));
        }
        Ok(())
    }

    /// Where development mode keeps its generated keys: beside the SQLite
    /// file, or in the working directory for PostgreSQL.
    pub fn dev_keys_path(&self) -> PathBuf {
        match self.database().sqlite_path() {
            Some(db) => {
                let mut name = db.file_name().map(|n| n.to_os_string()).unwrap_or_default();
                name.push(".keys");
                db.with_file_name(name)
            }
            None => PathBuf::from("jszg-dev.keys"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_start_is_dev_and_partial_production_is_refused() {
        let config = Config::default();
        assert!(config.is_dev());
        assert!(config.check().is_ok());

        let wide = Config { bind: "0.0.0.0:8080".into(), ..Config::default() };
        assert!(matches!(wide.check(), Err(ConfigError::Refused(_))));

        let partial = Config { smtp: Some(SmtpConfig { url: "smtp://localhost".into(), from: "a@b.cn".into() }), ..Config::default() };
        assert!(!partial.is_dev());
        let err = partial.check().unwrap_err().to_string();
        assert!(err.contains("[sms]") && err.contains("keys_file"), "{err}");
    }

    /// Hardening round 2, item 10: production without an identity authority is refused, as
    /// without SMTP or SMS, instead of checking every applicant against an empty registry.
    #[test]
    fn production_needs_an_identity_authority() {
        let sms = SmsConfig {
            provider: SmsProvider::Aliyun,
            access_key_id: "id".into(),
            access_key_secret: "secret".into(),
            sign_name: "s".into(),
            code_template: "SMS_1".into(),
            notice_template: "SMS_2".into(),
            sdk_app_id: None,
            region: None,
            endpoint: None,
        };
        let production = Config {
            smtp: Some(SmtpConfig { url: "smtp://localhost".into(), from: "a@b.cn".into() }),
            sms: Some(sms),
            keys_file: Some("jszg.keys".into()),
            ..Config::default()
        };
        let err = production.check().unwrap_err().to_string();
        assert!(err.contains("[authority]"), "{err}");
        let mut http = production.clone();
        http.authority = AuthorityConfig { provider: AuthorityProvider::Http, url: Some("https://ra.example.cn".into()), secret: Some("s".into()), ..AuthorityConfig::default() };
        assert!(http.check().is_ok());
        let mut registry = production.clone();
        registry.authority.registry_csv = Some("registry.csv".into());
        assert!(registry.check().is_ok());
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's own test API
    fn layering_toml_env_flags() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("jszg.toml", "bind = \"127.0.0.1:1111\"\ndatabase_url = \"sqlite://a.db\"\n[codes]\nemail_daily_limit = 9\n")?;
            jail.set_env("JSZG_DATABASE_URL", "sqlite://b.db");
            jail.set_env("JSZG_DEV", "1");
            let c = Config::load(jail.directory(), Overrides::default()).unwrap();
            assert_eq!(c.bind, "127.0.0.1:1111");
            assert_eq!(c.database_url, "sqlite://b.db");
            assert_eq!(c.dev, Some(true));
            assert_eq!(c.codes.email_daily_limit, 9);
            let c =
                Config::load(jail.directory(), Overrides { database_url: Some("sqlite://c.db".into()), ..Overrides::default() }).unwrap();
            assert_eq!(c.database_url, "sqlite://c.db");
            Ok(())
        });
    }

    #[test]
    fn dev_keys_sit_beside_the_database() {
        let c = Config { database_url: "sqlite:///var/lib/jszg/main.db".into(), ..Config::default() };
        assert_eq!(c.dev_keys_path(), PathBuf::from("/var/lib/jszg/main.db.keys"));
    }
}
