//! The review queue: identity reviews (MR) and contact change requests (CC).
//! A decision is one conditional update, so of two racing reviewers exactly
//! one decides.

use super::{Db, Tx};
use crate::{db_run, tx_run};

pub struct NewReview<'a> {
    pub id: &'a str,
    pub kind: &'a str,
    pub account_id: i64,
    pub submitted_at: i64,
    pub due_date: &'a str,
    pub period_key: Option<&'a str>,
    pub payload_enc: &'a [u8],
    pub reason: &'a str,
}

pub async fn insert(tx: &mut Tx, r: NewReview<'_>) -> Result<(), sqlx::Error> {
    const SQL: &str = "INSERT INTO reviews (id, kind, account_id, status, submitted_at, due_date, period_key, payload_enc, reason)
        VALUES ($1, $2, $3, 'pending', $4, $5, $6, $7, $8)";
    tx_run!(tx, conn => sqlx::query(SQL)
        .bind(r.id)
        .bind(r.kind)
        .bind(r.account_id)
        .bind(r.submitted_at)
        .bind(r.due_date)
        .bind(r.period_key)
        .bind(r.payload_enc)
        .bind(r.reason)
        .execute(conn)
        .await?
        .rows_affected());
    Ok(())
}

pub async fn insert_photo(tx: &mut Tx, review_id: &str, slot: &str, data_enc: &[u8]) -> Result<(), sqlx::Error> {
    const SQL: &str = "INSERT INTO review_photos (review_id, slot, data_enc) VALUES ($1, $2, $3)";
    tx_run!(tx, conn => sqlx::query(SQL).bind(review_id).bind(slot).bind(data_enc).execute(conn).await?.rows_affected());
    Ok(())
}

/// The slots whose photos are still held for an item.
pub async fn photo(db: &Db, review_id: &str, slot: &str) -> Result<Option<Vec<u8>>, sqlx::Error> {
    const SQL: &str = "SELECT data_enc FROM review_photos WHERE review_id = $1 AND slot = $2";
    Ok(db_run!(db, pool => sqlx::query_scalar(SQL).bind(review_id).bind(slot).fetch_optional(pool).await?))
}

/// Take one application of the period's quota (MR-2); `None` when used up.
pub async fn take_quota(tx: &mut Tx, account_id: i64, period_key: &str, limit: i64) -> Result<Option<i64>, sqlx::Error> {
    const SQL: &str = "INSERT INTO review_quotas (account_id, period_key, used) VALUES ($1, $2, 1)
        ON CONFLICT (account_id, period_key) DO UPDATE SET used = review_quotas.used + 1
        WHERE review_quotas.used < $3
        RETURNING used";
    Ok(tx_run!(tx, conn => sqlx::query_scalar(SQL).bind(account_id).bind(period_key).bind(limit).fetch_optional(conn).await?))
}

pub async fn quota_used(db: &Db, account_id: i64, period_key: &str) -> Result<i64, sqlx::Error> {
    const SQL: &str = "SELECT used FROM review_quotas WHERE account_id = $1 AND period_key = $2";
    let used: Option<i64> = db_run!(db, pool => sqlx::query_scalar(SQL).bind(account_id).bind(period_key).fetch_optional(pool).await?);
    Ok(used.unwrap_or(0))
}

#[derive(sqlx::FromRow, Clone)]
pub struct Review {
    pub id: String,
    pub kind: String,
    pub account_id: i64,
    pub status: String,
    pub submitted_at: i64,
    pub due_date: String,
    pub period_key: Option<String>,
    pub payload_enc: Vec<u8>,
    pub reason: String,
    pub decision_reason: Option<String>,
    pub decided_by: Option<i64>,
    pub decided_at: Option<i64>,
    /// When the retention sweep deleted the photos (PRIV-1).
    pub photos_deleted_at: Option<i64>,
}

const COLUMNS: &str = "id, kind, account_id, status, submitted_at, due_date, period_key, payload_enc, reason, decision_reason, decided_by,
    decided_at, photos_deleted_at";

pub async fn find(db: &Db, id: &str) -> Result<Option<Review>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM reviews WHERE id = $1");
    Ok(db_run!(db, pool => sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?))
}

