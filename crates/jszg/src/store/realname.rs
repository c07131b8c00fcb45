//! Real-name verification attempts (RN-3): three per applicant per Beijing
//! day, taken by one atomic upsert and given back when the authority could
//! not answer (RN-4: an outage does not consume an attempt).

use super::Db;
use crate::db_run;

pub async fn used(db: &Db, account_id: i64, day: &str) -> Result<i64, sqlx::Error> {
    const SQL: &str = "SELECT used FROM realname_attempts WHERE account_id = $1 AND day = $2";
    let used: Option<i64> = db_run!(db, pool => sqlx::query_scalar(SQL).bind(account_id).bind(day).fetch_optional(pool).await?);
    Ok(used.unwrap_or(0))
}

/// Take one attempt; `None` when the day's attempts are used up.
pub async fn take(db: &Db, account_id: i64, day: &str, limit: i64) -> Result<Option<i64>, sqlx::Error> {
    const SQL: &str = "INSERT INTO realname_attempts (account_id, day, used) VALUES ($1, $2, 1)
        ON CONFLICT (account_id, day) DO UPDATE SET used = realname_attempts.used + 1
        WHERE realname_attempts.used < $3
        RETURNING used";
    Ok(db_run!(db, pool => sqlx::query_scalar(SQL).bind(account_id).bind(day).bind(limit).fetch_optional(pool).await?))
}

/// Return an attempt that the authority never judged.
pub async fn give_back(db: &Db, account_id: i64, day: &str) -> Result<(), sqlx::Error> {
    const SQL: &str = "UPDATE realname_attempts SET used = used - 1 WHERE account_id = $1 AND day = $2 AND used > 0";
    db_run!(db, pool => sqlx::query(SQL).bind(account_id).bind(day).execute(pool).await?.rows_affected());
    Ok(())
}
