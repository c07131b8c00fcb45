//! The sections of `jszg.toml`, each with its defaults and the reasons for them.

use super::*;

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Clone, Deserialize, Serialize)]
pub struct SmtpConfig {
    /// `smtps://user:pass@host:465` (implicit TLS), `smtp://…:587?tls=required`
    /// (STARTTLS), or plain `smtp://host:25` for a local relay.
    pub url: String,
    /// `From:` header, e.g. `中国教师资格网 <noreply@jszg.edu.cn>`.
    pub from: String,
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig").field("url", &DatabaseUrl::new(self.url.clone())).field("from", &self.from).finish()
    }
}

/// `[wechat]`: the service account (WX-1..4). Absent in development, where `/dev/wechat` plays
/// the applicant's phone.
#[derive(Clone, Deserialize, Serialize)]
pub struct WechatConfig {
    pub app_id: String,
    pub app_secret: String,
    /// The callback token set in the platform's console (signatures).
    pub token: String,
    /// The 43-character EncodingAESKey: set means safe mode, empty means plaintext.
    #[serde(default)]
    pub encoding_aes_key: String,
    #[serde(default = "default_wechat_api")]
    pub api_base: String,
    /// The service account's QR code picture (from the console), shown on the registration page
    /// under 微信扫码验证; without it the page tells applicants to search for the account.
    #[serde(default)]
    pub follow_qr_url: Option<String>,
}

fn default_wechat_api() -> String {
    "https://api.weixin.qq.com".to_owned()
}

impl std::fmt::Debug for WechatConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WechatConfig").field("app_id", &self.app_id).field("api_base", &self.api_base).finish_non_exhaustive()
    }
}

#[derive(Clone, Deserialize, Serialize)]
pub struct SmsConfig {
    pub provider: SmsProvider,
    pub access_key_id: String,
    pub access_key_secret: String,
    pub sign_name: String,
    /// Provider template id for verification codes (one parameter: the code).
    pub code_template: String,
    /// Provider template id for notices (one parameter: the text).
    pub notice_template: String,
    /// Tencent Cloud SMS application id.
    #[serde(default)]
    pub sdk_app_id: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    /// Override the provider endpoint (tests, private deployments).
    #[serde(default)]
    pub endpoint: Option<String>,
}

impl std::fmt::Debug for SmsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsConfig")
            .field("provider", &self.provider)
            .field("access_key_id", &self.access_key_id)
            .field("sign_name", &self.sign_name)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SmsProvider {
    Aliyun,
    Tencent,
}

/// `[server]`: what one slow or idle client may hold (docs/hardening.md).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default)]
pub struct ServerConfig {
    /// Open client connections at once; one more is answered 503 and closed.
    /// Keep it well below the open-file limit (`ulimit -n`, often 1024).
    pub max_connections: usize,
    /// Open connections from one client address, so one address cannot hold them all (a
    /// computer room's browsers keep up to six each). Unset: a quarter of `max_connections`.
    /// Off behind a proxy (`trust_forwarded_for`), where every connection is the proxy's: limit
    /// connections per client there.
    pub max_connections_per_address: Option<usize>,
    /// From the first byte of a request (or the end of the previous one on a
    /// kept-alive connection) to the end of its headers.
    pub header_timeout_secs: u64,
    /// From the end of the headers to the end of the body.
    pub body_timeout_secs: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self { max_connections: 800, max_connections_per_address: None, header_timeout_secs: 10, body_timeout_secs: 30 }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default)]
pub struct CodeConfig {
    /// Email codes per address per Beijing day (CODE-2). SMS is fixed at 3 (CODE-1).
    pub email_daily_limit: i64,
}

impl Default for CodeConfig {
    fn default() -> Self {
        Self { email_daily_limit: 5 }
    }
}

