pub mod delivery;
pub mod mail;
pub mod passwords;
pub mod sms;
