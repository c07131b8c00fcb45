//! The OpenID Connect provider's state (SSO-1): signing keys, pending
//! authorizations, codes, access tokens and which clients a session signed
//! into. Everything lives here so any number of instances agree; codes and
//! tokens are stored only as keyed hashes.

use super::{Db, Tx};
use crate::{db_run, tx_run};

#[derive(sqlx::FromRow, Clone)]
pub struct SigningKey {
    pub kid: String,
    /// `RS256` or `SM2` (GM-4).
    pub alg: String,
    pub private_enc: Vec<u8>,
    /// The JWK's two public values: RSA's n and e, or the SM2 point's x and y.
    pub n: String,
    pub e: String,
    pub created_at: i64,
    pub retired_at: Option<i64>,
}

const KEY_COLUMNS: &str = "kid, alg, private_enc, n, e, created_at, retired_at";

/// Add a key and retire every other live key of its algorithm: the new key signs from now on.
pub async fn add_signing_key(tx: &mut Tx, key: &SigningKey) -> Result<(), sqlx::Error> {
    const RETIRE: &str = "UPDATE oidc_signing_keys SET retired_at = $1 WHERE retired_at IS NULL AND alg = $2";
    const INSERT: &str = "INSERT INTO oidc_signing_keys (kid, alg, private_enc, n, e, created_at) VALUES ($1, $2, $3, $4, $5, $6)";
    tx_run!(tx, conn => sqlx::query(RETIRE).bind(key.created_at).bind(&key.alg).execute(&mut *conn).await?.rows_affected());
    tx_run!(tx, conn => sqlx::query(INSERT)
        .bind(&key.kid)
        .bind(&key.alg)
        .bind(&key.private_enc)
        .bind(&key.n)
        .bind(&key.e)
        .bind(key.created_at)
        .execute(conn)
        .await?
        .rows_affected());
    Ok(())
}

/// The key that signs with `alg`: the newest live one.
pub async fn current_signing_key(db: &Db, alg: &str) -> Result<Option<SigningKey>, sqlx::Error> {
    let sql = format!(
        "SELECT {KEY_COLUMNS} FROM oidc_signing_keys WHERE retired_at IS NULL AND alg = $1 ORDER BY created_at DESC, kid DESC LIMIT 1"
    );
    Ok(db_run!(db, pool => sqlx::query_as(&sql).bind(alg).fetch_optional(pool).await?))
}

/// Keys to publish: live ones and those retired after `retired_after`.
pub async fn published_keys(db: &Db, retired_after: i64) -> Result<Vec<SigningKey>, sqlx::Error> {
    let sql = format!(
        "SELECT {KEY_COLUMNS} FROM oidc_signing_keys WHERE retired_at IS NULL OR retired_at > $1 ORDER BY created_at DESC, kid DESC"
    );
    Ok(db_run!(db, pool => sqlx::query_as(&sql).bind(retired_after).fetch_all(pool).await?))
}

pub async fn insert_pending(
    db: &Db,
    id_hash: &[u8],
    client_id: &str,
    request: &str,
    min_auth_time: i64,
    now: i64,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    const SQL: &str = "INSERT INTO oidc_pending (id_hash, client_id, request, min_auth_time, created_at, expires_at)
        VALUES ($1, $2, $3, $4, $5, $6)";
    db_run!(db, pool => sqlx::query(SQL)
        .bind(id_hash)
        .bind(client_id)
        .bind(request)
        .bind(min_auth_time)
        .bind(now)
        .bind(expires_at)
        .execute(pool)
        .await?
        .rows_affected());
    Ok(())
}

#[derive(sqlx::FromRow)]
pub struct Pending {
    pub client_id: String,
    pub request: String,
    pub min_auth_time: i64,
}

pub async fn find_pending(db: &Db, id_hash: &[u8], now: i64) -> Result<Option<Pending>, sqlx::Error> {
    const SQL: &str = "SELECT client_id, request, min_auth_time FROM oidc_pending WHERE id_hash = $1 AND expires_at > $2";
    Ok(db_run!(db, pool => sqlx::query_as(SQL).bind(id_hash).bind(now).fetch_optional(pool).await?))
}

