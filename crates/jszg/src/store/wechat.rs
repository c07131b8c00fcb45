//! The service account: what the callback has acted on (WX-1), chats waiting for input and
//! the WeChat a code went to (CODE-3), and bindings (WX-3).

use super::{Db, Tx};
use crate::{db_run, tx_run};

/// Record a message or event; false when it was already recorded (a retry).
pub async fn first_delivery(db: &Db, key_hash: &[u8], now: i64) -> Result<bool, sqlx::Error> {
    const SQL: &str = "INSERT INTO wechat_deliveries (key_hash, received_at) VALUES ($1, $2) ON CONFLICT (key_hash) DO NOTHING";
    let inserted = db_run!(db, pool => sqlx::query(SQL).bind(key_hash).bind(now).execute(pool).await?.rows_affected());
    Ok(inserted == 1)
}

/// Remember the signed query `key_hash` with the body it came with; false when that query was
/// already used with another body (a replay). One statement: two instances agree.
pub async fn nonce_fits(db: &Db, key_hash: &[u8], body_hash: &[u8], now: i64) -> Result<bool, sqlx::Error> {
    const SQL: &str = "INSERT INTO wechat_nonces (key_hash, body_hash, received_at) VALUES ($1, $2, $3)
        ON CONFLICT (key_hash) DO UPDATE SET received_at = wechat_nonces.received_at
        WHERE wechat_nonces.body_hash = excluded.body_hash
        RETURNING received_at";
    let row: Option<i64> = db_run!(db, pool => sqlx::query_scalar(SQL).bind(key_hash).bind(body_hash).bind(now).fetch_optional(pool).await?);
    Ok(row.is_some())
}

/// The chat of `openid_hash` now waits for `awaiting` until `until_at`.
pub async fn await_input(db: &Db, openid_hash: &[u8], awaiting: &str, until_at: i64) -> Result<(), sqlx::Error> {
    const SQL: &str = "INSERT INTO wechat_chats (openid_hash, awaiting, until_at) VALUES ($1, $2, $3)
        ON CONFLICT (openid_hash) DO UPDATE SET awaiting = excluded.awaiting, until_at = excluded.until_at";
    db_run!(db, pool => sqlx::query(SQL).bind(openid_hash).bind(awaiting).bind(until_at).execute(pool).await?.rows_affected());
    Ok(())
}

/// What the chat waits for, if anything.
pub async fn awaiting(db: &Db, openid_hash: &[u8], now: i64) -> Result<Option<String>, sqlx::Error> {
    const SQL: &str = "SELECT awaiting FROM wechat_chats WHERE openid_hash = $1 AND until_at > $2";
    Ok(db_run!(db, pool => sqlx::query_scalar(SQL).bind(openid_hash).bind(now).fetch_optional(pool).await?))
}

pub async fn clear_chat(db: &Db, openid_hash: &[u8]) -> Result<(), sqlx::Error> {
    db_run!(db, pool => sqlx::query("DELETE FROM wechat_chats WHERE openid_hash = $1").bind(openid_hash).execute(pool).await?.rows_affected());
    Ok(())
}

/// Remember which WeChat the registration code for `doc_hash` went to (replacing an earlier one).
pub async fn remember_code_openid(tx: &mut Tx, doc_hash: &[u8], openid_hash: &[u8], openid_enc: &[u8], expires_at: i64) -> Result<(), sqlx::Error> {
    const SQL: &str = "INSERT INTO wechat_code_openids (doc_hash, openid_hash, openid_enc, expires_at) VALUES ($1, $2, $3, $4)
        ON CONFLICT (doc_hash) DO UPDATE SET
            openid_hash = excluded.openid_hash, openid_enc = excluded.openid_enc, expires_at = excluded.expires_at";
    tx_run!(tx, conn => sqlx::query(SQL).bind(doc_hash).bind(openid_hash).bind(openid_enc).bind(expires_at).execute(conn).await?.rows_affected());
    Ok(())
}

/// Bind the account to the WeChat its registration code went to, unless that WeChat is bound
/// already (one openid, one account). True when bound.
pub async fn bind_from_code(tx: &mut Tx, account_id: i64, doc_hash: &[u8], now: i64) -> Result<bool, sqlx::Error> {
    const BIND: &str = "INSERT INTO wechat_bindings (account_id, openid_hash, openid_enc, bound_at)
        SELECT $1, openid_hash, openid_enc, $3 FROM wechat_code_openids WHERE doc_hash = $2 AND expires_at > $3
        ON CONFLICT DO NOTHING";
    const FORGET: &str = "DELETE FROM wechat_code_openids WHERE doc_hash = $1";
    let bound = tx_run!(tx, conn => {
        let bound = sqlx::query(BIND).bind(account_id).bind(doc_hash).bind(now).execute(&mut *conn).await?.rows_affected();
        sqlx::query(FORGET).bind(doc_hash).execute(&mut *conn).await?;
        bound
    });
    Ok(bound == 1)
}

pub struct NewScene<'a> {
    pub scene_hash: &'a [u8],
    pub public_id: &'a str,
    pub purpose: &'a str,
    pub account_id: i64,
    pub expires_at: i64,
}

pub async fn put_scene(db: &Db, s: NewScene<'_>) -> Result<(), sqlx::Error> {
    const SQL: &str = "INSERT INTO wechat_scenes (scene_hash, public_id, purpose, account_id, expires_at) VALUES ($1, $2, $3, $4, $5)";
    db_run!(db, pool => sqlx::query(SQL)
        .bind(s.scene_hash)
        .bind(s.public_id)
        .bind(s.purpose)
        .bind(s.account_id)
        .bind(s.expires_at)
        .execute(pool)
        .await?
        .rows_affected());
    Ok(())
}

