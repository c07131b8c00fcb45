pub mod authority;
pub mod delivery;
pub mod mail;
pub mod passwords;
pub mod sms;
pub mod totp;
pub mod oidc_rp;
