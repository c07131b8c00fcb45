//! Server-side sessions (LOGIN-4). The cookie holds a random id; the table
//! holds only its keyed hash, so a database leak yields no usable session.

use super::accounts::Account;
use super::reviews::Standing;
use super::{Db, Tx};
use crate::{account_columns, db_run, latest_review_join, standing_columns, tx_run};

pub struct NewSession<'a> {
    pub id_hash: &'a [u8],
    pub account_id: i64,
    pub entry: &'a str,
    pub now: i64,
    pub expires_at: i64,
}

pub async fn insert(tx: &mut Tx, s: NewSession<'_>) -> Result<(), sqlx::Error> {
    const SQL: &str = "INSERT INTO sessions (id_hash, account_id, entry, created_at, last_seen_at, expires_at)
        VALUES ($1, $2, $3, $4, $4, $5)";
    tx_run!(tx, conn => sqlx::query(SQL)
        .bind(s.id_hash)
        .bind(s.account_id)
        .bind(s.entry)
        .bind(s.now)
        .bind(s.expires_at)
        .execute(conn)
        .await?
        .rows_affected());
    Ok(())
}

#[derive(sqlx::FromRow)]
pub struct SessionAccount {
    pub entry: String,
    pub last_seen_at: i64,
    pub expires_at: i64,
    #[sqlx(flatten)]
    pub account: Account,
}

/// The session and its live account, in one query.
pub async fn find(db: &Db, id_hash: &[u8]) -> Result<Option<SessionAccount>, sqlx::Error> {
    const SQL: &str = concat!(
        "SELECT s.entry, s.last_seen_at, s.expires_at, ",
        account_columns!(),
        " FROM sessions s JOIN accounts a ON a.id = s.account_id WHERE s.id_hash = $1 AND a.archived_at IS NULL"
    );
    Ok(db_run!(db, pool => sqlx::query_as(SQL).bind(id_hash).fetch_optional(pool).await?))
}

#[derive(sqlx::FromRow)]
pub struct SessionStanding {
    #[sqlx(flatten)]
    pub session: SessionAccount,
    #[sqlx(flatten)]
    pub standing: Standing,
}

/// The session, its live account and the account's real-name standing, in
/// one query: what `GET /api/v1/me` needs (`day`, `period_key` and `kind`
/// as for [`super::reviews::standing`]).
pub async fn find_with_standing(
    db: &Db,
    id_hash: &[u8],
    day: &str,
    period_key: &str,
    kind: &str,
) -> Result<Option<SessionStanding>, sqlx::Error> {
    const SQL: &str = concat!(
        "SELECT s.entry, s.last_seen_at, s.expires_at, ",
        account_columns!(),
        ", ",
        standing_columns!("s.account_id"),
        " FROM sessions s JOIN accounts a ON a.id = s.account_id",
        latest_review_join!("s.account_id"),
        " WHERE s.id_hash = $1 AND a.archived_at IS NULL"
    );
    Ok(db_run!(db, pool => sqlx::query_as(SQL).bind(id_hash).bind(day).bind(period_key).bind(kind).fetch_optional(pool).await?))
}

pub async fn touch(db: &Db, id_hash: &[u8], now: i64) -> Result<(), sqlx::Error> {
    db_run!(db, pool => sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE id_hash = $1")
        .bind(id_hash)
        .bind(now)
        .execute(pool)
        .await?
        .rows_affected());
    Ok(())
}

pub async fn delete(db: &Db, id_hash: &[u8]) -> Result<(), sqlx::Error> {
    db_run!(db, pool => sqlx::query("DELETE FROM sessions WHERE id_hash = $1").bind(id_hash).execute(pool).await?.rows_affected());
    Ok(())
}

/// End every session of an account except `keep` (the one making the change).
pub async fn delete_others(tx: &mut Tx, account_id: i64, keep: Option<&[u8]>) -> Result<u64, sqlx::Error> {
    const SQL: &str = "DELETE FROM sessions WHERE account_id = $1 AND id_hash <> $2";
    let keep = keep.unwrap_or(&[]);
    Ok(tx_run!(tx, conn => sqlx::query(SQL).bind(account_id).bind(keep).execute(conn).await?.rows_affected()))
}
