#![allow(clippy::unwrap_used, clippy::expect_used)]
//! API tests: the whole app on port 0 with a fresh database per test, on
//! SQLite by default and on PostgreSQL when `JSZG_TEST_DATABASE_URL` is set.

mod helpers;

mod abuse;
mod caching;
mod captcha;
mod ownership_claims;
mod codes;
mod delivery;
mod dev;
mod errors;
mod hardening;
mod integrity;
mod keys;
mod login_transport;
mod overload;
mod privacy;
mod profile;
mod realname;
mod recovery;
mod registration;
mod reviews;
mod sessions;
mod slow_clients;
mod sso;
mod storage;
mod upstream;
mod wechat;
