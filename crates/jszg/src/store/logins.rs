//! Failed logins per document number (LOGIN-3), counted in the database so
//! every instance sees the same count. Unknown numbers are counted too.

use super::Db;
use crate::db_run;

#[derive(sqlx::FromRow, Debug, Clone, Copy)]
pub struct Failures {
    pub failures: i64,
    pub locked_until: Option<i64>,
}

pub async fn get(db: &Db, doc_hash: &[u8]) -> Result<Option<Failures>, sqlx::Error> {
    const SQL: &str = "SELECT failures, locked_until FROM login_failures WHERE doc_hash = $1";
    Ok(db_run!(db, pool => sqlx::query_as(SQL).bind(doc_hash).fetch_optional(pool).await?))
}

pub struct Policy {
    pub now: i64,
    /// Failures older than this are forgotten.
    pub reset_before: i64,
    pub lock_after: i64,
    pub lock_until: i64,
}

impl Policy {
    pub fn new(config: &crate::config::LoginConfig, now: i64) -> Self {
        Self { now, reset_before: now - config.reset_after_secs, lock_after: config.lock_after, lock_until: now + config.lock_secs }
    }
}

/// Count one failure. Reaching `lock_after` locks the number and starts a
/// new count, so the next round after the lock is slowed again, not locked at once.
pub async fn record(db: &Db, doc_hash: &[u8], p: &Policy) -> Result<Failures, sqlx::Error> {
    const SQL: &str = "INSERT INTO login_failures (doc_hash, failures, last_failure_at, locked_until)
        VALUES ($1, 1, $2, CASE WHEN 1 >= $4 THEN $5 ELSE NULL END)
        ON CONFLICT (doc_hash) DO UPDATE SET
            failures = CASE
                WHEN login_failures.last_failure_at < $3 THEN 1
                WHEN login_failures.failures + 1 >= $4 THEN 0
                ELSE login_failures.failures + 1 END,
            locked_until = CASE
                WHEN login_failures.last_failure_at >= $3 AND login_failures.failures + 1 >= $4 THEN $5
                ELSE login_failures.locked_until END,
            last_failure_at = $2
        RETURNING failures, locked_until";
    Ok(db_run!(db, pool => sqlx::query_as(SQL)
        .bind(doc_hash)
        .bind(p.now)
        .bind(p.reset_before)
        .bind(p.lock_after)
        .bind(p.lock_until)
        .fetch_one(pool)
        .await?))
}

pub async fn clear(db: &Db, doc_hash: &[u8]) -> Result<(), sqlx::Error> {
    db_run!(db, pool => sqlx::query("DELETE FROM login_failures WHERE doc_hash = $1").bind(doc_hash).execute(pool).await?.rows_affected());
    Ok(())
}
