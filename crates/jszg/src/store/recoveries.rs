//! Recovery steps and emailed reset links (REC-1..3).

use super::{Db, Tx};
use crate::{db_run, tx_run};

pub async fn insert(db: &Db, id: &str, account_id: i64, now: i64, expires_at: i64) -> Result<(), sqlx::Error> {
    const SQL: &str = "INSERT INTO recoveries (id, account_id, created_at, expires_at) VALUES ($1, $2, $3, $4)";
    db_run!(db, pool => sqlx::query(SQL).bind(id).bind(account_id).bind(now).bind(expires_at).execute(pool).await?.rows_affected());
    Ok(())
}

/// The account a live recovery is for.
pub async fn account_of(db: &Db, id: &str, now: i64) -> Result<Option<i64>, sqlx::Error> {
    const SQL: &str = "SELECT account_id FROM recoveries WHERE id = $1 AND expires_at > $2";
    Ok(db_run!(db, pool => sqlx::query_scalar(SQL).bind(id).bind(now).fetch_optional(pool).await?))
}

pub async fn end(tx: &mut Tx, id: &str) -> Result<(), sqlx::Error> {
    tx_run!(tx, conn => sqlx::query("DELETE FROM recoveries WHERE id = $1").bind(id).execute(conn).await?.rows_affected());
    Ok(())
}

pub async fn insert_reset(tx: &mut Tx, token_hash: &[u8], account_id: i64, now: i64, expires_at: i64) -> Result<(), sqlx::Error> {
    const SQL: &str = "INSERT INTO password_resets (token_hash, account_id, created_at, expires_at) VALUES ($1, $2, $3, $4)";
    tx_run!(tx, conn => sqlx::query(SQL).bind(token_hash).bind(account_id).bind(now).bind(expires_at).execute(conn).await?.rows_affected());
    Ok(())
}

/// A reset link that is live and unused, if the token names one.
pub async fn live_reset(db: &Db, token_hash: &[u8], now: i64) -> Result<Option<i64>, sqlx::Error> {
    const SQL: &str = "SELECT account_id FROM password_resets WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2";
    Ok(db_run!(db, pool => sqlx::query_scalar(SQL).bind(token_hash).bind(now).fetch_optional(pool).await?))
}

/// Spend a reset link; false if it was used, expired or unknown.
pub async fn use_reset(tx: &mut Tx, token_hash: &[u8], now: i64) -> Result<Option<i64>, sqlx::Error> {
    const SQL: &str =
        "UPDATE password_resets SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING account_id";
    Ok(tx_run!(tx, conn => sqlx::query_scalar(SQL).bind(token_hash).bind(now).fetch_optional(conn).await?))
}

pub async fn pending_contact_change(db: &Db, account_id: i64) -> Result<bool, sqlx::Error> {
    const SQL: &str = "SELECT COUNT(*) FROM reviews WHERE account_id = $1 AND kind = 'contact_change' AND status = 'pending'";
    let n: i64 = db_run!(db, pool => sqlx::query_scalar(SQL).bind(account_id).fetch_one(pool).await?);
    Ok(n > 0)
}