/// `[limits]`: what one source address, its network (IPv4 /24, IPv6 /64) and everybody together
/// may spend per hour and per Beijing day (ABUSE-1, ABUSE-3). Counted in the database, so every
/// instance agrees; the reasoning behind the defaults is in docs/operations.md ("Abuse quotas").
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default)]
pub struct LimitsConfig {
    pub sms_per_address_hour: i64,
    pub sms_per_address_day: i64,
    pub sms_per_network_hour: i64,
    pub sms_per_network_day: i64,
    pub sms_global_hour: i64,
    pub sms_global_day: i64,
    pub email_per_address_hour: i64,
    pub email_per_address_day: i64,
    pub email_per_network_hour: i64,
    pub email_per_network_day: i64,
    pub email_global_hour: i64,
    pub email_global_day: i64,
    pub registrations_per_address_hour: i64,
    pub registrations_per_network_hour: i64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            // A computer room of 50 registering in one organised hour, a few resends among them.
            sms_per_address_hour: 60,
            sms_per_address_day: 300,
            // A campus whose dormitories leave through several addresses of one /24.
            sms_per_network_hour: 200,
            sms_per_network_day: 1_000,
            // Twice the busiest opening hour's codes; 1.4 times the opening day's.
            sms_global_hour: 150_000,
            sms_global_day: 800_000,
            // Email codes only change a bound address: rare, and a flood hurts the sender's reputation.
            email_per_address_hour: 20,
            email_per_address_day: 100,
            email_per_network_hour: 60,
            email_per_network_day: 300,
            email_global_hour: 20_000,
            email_global_day: 100_000,
            registrations_per_address_hour: 60,
            registrations_per_network_hour: 200,
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default)]
pub struct CaptchaConfig {
    /// Failed answers allowed per source address in one window before 429.
    pub failure_limit: i64,
    pub failure_window_secs: i64,
    /// Proof-of-work zero bits asked of a source that has answered little lately (14: ~16k
    /// hashes, well under a second on a low-end phone).
    pub pow_base_difficulty: u32,
    /// The most it rises to, however many answers. At or below the base, it never rises: a test
    /// harness that solves thousands of puzzles from one address sets it so (API.md).
    pub pow_max_difficulty: u32,
    /// Answers, right or wrong, counted for the difficulty within this window (ABUSE-2).
    pub pow_window_secs: i64,
    /// Answers per address in a window that cost only the base difficulty (at most 4).
    pub pow_free_per_address: i64,
    /// The same for a whole /24 or /64, which many people may share.
    pub pow_free_per_network: i64,
    /// Zero bits added per doubling of the answers beyond the free ones.
    pub pow_bits_per_doubling: u32,
    /// 无障碍验证 (A11Y-2): zero bits asked above the slider's price for the same source. Four
    /// bits is sixteen times the work: a script gains nothing by skipping the picture, while a
    /// person waits about a second at the base price (docs/applicant-pages.md).
    pub accessible_extra_bits: u32,
}

impl Default for CaptchaConfig {
    fn default() -> Self {
        Self {
            failure_limit: 20,
            failure_window_secs: 600,
            pow_base_difficulty: 14,
            pow_max_difficulty: 28,
            pow_window_secs: 3600,
            pow_free_per_address: 4,
            pow_free_per_network: 64,
            pow_bits_per_doubling: 2,
            accessible_extra_bits: 4,
        }
    }
}

/// Recovery step 1 (`identity_mismatch`) failure limits, like login's: per source address and
/// per document number, in fixed windows.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default)]
pub struct RecoveryConfig {
    pub address_limit: i64,
    pub number_limit: i64,
    pub window_secs: i64,
}

impl Default for RecoveryConfig {
    fn default() -> Self {
        Self { address_limit: 10, number_limit: 5, window_secs: 900 }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default)]
pub struct Argon2Config {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
    /// Hashing worker threads; each holds `memory_kib`, so this bounds memory.
    pub max_concurrent: usize,
    /// Jobs that may wait for a worker; beyond it 503 `server_busy`. 128 waiting
    /// at ~60 hashes per second per worker is about a second's backlog on two cores.
    pub queue_limit: usize,
}

impl Default for Argon2Config {
    fn default() -> Self {
        // OWASP password storage cheat sheet: m=19 MiB, t=2, p=1; one
        // worker per core keeps every core busy and memory at cores × 19 MiB.
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        Self { memory_kib: 19 * 1024, iterations: 2, parallelism: 1, max_concurrent: cores.clamp(2, 16), queue_limit: 128 }
    }
}

/// `[uploads]`: photo decodes run on at most `max_concurrent_decodes` blocking threads (each
/// holds up to 36 MB of pixels for a 12-megapixel photo); past `queue_limit` waiting uploads a
/// request gets 503 `server_busy` at once.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default)]
pub struct UploadsConfig {
    pub max_concurrent_decodes: usize,
    pub queue_limit: usize,
}