pub async fn delete_pending(db: &Db, id_hash: &[u8]) -> Result<(), sqlx::Error> {
    db_run!(db, pool => sqlx::query("DELETE FROM oidc_pending WHERE id_hash = $1").bind(id_hash).execute(pool).await?.rows_affected());
    Ok(())
}

pub struct NewCode<'a> {
    pub code_hash: &'a [u8],
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub code_challenge: &'a str,
    pub nonce: Option<&'a str>,
    pub scope: &'a str,
    pub account_id: i64,
    pub sid: &'a str,
    pub session_hash: &'a [u8],
    pub auth_time: i64,
    pub now: i64,
    pub expires_at: i64,
}

/// Store a code and remember that this session signed into the client.
pub async fn insert_code(tx: &mut Tx, c: &NewCode<'_>) -> Result<(), sqlx::Error> {
    const CODE: &str = "INSERT INTO oidc_codes (code_hash, client_id, redirect_uri, code_challenge, nonce, scope, account_id, sid,
            auth_time, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";
    const LOGIN: &str = "INSERT INTO oidc_logins (sid, client_id, account_id, session_hash, created_at) VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (sid, client_id) DO NOTHING";
    tx_run!(tx, conn => sqlx::query(CODE)
        .bind(c.code_hash)
        .bind(c.client_id)
        .bind(c.redirect_uri)
        .bind(c.code_challenge)
        .bind(c.nonce)
        .bind(c.scope)
        .bind(c.account_id)
        .bind(c.sid)
        .bind(c.auth_time)
        .bind(c.now)
        .bind(c.expires_at)
        .execute(&mut *conn)
        .await?
        .rows_affected());
    tx_run!(tx, conn => sqlx::query(LOGIN)
        .bind(c.sid)
        .bind(c.client_id)
        .bind(c.account_id)
        .bind(c.session_hash)
        .bind(c.now)
        .execute(conn)
        .await?
        .rows_affected());
    Ok(())
}

#[derive(sqlx::FromRow)]
pub struct Redeemed {
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub nonce: Option<String>,
    pub scope: String,
    pub account_id: i64,
    pub sid: String,
    pub auth_time: i64,
}

/// Spend a code: one conditional update, so of two instances redeeming the
/// same code at once exactly one gets the row.
/// Inside the transaction that also stores the access token, so a replay
/// (which waits for the row) always finds and revokes that token.
pub async fn redeem_code(tx: &mut Tx, code_hash: &[u8], now: i64) -> Result<Option<Redeemed>, sqlx::Error> {
    const SQL: &str = "UPDATE oidc_codes SET used_at = $2 WHERE code_hash = $1 AND used_at IS NULL AND expires_at > $2
        RETURNING client_id, redirect_uri, code_challenge, nonce, scope, account_id, sid, auth_time";
    Ok(tx_run!(tx, conn => sqlx::query_as(SQL).bind(code_hash).bind(now).fetch_optional(conn).await?))
}

/// A code that was spent already: revoke what it issued. True if it was spent.
pub async fn revoke_replayed(db: &Db, code_hash: &[u8], now: i64) -> Result<bool, sqlx::Error> {
    const MARK: &str = "UPDATE oidc_codes SET replayed_at = $2 WHERE code_hash = $1 AND used_at IS NOT NULL";
    const REVOKE: &str = "UPDATE oidc_access_tokens SET revoked_at = $2 WHERE code_hash = $1 AND revoked_at IS NULL";
    if db_run!(db, pool => sqlx::query(MARK).bind(code_hash).bind(now).execute(pool).await?.rows_affected()) == 0 {
        return Ok(false);
    }
    db_run!(db, pool => sqlx::query(REVOKE).bind(code_hash).bind(now).execute(pool).await?.rows_affected());
    Ok(true)
}

