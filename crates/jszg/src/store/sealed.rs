//! Every sealed column, for key rotation (PRIV-4). An envelope starts with
//! the 4-byte id of the key that sealed it, so `substr(col, 1, 4)` tells
//! which key a row needs without opening it, on SQLite and PostgreSQL alike.
//!
//! A new sealed column is one more entry in [`SEALED`]; rotation and the
//! start-up check then cover it.

use std::collections::BTreeSet;

use sqlx::Row;
use zeroize::Zeroizing;

use super::Db;
use crate::vault::{Field, Vault};
use crate::{db_run, tx_run};

#[derive(Clone, Copy, Debug)]
pub enum KeyType {
    Int,
    Text,
}

/// A sealed column: its table, primary key and the column bindings it may
/// have been sealed with (the AEAD tag tells which one is right).
pub struct SealedColumn {
    pub table: &'static str,
    pub keys: &'static [(&'static str, KeyType)],
    pub column: &'static str,
    pub fields: &'static [Field],
    /// Values are large (photos): smaller batches keep memory flat.
    pub large: bool,
    /// The lookup-hash column computed from this value, recomputed when the row is resealed:
    /// after a change of suite (GM-1) every row is resealed under the new suite's key, and so
    /// rehashed under its index key in the same update.
    pub hash: Option<(&'static str, Field)>,
}

const ID: &[(&str, KeyType)] = &[("id", KeyType::Int)];

pub const SEALED: &[SealedColumn] = &[
    SealedColumn { table: "accounts", keys: ID, column: "doc_number_enc", fields: &[Field::DocNumber], large: false, hash: Some(("doc_hash", Field::DocNumber)) },
    SealedColumn { table: "accounts", keys: ID, column: "email_enc", fields: &[Field::Email], large: false, hash: Some(("email_hash", Field::Email)) },
    SealedColumn { table: "accounts", keys: ID, column: "phone_enc", fields: &[Field::Phone], large: false, hash: Some(("phone_hash", Field::Phone)) },
    SealedColumn { table: "accounts", keys: ID, column: "local_id_enc", fields: &[Field::LocalIdNumber], large: false, hash: None },
    SealedColumn { table: "accounts", keys: ID, column: "permit_number_enc", fields: &[Field::PermitNumber], large: false, hash: None },
    // Identity reviews seal their payload as Photo, contact changes as Contact.
    SealedColumn {
        table: "reviews",
        keys: &[("id", KeyType::Text)],
        column: "payload_enc",
        fields: &[Field::Photo, Field::Contact],
        large: false,
        hash: None,
    },
    SealedColumn {
        table: "review_photos",
        keys: &[("review_id", KeyType::Text), ("slot", KeyType::Text)],
        column: "data_enc",
        fields: &[Field::Photo],
        large: true,
        hash: None,
    },
    SealedColumn { table: "outbox", keys: ID, column: "payload_enc", fields: &[Field::Outbox], large: false, hash: None },
    SealedColumn { table: "staff", keys: ID, column: "totp_secret_enc", fields: &[Field::Totp], large: false, hash: None },
    SealedColumn {
        table: "wechat_code_openids",
        keys: ID,
        column: "openid_enc",
        fields: &[Field::Wechat],
        large: false,
        hash: Some(("openid_hash", Field::Wechat)),
    },
    SealedColumn {
        table: "wechat_bindings",
        keys: &[("account_id", KeyType::Int)],
        column: "openid_enc",
        fields: &[Field::Wechat],
        large: false,
        hash: Some(("openid_hash", Field::Wechat)),
    },
];

impl SealedColumn {
    pub fn name(&self) -> String {
        format!("{}.{}", self.table, self.column)
    }

    fn key_list(&self) -> String {
        self.keys.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ")
    }
}

/// One row's primary key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyPart {
    Int(i64),
    Text(String),
}

/// The key ids that values of a column were sealed with: one scan of the
/// table (no index); about 2-3 s per million rows on SQLite on a busy 2-core box.
pub async fn key_ids_in_use(db: &Db, c: &SealedColumn) -> Result<BTreeSet<u32>, sqlx::Error> {
    // Names come from the constant list above, never from input.
    let sql = format!("SELECT DISTINCT substr({col}, 1, 4) FROM {table} WHERE {col} IS NOT NULL", col = c.column, table = c.table);
    let prefixes: Vec<Vec<u8>> = db_run!(db, pool => sqlx::query_scalar(&sql).fetch_all(pool).await?);
    Ok(prefixes.iter().filter_map(|p| Vault::key_id_of(p)).collect())
}

/// Rows of a column not yet sealed with `current`.
pub async fn count_stale(db: &Db, c: &SealedColumn, current: u32) -> Result<i64, sqlx::Error> {
    let sql =
        format!("SELECT COUNT(*) FROM {table} WHERE {col} IS NOT NULL AND substr({col}, 1, 4) <> $1", col = c.column, table = c.table);
    let prefix = current.to_be_bytes().to_vec();
    Ok(db_run!(db, pool => sqlx::query_scalar(&sql).bind(prefix).fetch_one(pool).await?))
}

/// A stale row: its key and its sealed value.
pub struct StaleRow {
    pub key: Vec<KeyPart>,
    pub value: Vec<u8>,
}

