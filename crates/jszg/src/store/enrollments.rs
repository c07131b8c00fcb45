//! Business enrollments (SSO-3) and the business clients' secrets.

use super::{Db, Tx};
use crate::{db_run, tx_run};

pub async fn enroll(db: &Db, account_id: i64, entry: &str, now: i64) -> Result<(), sqlx::Error> {
    const SQL: &str = "INSERT INTO enrollments (account_id, entry, enrolled_at) VALUES ($1, $2, $3)
        ON CONFLICT (account_id, entry) DO NOTHING";
    db_run!(db, pool => sqlx::query(SQL).bind(account_id).bind(entry).bind(now).execute(pool).await?.rows_affected());
    Ok(())
}

const ENTRIES_OF: &str = "SELECT entry FROM enrollments WHERE account_id = $1 ORDER BY entry";

pub async fn entries_of(db: &Db, account_id: i64) -> Result<Vec<String>, sqlx::Error> {
    Ok(db_run!(db, pool => sqlx::query_scalar(ENTRIES_OF).bind(account_id).fetch_all(pool).await?))
}

pub async fn entries_of_tx(tx: &mut Tx, account_id: i64) -> Result<Vec<String>, sqlx::Error> {
    Ok(tx_run!(tx, conn => sqlx::query_scalar(ENTRIES_OF).bind(account_id).fetch_all(conn).await?))
}

pub async fn set_client_secret(db: &Db, entry: &str, secret_hash: &[u8], now: i64) -> Result<(), sqlx::Error> {
    const SQL: &str = "INSERT INTO clients (entry, secret_hash, rotated_at) VALUES ($1, $2, $3)
        ON CONFLICT (entry) DO UPDATE SET secret_hash = excluded.secret_hash, rotated_at = excluded.rotated_at";
    db_run!(db, pool => sqlx::query(SQL).bind(entry).bind(secret_hash).bind(now).execute(pool).await?.rows_affected());
    Ok(())
}

pub async fn client_secret_hash(db: &Db, entry: &str) -> Result<Option<Vec<u8>>, sqlx::Error> {
    const SQL: &str = "SELECT secret_hash FROM clients WHERE entry = $1";
    Ok(db_run!(db, pool => sqlx::query_scalar(SQL).bind(entry).fetch_optional(pool).await?))
}
