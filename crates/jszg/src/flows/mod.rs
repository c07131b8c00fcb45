//! Business flows: each takes parsed domain values, applies the rule, and
//! returns a result. They know nothing of HTTP or SQL dialects.

pub mod account_changes;
pub mod applicant;
pub mod captcha;
pub mod ownership_claims;
pub mod codes;
pub mod contact_change;
pub mod dev;
pub mod enrollment;
pub mod import;
pub mod integrity;
pub mod keys;
pub mod login;
pub mod loose;
pub mod my_data;
pub mod notify;
pub mod oidc;
pub mod profile;
pub mod quotas;
pub mod realname;
pub mod recovery;
pub mod registration;
pub mod retention;
pub mod reviews;
pub mod sessions;
pub mod staff;
pub mod stored_passwords;
pub mod upstream_login;
pub mod wechat;
