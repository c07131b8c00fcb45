//! The durable outbox (NOTE-1): every message is a row before anything is
//! sent. Workers claim due rows with a lease, so a crashed worker's message
//! is picked up again, and mark them sent with a conditional update.

use super::{Db, Tx};
use crate::{db_run, tx_run};

pub async fn enqueue(tx: &mut Tx, channel: &str, recipient_hash: &[u8], payload_enc: &[u8], now: i64) -> Result<i64, sqlx::Error> {
    const SQL: &str = "INSERT INTO outbox (channel, recipient_hash, payload_enc, status, attempts, next_attempt_at, created_at)
        VALUES ($1, $2, $3, 'pending', 0, $4, $4) RETURNING id";
    Ok(tx_run!(tx, conn => sqlx::query_scalar(SQL)
        .bind(channel)
        .bind(recipient_hash)
        .bind(payload_enc)
        .bind(now)
        .fetch_one(conn)
        .await?))
}

#[derive(sqlx::FromRow, Debug)]
pub struct Claimed {
    pub id: i64,
    pub channel: String,
    pub payload_enc: Vec<u8>,
    pub attempts: i64,
}

/// Lease the oldest due message for `lease` seconds. The conditional update
/// re-checks the lease, so two workers never hold the same row.
pub async fn claim(db: &Db, now: i64, lease: i64) -> Result<Option<Claimed>, sqlx::Error> {
    const SQL: &str = "UPDATE outbox SET locked_until = $2, attempts = attempts + 1
        WHERE id = (SELECT id FROM outbox
                    WHERE status = 'pending' AND next_attempt_at <= $1
                      AND (locked_until IS NULL OR locked_until <= $1)
                    ORDER BY next_attempt_at, id LIMIT 1)
          AND status = 'pending' AND (locked_until IS NULL OR locked_until <= $1)
        RETURNING id, channel, payload_enc, attempts";
    Ok(db_run!(db, pool => sqlx::query_as(SQL).bind(now).bind(now + lease).fetch_optional(pool).await?))
}

/// Mark delivered; false if it was already marked (never twice).
pub async fn mark_sent(db: &Db, id: i64, now: i64) -> Result<bool, sqlx::Error> {
    const SQL: &str = "UPDATE outbox SET status = 'sent', sent_at = $2, locked_until = NULL, last_error = NULL
        WHERE id = $1 AND status = 'pending'";
    let done = db_run!(db, pool => sqlx::query(SQL).bind(id).bind(now).execute(pool).await?.rows_affected());
    Ok(done == 1)
}

/// Schedule another attempt, or give up after `max_attempts`.
pub async fn mark_failed(db: &Db, id: i64, error: &str, retry_at: i64, max_attempts: i64) -> Result<(), sqlx::Error> {
    const SQL: &str = "UPDATE outbox SET
            status = CASE WHEN attempts >= $4 THEN 'failed' ELSE 'pending' END,
            next_attempt_at = $3, locked_until = NULL, last_error = $2
        WHERE id = $1 AND status = 'pending'";
    db_run!(db, pool => sqlx::query(SQL).bind(id).bind(error).bind(retry_at).bind(max_attempts).execute(pool).await?.rows_affected());
    Ok(())
}

#[derive(sqlx::FromRow, Debug)]
pub struct Listed {
    pub id: i64,
    pub channel: String,
    pub payload_enc: Vec<u8>,
    pub status: String,
    pub attempts: i64,
    pub created_at: i64,
    pub sent_at: Option<i64>,
    /// 1 while the last attempt's failure is recorded (and no attempt is under way since).
    pub last_failed: i32,
}

/// Newest first, optionally for one recipient (development outbox).
pub async fn list(db: &Db, recipient_hash: Option<&[u8]>, limit: i64) -> Result<Vec<Listed>, sqlx::Error> {
    const ALL: &str = "SELECT id, channel, payload_enc, status, attempts, created_at, sent_at,
            CASE WHEN last_error IS NULL THEN 0 ELSE 1 END AS last_failed FROM outbox ORDER BY id DESC LIMIT $1";
    const ONE: &str = "SELECT id, channel, payload_enc, status, attempts, created_at, sent_at,
            CASE WHEN last_error IS NULL THEN 0 ELSE 1 END AS last_failed FROM outbox
        WHERE recipient_hash = $2 ORDER BY id DESC LIMIT $1";
    Ok(match recipient_hash {
        None => db_run!(db, pool => sqlx::query_as(ALL).bind(limit).fetch_all(pool).await?),
        Some(hash) => db_run!(db, pool => sqlx::query_as(ONE).bind(limit).bind(hash).fetch_all(pool).await?),
    })
}

/// Messages by status, for the metrics page.
pub async fn backlog(db: &Db) -> Result<Vec<(String, i64)>, sqlx::Error> {
    const SQL: &str = "SELECT status, COUNT(*) FROM outbox GROUP BY status";
    db_run!(db, pool => sqlx::query_as(SQL).fetch_all(pool).await)
}
