//! GM-3: `jszg audit verify`. (The one-time tagging and chaining after the upgrade runs at
//! start, in `store::upgrade`.)

use crate::error::AppResult;
use crate::store::{audit, Db};
use crate::vault::Vault;

pub use audit::Verdict;

/// `jszg audit verify`.
pub async fn verify(db: &Db, vault: &Vault) -> AppResult<Verdict> {
    Ok(audit::verify(db, vault).await?)
}
