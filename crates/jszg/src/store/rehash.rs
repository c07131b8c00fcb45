//! During a change of suite (GM-1), rows keyed by a hash of something jszg does not keep (a
//! cookie, an upstream subject, a registry entry) cannot be rehashed by `jszg keys rotate`: the
//! first lookup that misses under the current hash moves a row found under the previous one.

use super::Db;
use crate::db_run;

/// A table keyed by such a hash.
#[derive(Clone, Copy, Debug)]
pub enum Keyed {
    Sessions,
    StaffSessions,
    UpstreamLinks,
    WechatBindings,
    ReferenceIdentities,
}

impl Keyed {
    /// The statements that move one key, in order. Names are constants, never input.
    fn statements(self) -> &'static [&'static str] {
        match self {
            // The business logins of a session follow it, so back-channel logout still finds them.
            Keyed::Sessions => &[
                "UPDATE sessions SET id_hash = $2 WHERE id_hash = $1",
                "UPDATE oidc_logins SET session_hash = $2 WHERE session_hash = $1",
            ],
            Keyed::StaffSessions => &["UPDATE staff_sessions SET id_hash = $2 WHERE id_hash = $1"],
            Keyed::UpstreamLinks => &["UPDATE upstream_links SET subject_hash = $2 WHERE subject_hash = $1"],
            Keyed::WechatBindings => &["UPDATE wechat_bindings SET openid_hash = $2 WHERE openid_hash = $1"],
            Keyed::ReferenceIdentities => &["UPDATE reference_identities SET doc_hash = $2 WHERE doc_hash = $1"],
        }
    }
}

/// Move the row keyed by `previous` to `current`; whether there was one.
pub async fn move_key(db: &Db, keyed: Keyed, previous: &[u8], current: &[u8]) -> Result<bool, sqlx::Error> {
    let mut moved = 0;
    for (i, sql) in keyed.statements().iter().enumerate() {
        let n = db_run!(db, pool => sqlx::query(sql).bind(previous).bind(current).execute(pool).await?.rows_affected());
        if i == 0 {
            moved = n;
        }
    }
    Ok(moved > 0)
}
