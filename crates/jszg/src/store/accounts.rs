//! Applicant accounts. The document number, phone and email exist only as
//! sealed envelopes plus keyed hashes; the partial unique index on the
//! document hash keeps exactly one live account per number (REG-4).

use super::{Db, Tx};
use crate::{db_run, tx_run};

pub struct NewAccount<'a> {
    pub doc_type: &'a str,
    pub doc_hash: &'a [u8],
    pub doc_number_enc: &'a [u8],
    pub name: &'a str,
    pub validity_period: &'a str,
    pub validity_start: &'a str,
    pub validity_end: Option<&'a str>,
    pub password_hash: Option<&'a str>,
    pub email_enc: &'a [u8],
    pub email_hash: &'a [u8],
    pub phone_enc: &'a [u8],
    pub phone_hash: &'a [u8],
    pub registered_at: i64,
}

/// Insert a live account. A unique violation means the number is taken.
pub async fn insert(tx: &mut Tx, a: NewAccount<'_>) -> Result<i64, sqlx::Error> {
    const SQL: &str = "INSERT INTO accounts (doc_type, doc_hash, doc_number_enc, name, validity_period, validity_start,
            validity_end, password_hash, email_enc, email_hash, phone_enc, phone_hash, registered_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id";
    Ok(tx_run!(tx, conn => sqlx::query_scalar(SQL)
        .bind(a.doc_type)
        .bind(a.doc_hash)
        .bind(a.doc_number_enc)
        .bind(a.name)
        .bind(a.validity_period)
        .bind(a.validity_start)
        .bind(a.validity_end)
        .bind(a.password_hash)
        .bind(a.email_enc)
        .bind(a.email_hash)
        .bind(a.phone_enc)
        .bind(a.phone_hash)
        .bind(a.registered_at)
        .fetch_one(conn)
        .await?))
}

/// When the live account holding this number registered, if there is one.
pub async fn live_registered_at(db: &Db, doc_hash: &[u8]) -> Result<Option<i64>, sqlx::Error> {
    const SQL: &str = "SELECT registered_at FROM accounts WHERE doc_hash = $1 AND archived_at IS NULL";
    Ok(db_run!(db, pool => sqlx::query_scalar(SQL).bind(doc_hash).fetch_optional(pool).await?))
}

/// Archive the live account for this number if it registered before
/// `cutoff` (a legacy account, REG-4); returns its id.
pub async fn archive_legacy(tx: &mut Tx, doc_hash: &[u8], cutoff: i64, now: i64) -> Result<Option<i64>, sqlx::Error> {
    const SQL: &str = "UPDATE accounts SET archived_at = $3, archived_reason = 'superseded_legacy'
        WHERE doc_hash = $1 AND archived_at IS NULL AND registered_at < $2 RETURNING id";
    Ok(tx_run!(tx, conn => sqlx::query_scalar(SQL).bind(doc_hash).bind(cutoff).bind(now).fetch_optional(conn).await?))
}
