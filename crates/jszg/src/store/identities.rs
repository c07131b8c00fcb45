//! The reference identity registry: the stand-in authority that real-name
//! verification consults in development and tests (RN-4).

use super::Db;
use crate::db_run;

pub async fn upsert(db: &Db, doc_hash: &[u8], doc_type: &str, name: &str, now: i64) -> Result<(), sqlx::Error> {
    const SQL: &str = "INSERT INTO reference_identities (doc_hash, doc_type, name, added_at) VALUES ($1, $2, $3, $4)
        ON CONFLICT (doc_hash) DO UPDATE SET doc_type = excluded.doc_type, name = excluded.name, added_at = excluded.added_at";
    db_run!(db, pool => sqlx::query(SQL).bind(doc_hash).bind(doc_type).bind(name).bind(now).execute(pool).await?.rows_affected());
    Ok(())
}

/// The name on record for a document, if the registry knows it.
pub async fn name_of(db: &Db, doc_hash: &[u8], doc_type: &str) -> Result<Option<String>, sqlx::Error> {
    const SQL: &str = "SELECT name FROM reference_identities WHERE doc_hash = $1 AND doc_type = $2";
    Ok(db_run!(db, pool => sqlx::query_scalar(SQL).bind(doc_hash).bind(doc_type).fetch_optional(pool).await?))
}