/// Spend a live scene: its purpose and account, once.
pub async fn take_scene(tx: &mut Tx, scene_hash: &[u8], now: i64) -> Result<Option<(String, i64)>, sqlx::Error> {
    const SQL: &str = "UPDATE wechat_scenes SET used_at = $2 WHERE scene_hash = $1 AND used_at IS NULL AND expires_at > $2
        RETURNING purpose, account_id";
    Ok(tx_run!(tx, conn => sqlx::query_as(SQL).bind(scene_hash).bind(now).fetch_optional(conn).await?))
}

/// The account an openid is bound to.
pub async fn account_of(tx: &mut Tx, openid_hash: &[u8]) -> Result<Option<i64>, sqlx::Error> {
    const SQL: &str = "SELECT account_id FROM wechat_bindings WHERE openid_hash = $1";
    Ok(tx_run!(tx, conn => sqlx::query_scalar(SQL).bind(openid_hash).fetch_optional(conn).await?))
}

/// Bind the account to this openid, replacing the account's earlier WeChat. False when the openid
/// is bound to another account (one openid, one account).
pub async fn bind(tx: &mut Tx, account_id: i64, openid_hash: &[u8], openid_enc: &[u8], now: i64) -> Result<bool, sqlx::Error> {
    const DROP_OLD: &str = "DELETE FROM wechat_bindings WHERE account_id = $1 AND openid_hash <> $2";
    const BIND: &str = "INSERT INTO wechat_bindings (account_id, openid_hash, openid_enc, bound_at) VALUES ($1, $2, $3, $4)
        ON CONFLICT DO NOTHING";
    let (bound, same) = tx_run!(tx, conn => {
        sqlx::query(DROP_OLD).bind(account_id).bind(openid_hash).execute(&mut *conn).await?;
        let bound = sqlx::query(BIND).bind(account_id).bind(openid_hash).bind(openid_enc).bind(now).execute(&mut *conn).await?.rows_affected();
        let same: Option<i64> = sqlx::query_scalar("SELECT account_id FROM wechat_bindings WHERE openid_hash = $1")
            .bind(openid_hash)
            .fetch_optional(&mut *conn)
            .await?;
        (bound, same)
    });
    Ok(bound == 1 || same == Some(account_id))
}

/// Remove the account's binding; true when there was one.
pub async fn unbind(tx: &mut Tx, account_id: i64) -> Result<bool, sqlx::Error> {
    Ok(tx_run!(tx, conn => sqlx::query("DELETE FROM wechat_bindings WHERE account_id = $1").bind(account_id).execute(conn).await?.rows_affected()) == 1)
}

/// Whether the account has a WeChat bound.
pub async fn is_bound(db: &Db, account_id: i64) -> Result<bool, sqlx::Error> {
    const SQL: &str = "SELECT COUNT(*) FROM wechat_bindings WHERE account_id = $1";
    let n: i64 = db_run!(db, pool => sqlx::query_scalar(SQL).bind(account_id).fetch_one(pool).await?);
    Ok(n > 0)
}

/// The sealed openid the account is bound to.
pub async fn bound_openid(tx: &mut Tx, account_id: i64) -> Result<Option<Vec<u8>>, sqlx::Error> {
    const SQL: &str = "SELECT openid_enc FROM wechat_bindings WHERE account_id = $1";
    Ok(tx_run!(tx, conn => sqlx::query_scalar(SQL).bind(account_id).fetch_optional(conn).await?))
}

pub async fn insert_reset(tx: &mut Tx, token_hash: &[u8], account_id: i64, openid_hash: &[u8], expires_at: i64) -> Result<(), sqlx::Error> {
    const SQL: &str = "INSERT INTO wechat_resets (token_hash, account_id, openid_hash, expires_at) VALUES ($1, $2, $3, $4)";
    tx_run!(tx, conn => sqlx::query(SQL).bind(token_hash).bind(account_id).bind(openid_hash).bind(expires_at).execute(conn).await?.rows_affected());
    Ok(())
}

/// The account of a live reset link whose WeChat is still the bound one.
pub async fn live_reset(db: &Db, token_hash: &[u8], now: i64) -> Result<Option<i64>, sqlx::Error> {
    const SQL: &str = "SELECT r.account_id FROM wechat_resets r
        JOIN wechat_bindings b ON b.account_id = r.account_id AND b.openid_hash = r.openid_hash
        WHERE r.token_hash = $1 AND r.used_at IS NULL AND r.expires_at > $2";
    Ok(db_run!(db, pool => sqlx::query_scalar(SQL).bind(token_hash).bind(now).fetch_optional(pool).await?))
}

/// Spend a live reset link (once, across instances): its account.
pub async fn use_reset(tx: &mut Tx, token_hash: &[u8], now: i64) -> Result<Option<i64>, sqlx::Error> {
    const SQL: &str = "UPDATE wechat_resets SET used_at = $2
        WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2
          AND EXISTS (SELECT 1 FROM wechat_bindings b WHERE b.account_id = wechat_resets.account_id AND b.openid_hash = wechat_resets.openid_hash)
        RETURNING account_id";
    Ok(tx_run!(tx, conn => sqlx::query_scalar(SQL).bind(token_hash).bind(now).fetch_optional(conn).await?))
}
