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