impl Default for UploadsConfig {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        Self { max_concurrent_decodes: cores.clamp(1, 8), queue_limit: 32 }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default)]
pub struct OutboxConfig {
    /// How often the delivery worker looks for due messages.
    pub poll_ms: u64,
    /// Attempts before a message is marked failed.
    pub max_attempts: i64,
    /// Run the delivery worker in this process.
    pub worker: bool,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        Self { poll_ms: 500, max_attempts: 12, worker: true }
    }
}

/// Login throttling (LOGIN-3). The shape follows Keycloak's brute-force
/// detection and Logto's lockout: a few free tries, then each try waits
/// longer, then the number is locked for a while; an address that fails
/// across many numbers is throttled on its own.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default)]
pub struct LoginConfig {
    /// Failures before each further try is delayed.
    pub slow_after: i64,
    /// Added delay per failure beyond `slow_after`, capped by `max_delay_ms`.
    pub delay_step_ms: u64,
    pub max_delay_ms: u64,
    /// Failures (within `reset_after_secs`) that lock the number.
    pub lock_after: i64,
    pub lock_secs: i64,
    /// Failures older than this are forgotten.
    pub reset_after_secs: i64,
    /// Failed logins per source address per window.
    pub address_limit: i64,
    pub address_window_secs: i64,
    /// Failed logins per network (IPv4 /24, IPv6 /64) in the same window (ABUSE-3).
    pub network_limit: i64,
}

impl Default for LoginConfig {
    fn default() -> Self {
        Self {
            slow_after: 3,
            delay_step_ms: 500,
            max_delay_ms: 3000,
            lock_after: 10,
            lock_secs: 15 * 60,
            reset_after_secs: 12 * 3600,
            address_limit: 100,
            address_window_secs: 15 * 60,
            network_limit: 300,
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default)]
pub struct SessionConfig {
    /// A session unused this long ends.
    pub idle_secs: i64,
    /// A session ends this long after login, used or not.
    pub absolute_secs: i64,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self { idle_secs: 30 * 60, absolute_secs: 12 * 3600 }
    }
}

/// Where each business entry sends an applicant who may do business.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default)]
pub struct EntriesConfig {
    pub certification_url: String,
    pub renewal_url: String,
    /// Where each business system receives events (SSO-3), signed with
    /// `webhook_secret` like the authority requests.
    pub certification_webhook: Option<String>,
    pub renewal_webhook: Option<String>,
    pub webhook_secret: Option<String>,
}

impl Default for EntriesConfig {
    fn default() -> Self {
        Self {
            certification_url: "/business/certification".into(),
            renewal_url: "/business/renewal".into(),
            certification_webhook: None,
            renewal_webhook: None,
            webhook_secret: None,
        }
    }
}

/// What the page footer shows about the operator.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default)]
pub struct SiteConfig {
    /// 京公网安备 record number (digits only), shown as 京公网安备{n}号; empty hides the line.
    pub police_record: String,
}

impl Default for SiteConfig {
    fn default() -> Self {
        Self { police_record: "110402430002".into() }
    }
}

/// `[clients.certification]` and `[clients.renewal]`: each business entry
/// as a confidential OpenID Connect client. URIs match exactly.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct ClientsConfig {
    pub certification: Option<ClientConfig>,
    pub renewal: Option<ClientConfig>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default)]
pub struct ClientConfig {
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
    /// Where the personal centre's entry button sends the applicant so the
    /// business starts a sign-in (OpenID Connect third-party-initiated login).
    pub initiate_login_uri: Option<String>,
    /// PKCE S256 on every authorization (the default, OAuth 2.1). `false` lets this confidential
    /// client leave it out (a `code_challenge` sent is still enforced): the OpenID Foundation's
    /// conformance suite sends one in only one of its Basic OP modules (docs/sso.md).
    pub require_pkce: bool,
    /// How this client's ID and logout tokens are signed: `RS256` (the default) or `SM2` (GM-4).
    pub id_token_signed_response_alg: SigningAlg,
}

/// A JWS algorithm jszg signs with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Deserialize, Serialize)]
pub enum SigningAlg {
    #[default]
    #[serde(rename = "RS256")]
    Rs256,
    /// SM2 with SM3, GM/T 0009, user id `1234567812345678`.
    #[serde(rename = "SM2")]
    Sm2,
}

impl SigningAlg {
    pub const ALL: [SigningAlg; 2] = [SigningAlg::Rs256, SigningAlg::Sm2];

    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlg::Rs256 => "RS256",
            SigningAlg::Sm2 => "SM2",
        }
    }
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            redirect_uris: Vec::new(),
            post_logout_redirect_uris: Vec::new(),
            backchannel_logout_uri: None,
            initiate_login_uri: None,
            require_pkce: true,
            id_token_signed_response_alg: SigningAlg::Rs256,
        }
    }
}

