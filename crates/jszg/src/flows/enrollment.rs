//! Business systems as clients (SSO-3): each entry's system authenticates
//! with its client secret, stored only as a keyed hash, and records
//! enrollments; `jszg clients rotate-secret` replaces the secret at once.

use jszg_domain::LoginName;
use subtle::ConstantTimeEq;

use crate::app::App;
use crate::crypto::random_token;
use crate::error::{ErrorCode, AppError, AppResult};
use crate::flows::applicant::Entry;
use crate::store::{accounts, enrollments};
use crate::vault::Field;

fn secret_hash(app: &App, entry: Entry, secret: &str) -> Vec<u8> {
    app.vault.mac(&[b"client_secret", entry.as_str().as_bytes(), secret.as_bytes()])
}

/// Set a new secret for the entry's client and return it.
pub async fn rotate_secret(app: &App, entry: Entry) -> AppResult<String> {
    let secret = random_token(32);
    set_secret(app, entry, &secret).await?;
    Ok(secret)
}

pub async fn set_secret(app: &App, entry: Entry, secret: &str) -> AppResult<()> {
    enrollments::set_client_secret(&app.db, entry.as_str(), &secret_hash(app, entry, secret), app.clock.unix()).await?;
    Ok(())
}

pub async fn authenticate(app: &App, entry: Entry, presented: &str) -> AppResult<()> {
    let unauthorized = || AppError::new(ErrorCode::InvalidClient, "业务系统身份验证失败。").field("authorization");
    if presented.is_empty() || presented.len() > 200 {
        return Err(unauthorized());
    }
    let Some(stored) = enrollments::client_secret_hash(&app.db, entry.as_str()).await? else {
        return Err(unauthorized());
    };
    if bool::from(stored.ct_eq(&secret_hash(app, entry, presented))) {
        return Ok(());
    }
    // GM-1: a secret set before a change of suite is hashed the previous way; rehash it on use.
    let previous = app.vault.previous_mac(&[b"client_secret", entry.as_str().as_bytes(), presented.as_bytes()]);
    if previous.is_some_and(|p| bool::from(stored.ct_eq(&p))) {
        enrollments::set_client_secret(&app.db, entry.as_str(), &secret_hash(app, entry, presented), app.clock.unix()).await?;
        return Ok(());
    }
    Err(unauthorized())
}

/// The business system of `entry`, proven by its secret, records that the applicant signed up
/// for its business.
pub async fn enroll(app: &App, entry: Entry, secret: &str, applicant: &LoginName) -> AppResult<()> {
    authenticate(app, entry, secret).await?;
    let doc_hash = app.vault.lookups(Field::DocNumber, applicant.as_str());
    let account =
        accounts::find_live(&app.db, &doc_hash).await?.ok_or_else(|| AppError::new(ErrorCode::UnknownAccount, "没有这个证件号码的账号。"))?;
    enrollments::enroll(&app.db, account.id, entry.as_str(), app.clock.unix()).await?;
    Ok(())
}
