//! 教育部账号登录 (LOGIN-5): authorization attempts in flight, identities
//! waiting for a password or a registration, and the (issuer, sub) links.

use super::{Db, Tx};
use crate::{db_run, tx_run};

pub struct NewAttempt<'a> {
    pub state_hash: &'a [u8],
    pub browser_hash: &'a [u8],
    pub secrets_enc: &'a [u8],
    pub entry: &'a str,
    pub now: i64,
}

pub async fn insert_attempt(db: &Db, a: NewAttempt<'_>) -> Result<(), sqlx::Error> {
    const SQL: &str =
        "INSERT INTO upstream_attempts (state_hash, browser_hash, secrets_enc, entry, created_at) VALUES ($1, $2, $3, $4, $5)";
    db_run!(db, pool => sqlx::query(SQL)
        .bind(a.state_hash)
        .bind(a.browser_hash)
        .bind(a.secrets_enc)
        .bind(a.entry)
        .bind(a.now)
        .execute(pool)
        .await?
        .rows_affected());
    Ok(())
}

#[derive(sqlx::FromRow)]
pub struct Attempt {
    pub browser_hash: Vec<u8>,
    pub secrets_enc: Vec<u8>,
    pub entry: String,
    pub created_at: i64,
}

/// Spend an attempt: one statement, so of two callbacks with the same
/// state (a replay, or two instances) exactly one gets it.
pub async fn take_attempt(db: &Db, state_hash: &[u8], now: i64) -> Result<Option<Attempt>, sqlx::Error> {
    const SQL: &str = "UPDATE upstream_attempts SET used_at = $2 WHERE state_hash = $1 AND used_at IS NULL
        RETURNING browser_hash, secrets_enc, entry, created_at";
    Ok(db_run!(db, pool => sqlx::query_as(SQL).bind(state_hash).bind(now).fetch_optional(pool).await?))
}

pub struct NewPending<'a> {
    pub token_hash: &'a [u8],
    pub subject_hash: &'a [u8],
    pub doc_type: &'a str,
    pub doc_number_enc: &'a [u8],
    pub name: &'a str,
    pub entry: &'a str,
    pub account_id: Option<i64>,
    pub now: i64,
}

pub async fn insert_pending(db: &Db, p: NewPending<'_>) -> Result<(), sqlx::Error> {
    const SQL: &str =
        "INSERT INTO upstream_pending (token_hash, subject_hash, doc_type, doc_number_enc, name, entry, account_id, created_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    db_run!(db, pool => sqlx::query(SQL)
        .bind(p.token_hash)
        .bind(p.subject_hash)
        .bind(p.doc_type)
        .bind(p.doc_number_enc)
        .bind(p.name)
        .bind(p.entry)
        .bind(p.account_id)
        .bind(p.now)
        .execute(pool)
        .await?
        .rows_affected());
    Ok(())
}

#[derive(sqlx::FromRow, Clone)]
pub struct Pending {
    pub subject_hash: Vec<u8>,
    pub doc_type: String,
    pub doc_number_enc: Vec<u8>,
    pub name: String,
    pub entry: String,
    pub account_id: Option<i64>,
}

pub async fn find_pending(db: &Db, token_hash: &[u8], not_before: i64) -> Result<Option<Pending>, sqlx::Error> {
    const SQL: &str = "SELECT subject_hash, doc_type, doc_number_enc, name, entry, account_id FROM upstream_pending
        WHERE token_hash = $1 AND created_at > $2";
    Ok(db_run!(db, pool => sqlx::query_as(SQL).bind(token_hash).bind(not_before).fetch_optional(pool).await?))
}

pub async fn delete_pending(tx: &mut Tx, token_hash: &[u8]) -> Result<(), sqlx::Error> {
    tx_run!(tx, conn => sqlx::query("DELETE FROM upstream_pending WHERE token_hash = $1").bind(token_hash).execute(conn).await?.rows_affected());
    Ok(())
}

/// The account linked to an upstream identity, if it is still live.
pub async fn linked_account(db: &Db, subject_hash: &[u8]) -> Result<Option<i64>, sqlx::Error> {
    const SQL: &str = "SELECT l.account_id FROM upstream_links l JOIN accounts a ON a.id = l.account_id
        WHERE l.subject_hash = $1 AND a.archived_at IS NULL";
    Ok(db_run!(db, pool => sqlx::query_scalar(SQL).bind(subject_hash).fetch_optional(pool).await?))
}

pub async fn is_linked(db: &Db, account_id: i64) -> Result<bool, sqlx::Error> {
    const SQL: &str = "SELECT COUNT(*) FROM upstream_links WHERE account_id = $1";
    let n: i64 = db_run!(db, pool => sqlx::query_scalar(SQL).bind(account_id).fetch_one(pool).await?);
    Ok(n > 0)
}

/// Link; the unique indexes refuse a second link of the identity or of the
/// account (the caller sees a unique violation).
/// Link an upstream identity to an account; false when either is linked already. The insert
/// does not fail on a taken identity (`ON CONFLICT DO NOTHING`), so a caller's transaction stays
/// usable on PostgreSQL, where a failed statement would end it.
pub async fn link(tx: &mut Tx, subject_hash: &[u8], account_id: i64, now: i64) -> Result<bool, sqlx::Error> {
    // A link left by an archived account no longer counts.
    const STALE: &str = "DELETE FROM upstream_links WHERE subject_hash = $1
        AND account_id IN (SELECT id FROM accounts WHERE archived_at IS NOT NULL)";
    const SQL: &str = "INSERT INTO upstream_links (subject_hash, account_id, linked_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
    tx_run!(tx, conn => sqlx::query(STALE).bind(subject_hash).execute(&mut *conn).await?.rows_affected());
    Ok(tx_run!(tx, conn => sqlx::query(SQL).bind(subject_hash).bind(account_id).bind(now).execute(conn).await?.rows_affected()) == 1)
}

pub async fn unlink(tx: &mut Tx, account_id: i64) -> Result<bool, sqlx::Error> {
    const SQL: &str = "DELETE FROM upstream_links WHERE account_id = $1";
    Ok(tx_run!(tx, conn => sqlx::query(SQL).bind(account_id).execute(conn).await?.rows_affected()) > 0)
}

/// Housekeeping: attempts and pending identities older than `before`.
pub async fn purge(db: &Db, before: i64) -> Result<(), sqlx::Error> {
    db_run!(db, pool => sqlx::query("DELETE FROM upstream_attempts WHERE created_at < $1").bind(before).execute(pool).await?.rows_affected());
    db_run!(db, pool => sqlx::query("DELETE FROM upstream_pending WHERE created_at < $1").bind(before).execute(pool).await?.rows_affected());
    Ok(())
}
