//! Applicant accounts. The document number, phone and email exist only as
//! sealed envelopes plus keyed hashes; the partial unique index on the
//! document hash keeps exactly one live account per number (REG-4).

use super::{Db, Tx};
use crate::vault::Hashes;
use crate::{db_run, tx_run};

/// The columns of [`Account`], for every query that loads one.
#[macro_export]
macro_rules! account_columns {
    () => {
        "a.id, a.doc_type, a.doc_number_enc, a.name, a.validity_period, a.validity_start, a.validity_end,
         a.password_hash, a.email_enc, a.phone_enc, a.registered_at, a.sex, a.birth_date, a.ethnicity,
         a.local_id_enc, a.permit_number_enc, a.profile_completed_at, a.realname_status, a.password_tag"
    };
}

/// A live account as stored; personal data still sealed.
#[derive(sqlx::FromRow, Clone)]
pub struct Account {
    pub id: i64,
    pub doc_type: String,
    pub doc_number_enc: Vec<u8>,
    pub name: String,
    pub validity_period: Option<String>,
    pub validity_start: Option<String>,
    pub validity_end: Option<String>,
    pub password_hash: Option<String>,
    pub email_enc: Option<Vec<u8>>,
    pub phone_enc: Option<Vec<u8>>,
    pub registered_at: i64,
    pub sex: Option<String>,
    pub birth_date: Option<String>,
    pub ethnicity: Option<String>,
    pub local_id_enc: Option<Vec<u8>>,
    pub permit_number_enc: Option<Vec<u8>>,
    pub profile_completed_at: Option<i64>,
    pub realname_status: String,
    /// GM-2: HMAC-SM3 over the id and `password_hash`; a hash without its tag does not count.
    pub password_tag: Option<Vec<u8>>,
}

/// The live account of a number. During a change of suite (GM-1) its row may still carry the
/// previous hash, so lookups by number ask for both (they are equal otherwise).
pub async fn find_live(db: &Db, doc: &Hashes) -> Result<Option<Account>, sqlx::Error> {
    const SQL: &str =
        concat!("SELECT ", account_columns!(), " FROM accounts a WHERE a.doc_hash IN ($1, $2) AND a.archived_at IS NULL ORDER BY a.id DESC");
    Ok(db_run!(db, pool => sqlx::query_as(SQL).bind(&doc.current).bind(&doc.previous).fetch_optional(pool).await?))
}

/// The newest account of a number archived for `reason` (e.g. an ownership claim's loser).
pub async fn find_archived(db: &Db, doc: &Hashes, reason: &str) -> Result<Option<Account>, sqlx::Error> {
    const SQL: &str = concat!(
        "SELECT ",
        account_columns!(),
        " FROM accounts a WHERE a.doc_hash IN ($1, $2) AND a.archived_at IS NOT NULL AND a.archived_reason = $3 ORDER BY a.archived_at DESC, a.id DESC LIMIT 1"
    );
    Ok(db_run!(db, pool => sqlx::query_as(SQL).bind(&doc.current).bind(&doc.previous).bind(reason).fetch_optional(pool).await?))
}

pub async fn find_by_id(db: &Db, id: i64) -> Result<Option<Account>, sqlx::Error> {
    const SQL: &str = concat!("SELECT ", account_columns!(), " FROM accounts a WHERE a.id = $1 AND a.archived_at IS NULL");
    Ok(db_run!(db, pool => sqlx::query_as(SQL).bind(id).fetch_optional(pool).await?))
}

pub async fn set_password(tx: &mut Tx, id: i64, hash: &str, tag: &[u8], now: i64) -> Result<(), sqlx::Error> {
    const SQL: &str = "UPDATE accounts SET password_hash = $2, password_tag = $3, password_changed_at = $4 WHERE id = $1";
    tx_run!(tx, conn => sqlx::query(SQL).bind(id).bind(hash).bind(tag).bind(now).execute(conn).await?.rows_affected());
    Ok(())
}

/// Replace a hash with a stronger one of the same password, unless the
/// password changed meanwhile.
pub async fn upgrade_password_hash(db: &Db, id: i64, old: &str, new: &str, tag: &[u8]) -> Result<(), sqlx::Error> {
    const SQL: &str = "UPDATE accounts SET password_hash = $3, password_tag = $4 WHERE id = $1 AND password_hash = $2";
    db_run!(db, pool => sqlx::query(SQL).bind(id).bind(old).bind(new).bind(tag).execute(pool).await?.rows_affected());
    Ok(())
}

/// Tag the hash an account was just created with (the tag covers the id, known only now).
pub async fn set_password_tag(tx: &mut Tx, id: i64, hash: &str, tag: &[u8]) -> Result<(), sqlx::Error> {
    const SQL: &str = "UPDATE accounts SET password_tag = $3 WHERE id = $1 AND password_hash = $2";
    tx_run!(tx, conn => sqlx::query(SQL).bind(id).bind(hash).bind(tag).execute(conn).await?.rows_affected());
    Ok(())
}

