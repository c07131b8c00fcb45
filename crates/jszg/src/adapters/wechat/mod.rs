//! The WeChat service account (中国教师资格服务号), the platform's side of it.
//!
//! - [`wire`]: the callback's XML, messages and events in, passive replies out.
//! - [`safe_mode`]: signatures and the AES envelope of 安全模式.
//! - [`platform`]: the API client (tokens, QR codes, customer-service messages).
//! - [`simulator`]: development without a service account: the platform and the phone (WX-4).
//!
//! Written on `quick-xml`, `aes`+`cbc` and `sha1` because no maintained
//! crate speaks this protocol; the vectors in the tests are wechatpy's.

pub mod platform;
pub mod safe_mode;
pub mod simulator;
pub mod wire;

use std::sync::Arc;

/// The menu item 取验证码, as set up in the platform's console.
pub const GET_CODE_KEY: &str = "GET_CODE";
/// The text that does the same.
pub const GET_CODE_TEXT: &str = "取验证码";

use crate::config::WechatConfig;

/// One configured service account: its callback secrets and its API client.
pub struct ServiceAccount {
    pub token: String,
    /// Safe mode, when an EncodingAESKey is set.
    pub safe_mode: Option<safe_mode::SafeMode>,
    pub platform: PlatformApi,
    /// The account's own QR code picture (关注), for the registration page.
    pub follow_qr_url: Option<String>,
}

/// Who answers the platform's API: the platform itself, or the development simulator.
pub enum PlatformApi {
    Official(Box<platform::Platform>),
    Simulated(Arc<simulator::Simulator>),
}

impl PlatformApi {
    pub async fn qr_code(&self, scene: &str, expire_seconds: u64) -> Result<platform::QrCode, String> {
        match self {
            PlatformApi::Official(p) => p.qr_code(scene, expire_seconds).await,
            PlatformApi::Simulated(s) => Ok(s.qr_code(scene, expire_seconds)),
        }
    }

    pub async fn send_text(&self, openid: &str, content: &str) -> Result<(), String> {
        match self {
            PlatformApi::Official(p) => p.send_text(openid, content).await,
            PlatformApi::Simulated(s) => {
                s.send_text(openid, content);
                Ok(())
            }
        }
    }

    /// The picture of a QR code for its ticket.
    pub fn qr_image_url(&self, ticket: &str) -> String {
        match self {
            PlatformApi::Official(_) => platform::qr_image_url(ticket),
            PlatformApi::Simulated(_) => simulator::Simulator::qr_image_url(ticket),
        }
    }
}

impl std::fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccount").field("safe_mode", &self.safe_mode.is_some()).finish_non_exhaustive()
    }
}

impl ServiceAccount {
    pub fn new(config: &WechatConfig) -> Result<Self, String> {
        Self::with_platform(config, PlatformApi::Official(Box::new(platform::Platform::new(config)?)))
    }

    /// The simulated account of development mode.
    pub fn simulated(simulator: Arc<simulator::Simulator>) -> Result<Self, String> {
        let config = simulator.config().clone();
        Self::with_platform(&config, PlatformApi::Simulated(simulator))
    }

    fn with_platform(config: &WechatConfig, platform: PlatformApi) -> Result<Self, String> {
        if config.token.is_empty() || config.app_id.is_empty() {
            return Err("wechat: app_id and token are required".into());
        }
        let safe_mode = match config.encoding_aes_key.trim() {
            "" => None,
            key => Some(safe_mode::SafeMode::new(key, &config.app_id)?),
        };
        Ok(Self { token: config.token.clone(), safe_mode, platform, follow_qr_url: config.follow_qr_url.clone() })
    }

    /// The simulator behind this account, in development.
    pub fn simulator(&self) -> Option<&Arc<simulator::Simulator>> {
        match &self.platform {
            PlatformApi::Simulated(s) => Some(s),
            PlatformApi::Official(_) => None,
        }
    }
}
