//! Verification codes (CODE-1, CODE-2) and the daily sending quotas. Codes
//! are stored as keyed hashes; a new code replaces the old one for the same
//! target and purpose; five wrong entries kill a code.

use super::{Db, Tx};
use crate::{db_run, tx_run};

pub const MAX_FAILED_ATTEMPTS: i64 = 5;

/// Take one unit of the day's quota; `None` when the limit is reached. One
/// statement, so concurrent requests and other instances cannot overshoot.
pub async fn take_quota(tx: &mut Tx, channel: &str, target_hash: &[u8], day: &str, limit: i64) -> Result<Option<i64>, sqlx::Error> {
    const SQL: &str = "INSERT INTO send_quotas (channel, target_hash, day, used) VALUES ($1, $2, $3, 1)
        ON CONFLICT (channel, target_hash, day) DO UPDATE SET used = send_quotas.used + 1
        WHERE send_quotas.used < $4
        RETURNING used";
    if limit <= 0 {
        return Ok(None);
    }
    Ok(tx_run!(tx, conn => sqlx::query_scalar(SQL)
        .bind(channel)
        .bind(target_hash)
        .bind(day)
        .bind(limit)
        .fetch_optional(conn)
        .await?))
}

pub struct NewCode<'a> {
    pub channel: &'a str,
    pub target_hash: &'a [u8],
    pub purpose: &'a str,
    pub code_hash: &'a [u8],
    pub expires_at: i64,
    pub now: i64,
}

/// Store a code, replacing any earlier one for the same target and purpose.
pub async fn put(tx: &mut Tx, code: NewCode<'_>) -> Result<(), sqlx::Error> {
    const SQL: &str = "INSERT INTO verification_codes (channel, target_hash, purpose, code_hash, expires_at, failed_attempts, created_at)
        VALUES ($1, $2, $3, $4, $5, 0, $6)
        ON CONFLICT (channel, target_hash, purpose) DO UPDATE SET
            code_hash = excluded.code_hash, expires_at = excluded.expires_at,
            failed_attempts = 0, created_at = excluded.created_at";
    tx_run!(tx, conn => sqlx::query(SQL)
        .bind(code.channel)
        .bind(code.target_hash)
        .bind(code.purpose)
        .bind(code.code_hash)
        .bind(code.expires_at)
        .bind(code.now)
        .execute(conn)
        .await?
        .rows_affected());
    Ok(())
}

/// Whether the code matches, is live and not killed by wrong entries, without spending it.
pub async fn matches(db: &Db, channel: &str, target_hash: &[u8], purpose: &str, code_hash: &[u8], now: i64) -> Result<bool, sqlx::Error> {
    const SQL: &str = "SELECT COUNT(*) FROM verification_codes
        WHERE channel = $1 AND target_hash = $2 AND purpose = $3 AND code_hash = $4
          AND expires_at > $5 AND failed_attempts < $6";
    let n: i64 = db_run!(db, pool => sqlx::query_scalar(SQL)
        .bind(channel)
        .bind(target_hash)
        .bind(purpose)
        .bind(code_hash)
        .bind(now)
        .bind(MAX_FAILED_ATTEMPTS)
        .fetch_one(pool)
        .await?);
    Ok(n > 0)
}

/// Spend the code if it matches, is live and not killed by wrong entries.
pub async fn consume(
    tx: &mut Tx,
    channel: &str,
    target_hash: &[u8],
    purpose: &str,
    code_hash: &[u8],
    now: i64,
) -> Result<bool, sqlx::Error> {
    const SQL: &str = "DELETE FROM verification_codes
        WHERE channel = $1 AND target_hash = $2 AND purpose = $3 AND code_hash = $4
          AND expires_at > $5 AND failed_attempts < $6";
    let done = tx_run!(tx, conn => sqlx::query(SQL)
        .bind(channel)
        .bind(target_hash)
        .bind(purpose)
        .bind(code_hash)
        .bind(now)
        .bind(MAX_FAILED_ATTEMPTS)
        .execute(conn)
        .await?
        .rows_affected());
    Ok(done == 1)
}

/// Count a wrong entry against the code, if any: its wrong entries so far
/// and when it expires.
pub async fn count_failure(tx: &mut Tx, channel: &str, target_hash: &[u8], purpose: &str) -> Result<Option<(i64, i64)>, sqlx::Error> {
    const SQL: &str = "UPDATE verification_codes SET failed_attempts = failed_attempts + 1
        WHERE channel = $1 AND target_hash = $2 AND purpose = $3
        RETURNING failed_attempts, expires_at";
    Ok(tx_run!(tx, conn => sqlx::query_as(SQL).bind(channel).bind(target_hash).bind(purpose).fetch_optional(conn).await?))
}