/// Live accounts just inserted under these lookup hashes whose hash has no tag yet (import).
pub async fn untagged_among(tx: &mut Tx, doc_hashes: &[Vec<u8>]) -> Result<Vec<(i64, String)>, sqlx::Error> {
    if doc_hashes.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT id, password_hash FROM accounts WHERE archived_at IS NULL AND password_hash IS NOT NULL
            AND password_tag IS NULL AND doc_hash IN {}",
        value_rows(1, doc_hashes.len())
    );
    Ok(tx_run!(tx, conn => {
        let mut q = sqlx::query_as(&sql);
        for h in doc_hashes {
            q = q.bind(h);
        }
        q.fetch_all(conn).await?
    }))
}

pub async fn set_phone(tx: &mut Tx, id: i64, phone_enc: &[u8], phone_hash: &[u8]) -> Result<(), sqlx::Error> {
    const SQL: &str = "UPDATE accounts SET phone_enc = $2, phone_hash = $3 WHERE id = $1";
    tx_run!(tx, conn => sqlx::query(SQL).bind(id).bind(phone_enc).bind(phone_hash).execute(conn).await?.rows_affected());
    Ok(())
}

pub async fn set_email(tx: &mut Tx, id: i64, email_enc: &[u8], email_hash: &[u8]) -> Result<(), sqlx::Error> {
    const SQL: &str = "UPDATE accounts SET email_enc = $2, email_hash = $3 WHERE id = $1";
    tx_run!(tx, conn => sqlx::query(SQL).bind(id).bind(email_enc).bind(email_hash).execute(conn).await?.rows_affected());
    Ok(())
}

pub struct ProfileUpdate<'a> {
    pub sex: Option<&'a str>,
    pub birth_date: Option<&'a str>,
    pub ethnicity: &'a str,
    pub local_id_enc: Option<&'a [u8]>,
    pub permit_number_enc: Option<&'a [u8]>,
    pub completed_at: i64,
}

pub async fn set_profile(tx: &mut Tx, id: i64, p: ProfileUpdate<'_>) -> Result<(), sqlx::Error> {
    const SQL: &str = "UPDATE accounts SET sex = $2, birth_date = $3, ethnicity = $4, local_id_enc = $5,
            permit_number_enc = $6, profile_completed_at = COALESCE(profile_completed_at, $7)
        WHERE id = $1";
    tx_run!(tx, conn => sqlx::query(SQL)
        .bind(id)
        .bind(p.sex)
        .bind(p.birth_date)
        .bind(p.ethnicity)
        .bind(p.local_id_enc)
        .bind(p.permit_number_enc)
        .bind(p.completed_at)
        .execute(conn)
        .await?
        .rows_affected());
    Ok(())
}

pub struct NewAccount<'a> {
    pub doc_type: &'a str,
    pub doc_hash: &'a [u8],
    pub doc_number_enc: &'a [u8],
    pub name: &'a str,
    pub validity_period: Option<&'a str>,
    pub validity_start: Option<&'a str>,
    pub validity_end: Option<&'a str>,
    pub password_hash: Option<&'a str>,
    pub email_enc: Option<&'a [u8]>,
    pub email_hash: Option<&'a [u8]>,
    pub phone_enc: Option<&'a [u8]>,
    pub phone_hash: Option<&'a [u8]>,
    pub registered_at: i64,
}

/// Binds a `NewAccount` in column order, for the single and the multi-row insert.
macro_rules! bind_new_account {
    ($q:expr, $a:expr) => {
        $q.bind($a.doc_type)
            .bind($a.doc_hash)
            .bind($a.doc_number_enc)
            .bind($a.name)
            .bind($a.validity_period)
            .bind($a.validity_start)
            .bind($a.validity_end)
            .bind($a.password_hash)
            .bind($a.email_enc)
            .bind($a.email_hash)
            .bind($a.phone_enc)
            .bind($a.phone_hash)
            .bind($a.registered_at)
    };
}

/// Insert a live account. A unique violation means the number is taken.
pub async fn insert(tx: &mut Tx, a: NewAccount<'_>) -> Result<i64, sqlx::Error> {
    const SQL: &str = "INSERT INTO accounts (doc_type, doc_hash, doc_number_enc, name, validity_period, validity_start,
            validity_end, password_hash, email_enc, email_hash, phone_enc, phone_hash, registered_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id";
    Ok(tx_run!(tx, conn => bind_new_account!(sqlx::query_scalar(SQL), a).fetch_one(conn).await?))
}

/// `($1, …, $13), ($14, …)`: placeholders for `rows` rows of `cols` values.
fn value_rows(rows: usize, cols: usize) -> String {
    let mut out = String::with_capacity(rows * cols * 5);
    for r in 0..rows {
        out.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..cols {
            if c > 0 {
                out.push_str(", ");
            }
            out.push('$');
            out.push_str(&(r * cols + c + 1).to_string());
        }
        out.push(')');
    }
    out
}