pub struct NewToken<'a> {
    pub token_hash: &'a [u8],
    pub code_hash: &'a [u8],
    pub client_id: &'a str,
    pub account_id: i64,
    pub scope: &'a str,
    pub sid: &'a str,
    pub now: i64,
    pub expires_at: i64,
}

/// Store an access token in the redemption's transaction.
pub async fn insert_token(tx: &mut Tx, t: &NewToken<'_>) -> Result<bool, sqlx::Error> {
    const SQL: &str = "INSERT INTO oidc_access_tokens (token_hash, code_hash, client_id, account_id, scope, sid, created_at, expires_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    Ok(tx_run!(tx, conn => sqlx::query(SQL)
        .bind(t.token_hash)
        .bind(t.code_hash)
        .bind(t.client_id)
        .bind(t.account_id)
        .bind(t.scope)
        .bind(t.sid)
        .bind(t.now)
        .bind(t.expires_at)
        .execute(conn)
        .await?
        .rows_affected())
        == 1)
}

#[derive(sqlx::FromRow)]
pub struct LiveToken {
    pub client_id: String,
    pub account_id: i64,
    pub scope: String,
}

pub async fn find_token(db: &Db, token_hash: &[u8], now: i64) -> Result<Option<LiveToken>, sqlx::Error> {
    const SQL: &str = "SELECT client_id, account_id, scope FROM oidc_access_tokens
        WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2";
    Ok(db_run!(db, pool => sqlx::query_as(SQL).bind(token_hash).bind(now).fetch_optional(pool).await?))
}

#[derive(sqlx::FromRow)]
pub struct Login {
    pub sid: String,
    pub client_id: String,
    pub account_id: i64,
}

/// The clients a session signed into; forgets them and revokes their tokens.
pub async fn end_logins(db: &Db, session_hash: &[u8], now: i64) -> Result<Vec<Login>, sqlx::Error> {
    const LIST: &str = "DELETE FROM oidc_logins WHERE session_hash = $1 RETURNING sid, client_id, account_id";
    const REVOKE: &str = "UPDATE oidc_access_tokens SET revoked_at = $2 WHERE sid = $1 AND revoked_at IS NULL";
    let logins: Vec<Login> = db_run!(db, pool => sqlx::query_as(LIST).bind(session_hash).fetch_all(pool).await?);
    if let Some(first) = logins.first() {
        db_run!(db, pool => sqlx::query(REVOKE).bind(&first.sid).bind(now).execute(pool).await?.rows_affected());
    }
    Ok(logins)
}

/// The session a `sid` belongs to, if it signed into any client.
pub async fn session_of(db: &Db, sid: &str) -> Result<Option<Vec<u8>>, sqlx::Error> {
    const SQL: &str = "SELECT session_hash FROM oidc_logins WHERE sid = $1 LIMIT 1";
    Ok(db_run!(db, pool => sqlx::query_scalar(SQL).bind(sid).fetch_optional(pool).await?))
}

/// The moment the session was created: its `auth_time`.
pub async fn session_auth_time(db: &Db, session_hash: &[u8]) -> Result<Option<i64>, sqlx::Error> {
    const SQL: &str = "SELECT created_at FROM sessions WHERE id_hash = $1";
    Ok(db_run!(db, pool => sqlx::query_scalar(SQL).bind(session_hash).fetch_optional(pool).await?))
}

pub async fn purge_expired(db: &Db, now: i64) -> Result<(), sqlx::Error> {
    db_run!(db, pool => sqlx::query("DELETE FROM oidc_pending WHERE expires_at <= $1").bind(now).execute(pool).await?.rows_affected());
    // Spent codes are kept a while after expiry so a late replay still revokes.
    db_run!(db, pool => sqlx::query("DELETE FROM oidc_codes WHERE expires_at <= $1").bind(now - 3600).execute(pool).await?.rows_affected());
    db_run!(db, pool => sqlx::query("DELETE FROM oidc_access_tokens WHERE expires_at <= $1").bind(now).execute(pool).await?.rows_affected());
    Ok(())
}
