//! Fixed-window counters in the database, so every instance sees the same
//! count for a source address or key.

use super::{Db, Tx};
use crate::{db_run, tx_run};

/// A counting window: a stored window that began at or before `stale_at` is over, and the next
/// count opens one that begins at `opens_at`.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    pub opens_at: i64,
    pub stale_at: i64,
}

impl Window {
    /// `secs` long from the first count in it.
    pub fn from_first(now: i64, secs: i64) -> Self {
        Self { opens_at: now, stale_at: now - secs }
    }

    /// The calendar period that began at `start`.
    pub fn since(start: i64) -> Self {
        Self { opens_at: start, stale_at: start - 1 }
    }
}

/// Take one unit of a quota of `limit` in `tx`: `Ok(used)` counting this one, or `Err(window_start)`
/// of the full window. One conditional statement, so concurrent requests and other instances
/// never take more than `limit`; rolling `tx` back returns the unit.
pub async fn take(tx: &mut Tx, scope: &str, key: &[u8], window: Window, limit: i64) -> Result<Result<i64, i64>, sqlx::Error> {
    const SQL: &str = "INSERT INTO throttles (scope, key_hash, window_start, hits) VALUES ($1, $2, $3, 1)
        ON CONFLICT (scope, key_hash) DO UPDATE SET
            hits = CASE WHEN throttles.window_start <= $4 THEN 1 ELSE throttles.hits + 1 END,
            window_start = CASE WHEN throttles.window_start <= $4 THEN $3 ELSE throttles.window_start END
        WHERE throttles.window_start <= $4 OR throttles.hits < $5
        RETURNING hits";
    const FULL: &str = "SELECT window_start FROM throttles WHERE scope = $1 AND key_hash = $2";
    if limit > 0 {
        let taken: Option<i64> = tx_run!(tx, conn => sqlx::query_scalar(SQL)
            .bind(scope)
            .bind(key)
            .bind(window.opens_at)
            .bind(window.stale_at)
            .bind(limit)
            .fetch_optional(&mut *conn)
            .await?);
        if let Some(used) = taken {
            return Ok(Ok(used));
        }
    }
    let start: Option<i64> = tx_run!(tx, conn => sqlx::query_scalar(FULL).bind(scope).bind(key).fetch_optional(&mut *conn).await?);
    Ok(Err(start.unwrap_or(window.opens_at)))
}

/// Count one hit in the window that contains `now`; returns the hits in it
/// including this one, and when the window ends.
pub async fn hit(db: &Db, scope: &str, key: &[u8], now: i64, window: i64) -> Result<(i64, i64), sqlx::Error> {
    const SQL: &str = "INSERT INTO throttles (scope, key_hash, window_start, hits) VALUES ($1, $2, $3, 1)
        ON CONFLICT (scope, key_hash) DO UPDATE SET
            hits = CASE WHEN throttles.window_start <= $4 THEN 1 ELSE throttles.hits + 1 END,
            window_start = CASE WHEN throttles.window_start <= $4 THEN $3 ELSE throttles.window_start END
        RETURNING hits, window_start";
    let (hits, start): (i64, i64) = db_run!(db, pool => sqlx::query_as(SQL)
        .bind(scope)
        .bind(key)
        .bind(now)
        .bind(now - window)
        .fetch_one(pool)
        .await?);
    Ok((hits, start + window))
}

/// Hits in the current window without counting one; and when it ends.
pub async fn peek(db: &Db, scope: &str, key: &[u8], now: i64, window: i64) -> Result<(i64, i64), sqlx::Error> {
    const SQL: &str = "SELECT hits, window_start FROM throttles WHERE scope = $1 AND key_hash = $2 AND window_start > $3";
    let row: Option<(i64, i64)> = db_run!(db, pool => sqlx::query_as(SQL)
        .bind(scope)
        .bind(key)
        .bind(now - window)
        .fetch_optional(pool)
        .await?);
    Ok(row.map(|(hits, start)| (hits, start + window)).unwrap_or((0, now)))
}

pub async fn clear(db: &Db, scope: &str, key: &[u8]) -> Result<(), sqlx::Error> {
    db_run!(db, pool => sqlx::query("DELETE FROM throttles WHERE scope = $1 AND key_hash = $2")
        .bind(scope)
        .bind(key)
        .execute(pool)
        .await?
        .rows_affected());
    Ok(())
}
