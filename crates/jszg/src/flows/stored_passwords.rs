//! GM-2: a password hash counts only with the tag jszg wrote beside it. Someone who can write
//! to the database could otherwise put in an argon2id hash of a password they chose and log
//! in as the applicant; without the index key they cannot make its tag.

use crate::app::App;
use crate::error::AppResult;
use crate::store::audit;
use crate::vault::Holder;

/// The tag to store beside a hash just computed.
pub fn tag(app: &App, holder: Holder, id: i64, hash: &str) -> Vec<u8> {
    app.vault.password_tag(holder, id, hash)
}

/// The stored hash when its tag proves jszg wrote it; `None` otherwise, so the password check
/// that follows fails exactly as it does for a number nobody registered (the same 401, the
/// same time). A hash without its tag is written to the audit log.
pub async fn vouched<'a>(app: &App, holder: Holder, id: i64, hash: Option<&'a str>, tag: Option<&[u8]>) -> AppResult<Option<&'a str>> {
    let Some(hash) = hash else { return Ok(None) };
    if tag.is_some_and(|tag| app.vault.password_tag_ok(holder, id, hash, tag)) {
        return Ok(Some(hash));
    }
    let (account_id, detail) = match holder {
        Holder::Account => (Some(id), String::new()),
        Holder::Staff => (None, format!("staff {id}")),
    };
    let mut tx = app.db.begin().await?;
    audit::append(
        &mut tx,
        &app.vault,
        audit::Entry {
            at: app.clock.unix(),
            actor_kind: "system",
            actor_id: None,
            account_id,
            action: "password_hash_untagged",
            detail: &detail,
        },
    )
    .await?;
    tx.commit().await?;
    tracing::warn!(?holder, id, "a stored password hash without a valid tag was refused");
    Ok(None)
}
