//! Password-hash tags (GM-2) across the two tables that keep password hashes, for the one-time
//! tagging after the upgrade and for `jszg keys rotate` after a change of suite.

use super::{Db, Tx};
use crate::vault::Holder;
use crate::{db_run, tx_run};

/// A stored hash and its tag.
#[derive(sqlx::FromRow)]
pub struct Stored {
    pub id: i64,
    pub hash: String,
    pub tag: Option<Vec<u8>>,
}

fn table(holder: Holder) -> &'static str {
    match holder {
        Holder::Account => "accounts",
        Holder::Staff => "staff",
    }
}

/// The next `limit` hashes after id `after`.
pub async fn batch(db: &Db, holder: Holder, after: i64, limit: i64) -> Result<Vec<Stored>, sqlx::Error> {
    // The table name comes from the enum above, never from input.
    let sql = format!(
        "SELECT id, password_hash AS hash, password_tag AS tag FROM {} WHERE password_hash IS NOT NULL AND id > $1 ORDER BY id LIMIT $2",
        table(holder)
    );
    Ok(db_run!(db, pool => sqlx::query_as(&sql).bind(after).bind(limit).fetch_all(pool).await?))
}

/// Every hash that has no tag at all, in one transaction (the one-time tagging).
pub async fn untagged(tx: &mut Tx, holder: Holder) -> Result<Vec<Stored>, sqlx::Error> {
    let sql = format!(
        "SELECT id, password_hash AS hash, password_tag AS tag FROM {} WHERE password_hash IS NOT NULL AND password_tag IS NULL",
        table(holder)
    );
    Ok(tx_run!(tx, conn => sqlx::query_as(&sql).fetch_all(conn).await?))
}

/// Set a tag, unless the hash changed meanwhile (whoever changed it tagged it).
pub async fn set(tx: &mut Tx, holder: Holder, id: i64, hash: &str, tag: &[u8]) -> Result<u64, sqlx::Error> {
    let sql = format!("UPDATE {} SET password_tag = $3 WHERE id = $1 AND password_hash = $2", table(holder));
    Ok(tx_run!(tx, conn => sqlx::query(&sql).bind(id).bind(hash).bind(tag).execute(conn).await?.rows_affected()))
}