/// Insert many live accounts in one statement (legacy import). Rows whose
/// number already has a live account are skipped; returns the lookup hashes
/// of the rows inserted. Both databases cap a statement's parameters (SQLite
/// at 32,766), so callers keep batches to a few hundred rows.
pub async fn insert_many(tx: &mut Tx, rows: &[NewAccount<'_>]) -> Result<Vec<Vec<u8>>, sqlx::Error> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "INSERT INTO accounts (doc_type, doc_hash, doc_number_enc, name, validity_period, validity_start,
            validity_end, password_hash, email_enc, email_hash, phone_enc, phone_hash, registered_at)
        VALUES {} ON CONFLICT (doc_hash) WHERE archived_at IS NULL DO NOTHING RETURNING doc_hash",
        value_rows(rows.len(), 13)
    );
    Ok(tx_run!(tx, conn => {
        let mut q = sqlx::query_scalar(&sql);
        for a in rows {
            q = bind_new_account!(q, a);
        }
        q.fetch_all(conn).await?
    }))
}

/// Registration times of the live accounts among these lookup hashes.
pub async fn live_registered_at_many(tx: &mut Tx, doc_hashes: &[&[u8]]) -> Result<Vec<(Vec<u8>, i64)>, sqlx::Error> {
    if doc_hashes.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT doc_hash, registered_at FROM accounts WHERE archived_at IS NULL AND doc_hash IN {}",
        value_rows(1, doc_hashes.len())
    );
    Ok(tx_run!(tx, conn => {
        let mut q = sqlx::query_as(&sql);
        for h in doc_hashes {
            q = q.bind(*h);
        }
        q.fetch_all(conn).await?
    }))
}

const LIVE_REGISTERED_AT: &str = "SELECT registered_at FROM accounts WHERE doc_hash IN ($1, $2) AND archived_at IS NULL";

/// When the live account holding this number registered, if there is one.
pub async fn live_registered_at(db: &Db, doc: &Hashes) -> Result<Option<i64>, sqlx::Error> {
    Ok(db_run!(db, pool => sqlx::query_scalar(LIVE_REGISTERED_AT).bind(&doc.current).bind(&doc.previous).fetch_optional(pool).await?))
}

/// Archive the live account for this number if it registered before
/// `cutoff` (a legacy account, REG-4); returns its id.
pub async fn archive_legacy(tx: &mut Tx, doc: &Hashes, cutoff: i64, now: i64) -> Result<Option<i64>, sqlx::Error> {
    const SQL: &str = "UPDATE accounts SET archived_at = $3, archived_reason = 'superseded_legacy'
        WHERE doc_hash IN ($1, $4) AND archived_at IS NULL AND registered_at < $2 RETURNING id";
    Ok(tx_run!(tx, conn => sqlx::query_scalar(SQL).bind(&doc.current).bind(cutoff).bind(now).bind(&doc.previous).fetch_optional(conn).await?))
}

/// Record a successful real-name verification, with the name it used.
pub async fn set_verified(tx: &mut Tx, id: i64, name: &str) -> Result<(), sqlx::Error> {
    const SQL: &str = "UPDATE accounts SET realname_status = 'verified', name = $2 WHERE id = $1";
    tx_run!(tx, conn => sqlx::query(SQL).bind(id).bind(name).execute(conn).await?.rows_affected());
    Ok(())
}

pub async fn set_realname_status(tx: &mut Tx, id: i64, status: &str) -> Result<(), sqlx::Error> {
    const SQL: &str = "UPDATE accounts SET realname_status = $2 WHERE id = $1";
    tx_run!(tx, conn => sqlx::query(SQL).bind(id).bind(status).execute(conn).await?.rows_affected());
    Ok(())
}

/// Apply the identity data a reviewer approved (MR-5).
pub async fn set_reviewed_identity(
    tx: &mut Tx,
    id: i64,
    name: &str,
    period: &str,
    start: &str,
    end: Option<&str>,
) -> Result<(), sqlx::Error> {
    const SQL: &str = "UPDATE accounts SET realname_status = 'review_approved', name = $2, validity_period = $3,
            validity_start = $4, validity_end = $5
        WHERE id = $1";
    tx_run!(tx, conn => sqlx::query(SQL).bind(id).bind(name).bind(period).bind(start).bind(end).execute(conn).await?.rows_affected());
    Ok(())
}

/// Ids of every account, live or archived, that held this number; newest first.
pub async fn find_any(db: &Db, doc: &Hashes) -> Result<Vec<i64>, sqlx::Error> {
    const SQL: &str = "SELECT id FROM accounts WHERE doc_hash IN ($1, $2) ORDER BY id DESC";
    Ok(db_run!(db, pool => sqlx::query_scalar(SQL).bind(&doc.current).bind(&doc.previous).fetch_all(pool).await?))
}