fn select_stale_sql(c: &SealedColumn, after: bool) -> String {
    let keys = c.key_list();
    let after_clause = if after {
        let params = (0..c.keys.len()).map(|i| format!("${}", i + 3)).collect::<Vec<_>>().join(", ");
        format!(" AND ({keys}) > ({params})")
    } else {
        String::new()
    };
    format!(
        "SELECT {keys}, {col} FROM {table} WHERE {col} IS NOT NULL AND substr({col}, 1, 4) <> $1{after_clause} ORDER BY {keys} LIMIT $2",
        col = c.column,
        table = c.table
    )
}

fn update_sql(c: &SealedColumn) -> String {
    let conditions = c.keys.iter().enumerate().map(|(i, (k, _))| format!("{k} = ${}", i + 3)).collect::<Vec<_>>().join(" AND ");
    let rehash = match c.hash {
        Some((column, _)) => format!(", {column} = ${}", c.keys.len() + 3),
        None => String::new(),
    };
    format!("UPDATE {table} SET {col} = $1{rehash} WHERE {col} = $2 AND {conditions}", table = c.table, col = c.column)
}

/// Reseal one batch of stale rows after `after` (keyset order) in one
/// transaction. Rows changed meanwhile are left alone: whoever changed
/// them sealed with the current key. Returns the rows seen (the next
/// `after` is the last of them) and how many were resealed; a value no key
/// opens is an error naming the column and the key id it needs.
pub async fn reseal_batch(
    db: &Db,
    vault: &Vault,
    c: &SealedColumn,
    after: Option<&[KeyPart]>,
    limit: i64,
) -> Result<(Vec<Vec<KeyPart>>, u64), ResealError> {
    let current = vault.current_id().to_be_bytes().to_vec();
    let select = select_stale_sql(c, after.is_some());
    let update = update_sql(c);
    let mut tx = db.begin().await?;
    let rows: Vec<StaleRow> = tx_run!(&mut tx, conn => {
        let mut q = sqlx::query(&select).bind(current.clone()).bind(limit);
        for part in after.unwrap_or(&[]) {
            q = match part {
                KeyPart::Int(v) => q.bind(*v),
                KeyPart::Text(v) => q.bind(v.clone()),
            };
        }
        let raw = q.fetch_all(&mut *conn).await?;
        let mut rows = Vec::with_capacity(raw.len());
        for r in &raw {
            let mut key = Vec::with_capacity(c.keys.len());
            for (i, (_, kind)) in c.keys.iter().enumerate() {
                key.push(match kind {
                    KeyType::Int => KeyPart::Int(r.try_get::<i64, _>(i)?),
                    KeyType::Text => KeyPart::Text(r.try_get::<String, _>(i)?),
                });
            }
            rows.push(StaleRow { key, value: r.try_get::<Vec<u8>, _>(c.keys.len())? });
        }
        rows
    });
    let mut resealed = 0;
    let mut seen = Vec::with_capacity(rows.len());
    for row in rows {
        let (field, plain) = c
            .fields
            .iter()
            .find_map(|f| vault.open(*f, &row.value).ok().map(|p| (*f, Zeroizing::new(p))))
            .ok_or_else(|| ResealError::Unopenable { column: c.name(), key_id: Vault::key_id_of(&row.value) })?;
        let fresh = vault.seal(field, &plain);
        let rehashed = match c.hash {
            Some((_, hash_field)) => {
                let text = std::str::from_utf8(&plain).map_err(|_| ResealError::Unopenable { column: c.name(), key_id: Vault::key_id_of(&row.value) })?;
                Some(vault.lookup(hash_field, text))
            }
            None => None,
        };
        let done = tx_run!(&mut tx, conn => {
            let mut q = sqlx::query(&update).bind(fresh).bind(row.value);
            for part in &row.key {
                q = match part {
                    KeyPart::Int(v) => q.bind(*v),
                    KeyPart::Text(v) => q.bind(v.clone()),
                };
            }
            if let Some(hash) = &rehashed {
                q = q.bind(hash.clone());
            }
            q.execute(&mut *conn).await?.rows_affected()
        });
        resealed += done;
        seen.push(row.key);
    }
    tx.commit().await?;
    Ok((seen, resealed))
}

#[derive(Debug, thiserror::Error)]
pub enum ResealError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("a value in {column} cannot be opened (sealed with key {key_id:?}): restore that key to the key file")]
    Unopenable { column: String, key_id: Option<u32> },
}

/// Start-up check (PRIV-4): every key id in use must be in the key file.
/// Returns one line per column that needs a missing key.
pub async fn missing_keys(db: &Db, vault: &Vault) -> Result<Vec<String>, sqlx::Error> {
    let known: BTreeSet<u32> = vault.key_ids().into_iter().collect();
    let mut problems = Vec::new();
    for c in SEALED {
        let missing: Vec<String> = key_ids_in_use(db, c).await?.difference(&known).map(u32::to_string).collect();
        if !missing.is_empty() {
            problems.push(format!("{} has values sealed with key {}", c.name(), missing.join(", ")));
        }
    }
    Ok(problems)
}
