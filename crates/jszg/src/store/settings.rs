//! Small key/value settings shared by every instance on a database.

use super::Db;
use crate::db_run;

const CLOCK_OFFSET: &str = "dev_clock_offset_seconds";

pub async fn clock_offset(db: &Db) -> Result<i64, sqlx::Error> {
    let value: Option<String> = db_run!(db, pool => sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
        .bind(CLOCK_OFFSET)
        .fetch_optional(pool)
        .await?);
    Ok(value.and_then(|v| v.parse().ok()).unwrap_or(0))
}

/// Atomically add to the offset, so two concurrent advances both count.
pub async fn advance_clock(db: &Db, seconds: i64) -> Result<i64, sqlx::Error> {
    // The offset is stored as text; CAST keeps the arithmetic in the database.
    const SQL: &str = "INSERT INTO settings (key, value) VALUES ($1, $2)
        ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(settings.value AS BIGINT) + $3 AS TEXT)
        RETURNING value";
    let value: String = db_run!(db, pool => sqlx::query_scalar(SQL)
        .bind(CLOCK_OFFSET)
        .bind(seconds.to_string())
        .bind(seconds)
        .fetch_one(pool)
        .await?);
    Ok(value.parse().unwrap_or(0))
}
