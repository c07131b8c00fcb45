//! jszg: applicant accounts and real-name verification for the
//! teacher-qualification portal. See the README for the architecture.

pub mod adapters;
pub mod app;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod error;
pub mod flows;
pub mod http;
pub mod message;
pub mod metrics;
pub mod server;
pub mod store;
pub mod vault;

pub use app::App;
pub use config::Config;