impl ClientsConfig {
    pub fn get(&self, client_id: &str) -> Option<&ClientConfig> {
        match client_id {
            "certification" => self.certification.as_ref(),
            "renewal" => self.renewal.as_ref(),
            _ => None,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.certification.is_none() && self.renewal.is_none()
    }
}

/// The identity authority (RN-4).
#[derive(Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct AuthorityConfig {
    /// `registry` (the reference registry table) or `http`.
    pub provider: AuthorityProvider,
    /// CSV of `doc_type,doc_number,name` loaded into the registry at start.
    pub registry_csv: Option<PathBuf>,
    pub url: Option<String>,
    pub secret: Option<String>,
    pub timeout_ms: u64,
    pub retries: u32,
}

impl std::fmt::Debug for AuthorityConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorityConfig").field("provider", &self.provider).field("url", &self.url).finish_non_exhaustive()
    }
}

impl Default for AuthorityConfig {
    fn default() -> Self {
        Self { provider: AuthorityProvider::Registry, registry_csv: None, url: None, secret: None, timeout_ms: 5000, retries: 2 }
    }
}

/// The ministry's unified identity platform as an OpenID Connect provider
/// (LOGIN-5). Register `{public_url}/login/upstream/callback` there.
#[derive(Clone, Deserialize, Serialize)]
pub struct UpstreamConfig {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// Claim holding the document type; a missing claim means `resident_id`.
    #[serde(default = "UpstreamConfig::default_doc_type_claim")]
    pub doc_type_claim: String,
    #[serde(default = "UpstreamConfig::default_doc_number_claim")]
    pub doc_number_claim: String,
    #[serde(default = "UpstreamConfig::default_name_claim")]
    pub name_claim: String,
    #[serde(default = "UpstreamConfig::default_scopes")]
    pub scopes: Vec<String>,
    /// Timeout of each request to the provider.
    #[serde(default = "UpstreamConfig::default_timeout_ms")]
    pub timeout_ms: u64,
}

impl UpstreamConfig {
    /// An upstream with the default claim names and scopes.
    pub fn new(issuer: &str, client_id: &str, client_secret: &str) -> Self {
        Self {
            issuer: issuer.into(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            doc_type_claim: Self::default_doc_type_claim(),
            doc_number_claim: Self::default_doc_number_claim(),
            name_claim: Self::default_name_claim(),
            scopes: Self::default_scopes(),
            timeout_ms: Self::default_timeout_ms(),
        }
    }
    fn default_doc_type_claim() -> String {
        "doc_type".into()
    }
    fn default_doc_number_claim() -> String {
        "id_number".into()
    }
    fn default_name_claim() -> String {
        "name".into()
    }
    fn default_scopes() -> Vec<String> {
        vec!["openid".into(), "profile".into()]
    }
    fn default_timeout_ms() -> u64 {
        5000
    }
}

impl std::fmt::Debug for UpstreamConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamConfig").field("issuer", &self.issuer).field("client_id", &self.client_id).finish_non_exhaustive()
    }
}

/// Personal data life cycle (PRIV-1).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default)]
pub struct PrivacyConfig {
    /// Days after the decision when the photos of a review, contact change
    /// or claim are deleted. The decision itself is kept.
    pub photo_retention_days: i64,
    /// How often one instance of the cluster sweeps (photos and expired rows).
    pub sweep_interval_secs: i64,
}

impl Default for PrivacyConfig {
    fn default() -> Self {
        Self { photo_retention_days: 180, sweep_interval_secs: 300 }
    }
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum AuthorityProvider {
    Registry,
    Http,
}

impl ClientsConfig {
    /// Development without `[clients]`: both entries are clients of the
    /// stand-in business system under `/dev/rp/{entry}`.
    pub fn dev_standin(public_url: &str) -> ClientsConfig {
        let one = |entry: &str| {
            let base = format!("{public_url}/dev/rp/{entry}");
            Some(ClientConfig {
                redirect_uris: vec![format!("{base}/callback")],
                post_logout_redirect_uris: vec![base.clone()],
                backchannel_logout_uri: Some(format!("{base}/backchannel")),
                initiate_login_uri: Some(format!("{base}/login")),
                ..ClientConfig::default()
            })
        };
        ClientsConfig { certification: one("certification"), renewal: one("renewal") }
    }
}
