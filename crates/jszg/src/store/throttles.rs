//! Fixed-window counters in the database, so every instance sees the same
//! count for a source address or key.

use super::Db;
use crate::db_run;

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
