//! The WeChat service account (中国教师资格服务号), the platform's side of it.
//!
//! - [`wire`]: the callback's XML, messages and events in, passive replies out.
//! - [`safe_mode`]: signatures and the AES envelope of 安全模式.
//! - [`platform`]: the API client (tokens, QR codes, customer-service messages).
//!
//! Written on `quick-xml`, `aes`+`cbc` and `sha1` because no maintained
//! crate speaks this protocol; the vectors in the tests are wechatpy's.

pub mod platform;
pub mod safe_mode;
pub mod wire;

use crate::config::WechatConfig;

/// One configured service account: its callback secrets and its API client.
pub struct ServiceAccount {
    pub token: String,
    /// Safe mode, when an EncodingAESKey is set.
    pub safe_mode: Option<safe_mode::SafeMode>,
    pub platform: platform::Platform,
}

impl std::fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccount").field("safe_mode", &self.safe_mode.is_some()).finish_non_exhaustive()
    }
}

impl ServiceAccount {
    pub fn new(config: &WechatConfig) -> Result<Self, String> {
        if config.token.is_empty() || config.app_id.is_empty() {
            return Err("wechat: app_id and token are required".into());
        }
        let safe_mode = match config.encoding_aes_key.trim() {
            "" => None,
            key => Some(safe_mode::SafeMode::new(key, &config.app_id)?),
        };
        Ok(Self { token: config.token.clone(), safe_mode, platform: platform::Platform::new(config)? })
    }
}
