//! The append-only audit log (STAFF-5, REC-3): who did what to which
//! account, when. Details never hold document numbers, phones or emails.

use super::{Db, Tx};
use crate::vault::Vault;
use crate::{db_run, tx_run};

pub struct Entry<'a> {
    pub at: i64,
    /// `applicant`, `staff`, `system` or `operator`.
    pub actor_kind: &'a str,
    pub actor_id: Option<i64>,
    pub account_id: Option<i64>,
    pub action: &'a str,
    pub detail: &'a str,
}

impl<'a> Entry<'a> {
    /// The applicant acting on their own account.
    pub fn by_applicant(at: i64, account_id: i64, action: &'a str, detail: &'a str) -> Self {
        Entry { at, actor_kind: "applicant", actor_id: Some(account_id), account_id: Some(account_id), action, detail }
    }
}

/// Append an entry and chain it (GM-3). The head row is taken first: it serialises writers
/// across instances, so one chain comes out whatever the number of writers, and ids follow
/// chain order. Costs one more row update and insert per entry (docs/crypto.md has figures).
pub async fn append(tx: &mut Tx, vault: &Vault, e: Entry<'_>) -> Result<(), sqlx::Error> {
    // The link is not touched by this statement, so it is still the previous entry's.
    const HEAD: &str = "UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, link";
    const INSERT: &str =
        "INSERT INTO audit_log (at, actor_kind, actor_id, account_id, action, detail) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id";
    const CHAIN: &str = "INSERT INTO audit_chain (seq, audit_id, link) VALUES ($1, $2, $3)";
    const MOVE: &str = "UPDATE audit_head SET link = $1 WHERE id = 1";
    tx_run!(tx, conn => {
        let (seq, previous): (i64, Vec<u8>) = sqlx::query_as(HEAD).fetch_one(&mut *conn).await?;
        let id: i64 = sqlx::query_scalar(INSERT)
            .bind(e.at)
            .bind(e.actor_kind)
            .bind(e.actor_id)
            .bind(e.account_id)
            .bind(e.action)
            .bind(e.detail)
            .fetch_one(&mut *conn)
            .await?;
        let stored = Stored {
            id,
            at: e.at,
            actor_kind: e.actor_kind.to_owned(),
            actor_id: e.actor_id,
            account_id: e.account_id,
            action: e.action.to_owned(),
            detail: e.detail.to_owned(),
        };
        let link = stored.link(vault, &previous);
        sqlx::query(CHAIN).bind(seq).bind(id).bind(&link).execute(&mut *conn).await?;
        sqlx::query(MOVE).bind(&link).execute(&mut *conn).await?;
    });
    Ok(())
}

/// An entry as stored, the content its link covers.
#[derive(sqlx::FromRow)]
struct Stored {
    id: i64,
    at: i64,
    actor_kind: String,
    actor_id: Option<i64>,
    account_id: Option<i64>,
    action: String,
    detail: String,
}

impl Stored {
    /// HMAC-SM3(audit key, previous link ‖ every column), each part length-prefixed; an absent
    /// id is the empty string, which no present id is.
    fn link(&self, vault: &Vault, previous: &[u8]) -> Vec<u8> {
        let number = |n: Option<i64>| n.map(|n| n.to_string()).unwrap_or_default();
        vault.audit_mac(&[
            previous,
            self.id.to_string().as_bytes(),
            self.at.to_string().as_bytes(),
            self.actor_kind.as_bytes(),
            number(self.actor_id).as_bytes(),
            number(self.account_id).as_bytes(),
            self.action.as_bytes(),
            self.detail.as_bytes(),
        ])
    }
}

const COLUMNS: &str = "l.id, l.at, l.actor_kind, l.actor_id, l.account_id, l.action, l.detail";

