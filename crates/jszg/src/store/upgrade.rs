//! GM-2 and GM-3 at rest: the one-time start of password tags and of the audit chain after the
//! upgrade that brings them (migration 0015). It runs inside `App::start`, below the flows.

use super::{audit, password_tags, Db};
use crate::vault::{Holder, Vault};

/// What the first start after the upgrade did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Started {
    pub tagged: u64,
    pub chained: i64,
}

/// Run at every start; does something only the first time after migration 0015 (the audit
/// head still at -1). One transaction: a crash halfway leaves it to the next start.
pub async fn complete(db: &Db, vault: &Vault, now: i64) -> Result<Option<Started>, sqlx::Error> {
    let mut tx = db.begin().await?;
    let Some(chained) = audit::chain_existing(&mut tx, vault, now).await? else {
        tx.rollback().await?;
        return Ok(None);
    };
    let mut tagged = 0;
    for holder in [Holder::Account, Holder::Staff] {
        for row in password_tags::untagged(&mut tx, holder).await? {
            tagged += password_tags::set(&mut tx, holder, row.id, &row.hash, &vault.password_tag(holder, row.id, &row.hash)).await?;
        }
    }
    tx.commit().await?;
    tracing::info!(tagged, chained, "password hashes tagged and audit log chained (first start after the upgrade)");
    Ok(Some(Started { tagged, chained }))
}