pub async fn latest(db: &Db, account_id: i64, kind: &str) -> Result<Option<Review>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM reviews WHERE account_id = $1 AND kind = $2 ORDER BY submitted_at DESC, id DESC LIMIT 1");
    Ok(db_run!(db, pool => sqlx::query_as(&sql).bind(account_id).bind(kind).fetch_optional(pool).await?))
}

/// The account's pending item of `kind`, if any (the unique index allows one).
pub async fn pending(db: &Db, account_id: i64, kind: &str) -> Result<Option<Review>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM reviews WHERE account_id = $1 AND kind = $2 AND status = 'pending'");
    Ok(db_run!(db, pool => sqlx::query_as(&sql).bind(account_id).bind(kind).fetch_optional(pool).await?))
}

pub async fn history(db: &Db, account_id: i64) -> Result<Vec<Review>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM reviews WHERE account_id = $1 ORDER BY submitted_at DESC, id DESC");
    Ok(db_run!(db, pool => sqlx::query_as(&sql).bind(account_id).fetch_all(pool).await?))
}

/// A past item with the username of the staff member who decided it.
#[derive(sqlx::FromRow)]
pub struct DecidedRow {
    #[sqlx(flatten)]
    pub review: Review,
    pub decided_by_username: Option<String>,
}

/// The account's items, newest first, each with its decider's username: one query, not one
/// staff lookup per item.
pub async fn history_with_deciders(db: &Db, account_id: i64) -> Result<Vec<DecidedRow>, sqlx::Error> {
    const SQL: &str = "SELECT r.id, r.kind, r.account_id, r.status, r.submitted_at, r.due_date, r.period_key, r.payload_enc,
            r.reason, r.decision_reason, r.decided_by, r.decided_at, r.photos_deleted_at, s.username AS decided_by_username
        FROM reviews r LEFT JOIN staff s ON s.id = r.decided_by
        WHERE r.account_id = $1 ORDER BY r.submitted_at DESC, r.id DESC";
    Ok(db_run!(db, pool => sqlx::query_as(SQL).bind(account_id).fetch_all(pool).await?))
}

/// Every photo still kept for the account's items, as (review id, slot, sealed JPEG): one query
/// for the export, not two per item.
pub async fn photos_of_account(db: &Db, account_id: i64) -> Result<Vec<(String, String, Vec<u8>)>, sqlx::Error> {
    const SQL: &str = "SELECT p.review_id, p.slot, p.data_enc FROM review_photos p JOIN reviews r ON r.id = p.review_id
        WHERE r.account_id = $1 AND r.photos_deleted_at IS NULL ORDER BY p.review_id, p.slot";
    Ok(db_run!(db, pool => sqlx::query_as(SQL).bind(account_id).fetch_all(pool).await?))
}

/// A queue row with what the queue shows of its applicant, in one query.
#[derive(sqlx::FromRow)]
pub struct QueueRow {
    #[sqlx(flatten)]
    pub review: Review,
    pub doc_type: String,
    pub doc_number_enc: Vec<u8>,
    pub name: String,
}

/// The queue, most urgent first: earliest due date, then oldest submission.
pub async fn queue(db: &Db, kind: Option<&str>, status: &str, limit: i64) -> Result<Vec<QueueRow>, sqlx::Error> {
    const SQL: &str = "SELECT r.id, r.kind, r.account_id, r.status, r.submitted_at, r.due_date, r.period_key, r.payload_enc,
            r.reason, r.decision_reason, r.decided_by, r.decided_at, r.photos_deleted_at, a.doc_type, a.doc_number_enc, a.name
        FROM reviews r JOIN accounts a ON a.id = r.account_id
        WHERE r.status = $1 AND ($2 = '' OR r.kind = $2)
        ORDER BY r.due_date, r.submitted_at, r.id LIMIT $3";
    Ok(db_run!(db, pool => sqlx::query_as(SQL).bind(status).bind(kind.unwrap_or("")).bind(limit).fetch_all(pool).await?))
}

/// Decide a pending item; false when it was already decided.
pub async fn decide(tx: &mut Tx, id: &str, status: &str, reason: Option<&str>, staff_id: i64, now: i64) -> Result<bool, sqlx::Error> {
    const SQL: &str = "UPDATE reviews SET status = $2, decision_reason = $3, decided_by = $4, decided_at = $5
        WHERE id = $1 AND status = 'pending'";
    let done = tx_run!(tx, conn => sqlx::query(SQL).bind(id).bind(status).bind(reason).bind(staff_id).bind(now).execute(conn).await?.rows_affected());
    Ok(done == 1)
}

