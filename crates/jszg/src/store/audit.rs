//! The append-only audit log (STAFF-5, REC-3): who did what to which
//! account, when. Details never hold document numbers, phones or emails.

use super::Tx;
use crate::tx_run;

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

pub async fn append(tx: &mut Tx, e: Entry<'_>) -> Result<(), sqlx::Error> {
    const SQL: &str = "INSERT INTO audit_log (at, actor_kind, actor_id, account_id, action, detail) VALUES ($1, $2, $3, $4, $5, $6)";
    tx_run!(tx, conn => sqlx::query(SQL)
        .bind(e.at)
        .bind(e.actor_kind)
        .bind(e.actor_id)
        .bind(e.account_id)
        .bind(e.action)
        .bind(e.detail)
        .execute(conn)
        .await?
        .rows_affected());
    Ok(())
}
