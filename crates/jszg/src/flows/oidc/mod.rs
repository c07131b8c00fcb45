//! jszg as the OpenID Connect provider of the two business entries (SSO-1,
//! SSO-2): the authorization code flow with PKCE S256 only, RS256 ID tokens,
//! userinfo and logout. The HTTP layer turns the outcomes here into
//! redirects, pages and the OAuth JSON errors.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::app::App;
use crate::crypto::random_token;
use crate::error::{AppError, AppResult};
use crate::flows::applicant::{Applicant, Entry, Next};
use crate::flows::enrollment;
use crate::flows::sessions::Current;
use crate::store::{accounts, audit, oidc as store};

pub mod backchannel;
pub mod clients;
pub mod keys;
pub mod logout;

mod authorize;
mod discovery;
mod token;
mod userinfo;

pub use authorize::*;
pub use discovery::*;
pub use token::*;
pub use userinfo::*;

pub use clients::{client, subject};
pub use keys::TOKEN_LIFETIME;

/// Codes live at most this long (SSO-1).
pub const CODE_LIFETIME: i64 = 60;
/// An authorization waiting for login, profile or real name survives this long.
pub const PENDING_LIFETIME: i64 = 30 * 60;
/// The cookie that refers to the pending authorization.
pub const PENDING_COOKIE: &str = "jszg_authz";

/// The scopes jszg answers; any other value in a request is ignored (Core 3.1.2.1, SSO-4).
pub const SCOPES: [&str; 5] = ["openid", "profile", "identity", "email", "phone"];

/// `redirect_uri` with query parameters added.
pub fn with_params(uri: &str, params: &[(&str, &str)]) -> String {
    let query = serde_urlencoded::to_string(params).unwrap_or_default();
    let sep = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{sep}{query}")
}

/// The session id published as `sid`: derived from the session's stored
/// hash, so it names the session without revealing the cookie.
pub fn sid(app: &App, session_hash: &[u8]) -> String {
    B64URL.encode(&app.vault.mac(&[b"oidc_sid", session_hash])[..18])
}

fn code_hash(app: &App, code: &str) -> Vec<u8> {
    app.vault.mac(&[b"oidc_code", code.as_bytes()])
}

fn token_hash(app: &App, token: &str) -> Vec<u8> {
    app.vault.mac(&[b"oidc_access_token", token.as_bytes()])
}
