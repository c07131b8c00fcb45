//! Ownership claims (REG-7). A claim is a row of the review queue
//! (`reviews.kind = 'ownership_claim'`, `account_id` = the account holding
//! the number), so the queue, the one-pending-per-account unique index, the
//! race-proof decision and the photo table (with `decided_at` for the
//! retention sweep) are those of reviews. What follows is what only an
//! approval needs: archiving the holder and reading its history.

use super::accounts::Account;
use super::{Db, Tx};
use crate::{account_columns, db_run, tx_run};

/// An account by id, live or archived; with when and why it was archived.
#[derive(sqlx::FromRow)]
pub struct AnyAccount {
    #[sqlx(flatten)]
    pub account: Account,
    pub archived_at: Option<i64>,
    pub archived_reason: Option<String>,
}

pub async fn account_any(db: &Db, id: i64) -> Result<Option<AnyAccount>, sqlx::Error> {
    const SQL: &str = concat!("SELECT ", account_columns!(), ", a.archived_at, a.archived_reason FROM accounts a WHERE a.id = $1");
    Ok(db_run!(db, pool => sqlx::query_as(SQL).bind(id).fetch_optional(pool).await?))
}

pub async fn account_any_tx(tx: &mut Tx, id: i64) -> Result<Option<AnyAccount>, sqlx::Error> {
    const SQL: &str = concat!("SELECT ", account_columns!(), ", a.archived_at, a.archived_reason FROM accounts a WHERE a.id = $1");
    Ok(tx_run!(tx, conn => sqlx::query_as(SQL).bind(id).fetch_optional(conn).await?))
}

/// Archive a live account (kept for audit, no longer able to log in, its
/// number free for a new account); false when it was not live.
pub async fn archive(tx: &mut Tx, id: i64, reason: &str, now: i64) -> Result<bool, sqlx::Error> {
    const SQL: &str = "UPDATE accounts SET archived_at = $3, archived_reason = $2 WHERE id = $1 AND archived_at IS NULL";
    let done = tx_run!(tx, conn => sqlx::query(SQL).bind(id).bind(reason).bind(now).execute(conn).await?.rows_affected());
    Ok(done == 1)
}

/// End every session of an account.
pub async fn end_sessions(tx: &mut Tx, account_id: i64) -> Result<u64, sqlx::Error> {
    const SQL: &str = "DELETE FROM sessions WHERE account_id = $1";
    Ok(tx_run!(tx, conn => sqlx::query(SQL).bind(account_id).execute(conn).await?.rows_affected()))
}

/// Close the other pending items of an account that is being archived:
/// nobody is left to act on their outcome.
pub async fn close_pending_of(
    tx: &mut Tx,
    account_id: i64,
    except: &str,
    reason: &str,
    staff_id: i64,
    now: i64,
) -> Result<u64, sqlx::Error> {
    const SQL: &str = "UPDATE reviews SET status = 'rejected', decision_reason = $3, decided_by = $4, decided_at = $5
        WHERE account_id = $1 AND id <> $2 AND status = 'pending'";
    Ok(
        tx_run!(tx, conn => sqlx::query(SQL).bind(account_id).bind(except).bind(reason).bind(staff_id).bind(now).execute(conn).await?.rows_affected()),
    )
}

/// Replace a claim's sealed payload (to drop the password hash once decided).
pub async fn set_payload(tx: &mut Tx, id: &str, payload_enc: &[u8]) -> Result<(), sqlx::Error> {
    const SQL: &str = "UPDATE reviews SET payload_enc = $2 WHERE id = $1";
    tx_run!(tx, conn => sqlx::query(SQL).bind(id).bind(payload_enc).execute(conn).await?.rows_affected());
    Ok(())
}

/// The latest logins of an account, newest first, from the audit log.
pub async fn last_logins(db: &Db, account_id: i64, limit: i64) -> Result<Vec<(i64, String)>, sqlx::Error> {
    const SQL: &str = "SELECT at, detail FROM audit_log WHERE account_id = $1 AND action = 'login' ORDER BY at DESC, id DESC LIMIT $2";
    Ok(db_run!(db, pool => sqlx::query_as(SQL).bind(account_id).bind(limit).fetch_all(pool).await?))
}

/// Whether a pending claim already names this account.
pub async fn pending_for(db: &Db, account_id: i64) -> Result<bool, sqlx::Error> {
    const SQL: &str = "SELECT COUNT(*) FROM reviews WHERE account_id = $1 AND kind = 'ownership_claim' AND status = 'pending'";
    let n: i64 = db_run!(db, pool => sqlx::query_scalar(SQL).bind(account_id).fetch_one(pool).await?);
    Ok(n > 0)
}