/// Remember a link that withdraws the pending review `review_id` (a contact change announced to
/// `channel`, the account's current `phone` or `email`).
pub async fn insert_cancel(tx: &mut Tx, token_hash: &[u8], review_id: &str, channel: &str, expires_at: i64) -> Result<(), sqlx::Error> {
    const SQL: &str = "INSERT INTO contact_change_cancels (token_hash, review_id, channel, expires_at) VALUES ($1, $2, $3, $4)";
    tx_run!(tx, conn => sqlx::query(SQL).bind(token_hash).bind(review_id).bind(channel).bind(expires_at).execute(conn).await?.rows_affected());
    Ok(())
}

/// The review and channel of a live withdrawal link.
pub async fn cancel_link(db: &Db, token_hash: &[u8], now: i64) -> Result<Option<(String, String)>, sqlx::Error> {
    const SQL: &str = "SELECT review_id, channel FROM contact_change_cancels WHERE token_hash = $1 AND expires_at > $2";
    Ok(db_run!(db, pool => sqlx::query_as(SQL).bind(token_hash).bind(now).fetch_optional(pool).await?))
}

/// Withdraw a pending item, saying how; false when it was no longer pending.
pub async fn withdraw(tx: &mut Tx, id: &str, how: &str, now: i64) -> Result<bool, sqlx::Error> {
    const SQL: &str = "UPDATE reviews SET status = 'withdrawn', decision_reason = $2, decided_at = $3
        WHERE id = $1 AND status = 'pending'";
    let done = tx_run!(tx, conn => sqlx::query(SQL).bind(id).bind(how).bind(now).execute(conn).await?.rows_affected());
    Ok(done == 1)
}

/// What `/api/v1/me` shows beside the account row, in one round trip: the
/// day's verification attempts, the period's review applications, the
/// latest review of `kind`, whether a ministry login is linked and whether a WeChat is bound.
#[derive(sqlx::FromRow)]
pub struct Standing {
    pub attempts_used: i64,
    pub upstream_linked: bool,
    pub wechat_bound: bool,
    pub reviews_used: i64,
    pub review_id: Option<String>,
    pub review_status: Option<String>,
    pub review_submitted_at: Option<i64>,
    pub review_due_date: Option<String>,
    pub review_decision_reason: Option<String>,
}

/// The columns of [`Standing`] for the account `$account` (an SQL
/// expression), with `$2` the Beijing day, `$3` the review period key and
/// `$4` the review kind; used with [`latest_review_join!`] as `r`.
#[macro_export]
macro_rules! standing_columns {
    ($account:literal) => {
        concat!(
            "COALESCE((SELECT used FROM realname_attempts WHERE account_id = ", $account, " AND day = $2), 0) AS attempts_used,
             COALESCE((SELECT used FROM review_quotas WHERE account_id = ", $account, " AND period_key = $3), 0) AS reviews_used,
             EXISTS (SELECT 1 FROM upstream_links WHERE account_id = ", $account, ") AS upstream_linked,
             EXISTS (SELECT 1 FROM wechat_bindings WHERE account_id = ", $account, ") AS wechat_bound,
             r.id AS review_id, r.status AS review_status, r.submitted_at AS review_submitted_at,
             r.due_date AS review_due_date, r.decision_reason AS review_decision_reason"
        )
    };
}

/// The latest review of kind `$4` of the account `$account`, as `r`.
#[macro_export]
macro_rules! latest_review_join {
    ($account:literal) => {
        concat!(
            " LEFT JOIN reviews r ON r.id = (SELECT id FROM reviews WHERE account_id = ", $account,
            " AND kind = $4 ORDER BY submitted_at DESC, id DESC LIMIT 1)"
        )
    };
}

pub async fn standing(db: &Db, account_id: i64, day: &str, period_key: &str, kind: &str) -> Result<Standing, sqlx::Error> {
    const SQL: &str =
        concat!("SELECT ", standing_columns!("$1"), " FROM (SELECT 1 AS one) AS o", latest_review_join!("$1"));
    Ok(db_run!(db, pool => sqlx::query_as(SQL).bind(account_id).bind(day).bind(period_key).bind(kind).fetch_one(pool).await?))
}
