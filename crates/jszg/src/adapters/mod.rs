pub mod authority;
pub mod delivery;
pub mod mail;
pub mod oidc_rp;
pub mod passwords;
pub mod signing_keys;
pub mod sms;
pub mod totp;