/// Chain the entries written before the chain existed, once: the migration that adds it leaves
/// the head at -1 and this runs in the next start's upgrade transaction. Returns how many it
/// chained, or `None` when the chain was started already; records itself as an entry, so a
/// second run (someone setting the head back) shows in the log.
pub async fn chain_existing(tx: &mut Tx, vault: &Vault, now: i64) -> Result<Option<i64>, sqlx::Error> {
    // Locks the head on PostgreSQL, so two instances starting at once do it once.
    const PENDING: &str = "UPDATE audit_head SET seq = seq WHERE id = 1 AND seq = -1 RETURNING seq";
    const ALL: &str = "SELECT l.id, l.at, l.actor_kind, l.actor_id, l.account_id, l.action, l.detail FROM audit_log l
        WHERE l.id > $1 ORDER BY l.id LIMIT 2000";
    const CHAIN: &str = "INSERT INTO audit_chain (seq, audit_id, link) VALUES ($1, $2, $3)";
    const HEAD: &str = "UPDATE audit_head SET seq = $1, link = $2 WHERE id = 1";
    let pending: Option<i64> = tx_run!(tx, conn => sqlx::query_scalar(PENDING).fetch_optional(conn).await?);
    if pending.is_none() {
        return Ok(None);
    }
    let mut seq = 0i64;
    let mut link = Vec::new();
    let mut after = 0i64;
    loop {
        let rows: Vec<Stored> = tx_run!(tx, conn => sqlx::query_as(ALL).bind(after).fetch_all(&mut *conn).await?);
        let Some(last) = rows.last() else { break };
        after = last.id;
        for row in &rows {
            seq += 1;
            link = row.link(vault, &link);
            tx_run!(tx, conn => sqlx::query(CHAIN).bind(seq).bind(row.id).bind(&link).execute(&mut *conn).await?.rows_affected());
        }
    }
    tx_run!(tx, conn => sqlx::query(HEAD).bind(seq).bind(&link).execute(conn).await?.rows_affected());
    let detail = format!("{seq} entries");
    append(tx, vault, Entry { at: now, actor_kind: "system", actor_id: None, account_id: None, action: "audit_chain_started", detail: &detail })
        .await?;
    Ok(Some(seq))
}

/// A chain row with its entry, if the entry is still there.
#[derive(sqlx::FromRow)]
struct Walked {
    seq: i64,
    audit_id: i64,
    link: Vec<u8>,
    id: Option<i64>,
    at: Option<i64>,
    actor_kind: Option<String>,
    actor_id: Option<i64>,
    account_id: Option<i64>,
    action: Option<String>,
    detail: Option<String>,
}

/// What `jszg audit verify` found.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Intact { entries: i64 },
    /// The first entry that does not fit, and how.
    Broken { id: i64, what: String },
}

/// Walk the chain in order (GM-3), a batch at a time so memory stays flat.
pub async fn verify(db: &Db, vault: &Vault) -> Result<Verdict, sqlx::Error> {
    const HEAD: &str = "SELECT seq, link FROM audit_head WHERE id = 1";
    let walk = format!(
        "SELECT c.seq, c.audit_id, c.link, {COLUMNS} FROM audit_chain c LEFT JOIN audit_log l ON l.id = c.audit_id
         WHERE c.seq > $1 ORDER BY c.seq LIMIT 2000"
    );
    const UNCHAINED: &str = "SELECT MIN(l.id) FROM audit_log l WHERE NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.audit_id = l.id)";
    let (head_seq, head_link): (i64, Vec<u8>) = db_run!(db, pool => sqlx::query_as(HEAD).fetch_one(pool).await?);
    let mut seq = 0i64;
    let mut link: Vec<u8> = Vec::new();
    let mut last_id: Option<i64> = None;
    loop {
        let rows: Vec<Walked> = db_run!(db, pool => sqlx::query_as(&walk).bind(seq).fetch_all(pool).await?);
        if rows.is_empty() {
            break;
        }
        for row in rows {
            let (at_seq, audit_id, stored_link) = (row.seq, row.audit_id, row.link);
            if at_seq != seq + 1 {
                let what = match last_id {
                    Some(before) => format!("removed: the entries between entry {before} and entry {audit_id} are gone"),
                    None => format!("removed: the entries before entry {audit_id} are gone"),
                };
                return Ok(Verdict::Broken { id: audit_id, what });
            }
            let (Some(_), Some(at), Some(actor_kind), Some(action), Some(detail)) = (row.id, row.at, row.actor_kind, row.action, row.detail)
            else {
                return Ok(Verdict::Broken { id: audit_id, what: "removed from the audit log".into() });
            };
            let entry = Stored { id: audit_id, at, actor_kind, actor_id: row.actor_id, account_id: row.account_id, action, detail };
            if !bool::from(subtle::ConstantTimeEq::ct_eq(entry.link(vault, &link).as_slice(), stored_link.as_slice())) {
                return Ok(Verdict::Broken { id: audit_id, what: "altered: its content does not match its link".into() });
            }
            seq = at_seq;
            link = stored_link;
            last_id = Some(audit_id);
        }
    }
    if seq != head_seq || link != head_link {
        return Ok(Verdict::Broken {
            id: last_id.unwrap_or(0),
            what: format!("removed: the chain stops after this entry ({seq} entries) but its head counts {head_seq}"),
        });
    }
    let unchained: Option<i64> = db_run!(db, pool => sqlx::query_scalar(UNCHAINED).fetch_one(pool).await?);
    if let Some(id) = unchained {
        return Ok(Verdict::Broken { id, what: "inserted: it is not in the chain".into() });
    }
    Ok(Verdict::Intact { entries: seq })
}
