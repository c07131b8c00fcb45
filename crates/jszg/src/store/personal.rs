//! What the applicant's own view reads (PRIV-2): the rows held about one
//! account that no other module lists, and the staff accesses to it, which
//! come from the audit log and nowhere else.

use super::Db;
use crate::db_run;

#[derive(sqlx::FromRow)]
pub struct AttemptDay {
    pub day: String,
    pub used: i64,
}

pub async fn realname_attempts(db: &Db, account_id: i64) -> Result<Vec<AttemptDay>, sqlx::Error> {
    const SQL: &str = "SELECT day, used FROM realname_attempts WHERE account_id = $1 ORDER BY day DESC";
    Ok(db_run!(db, pool => sqlx::query_as(SQL).bind(account_id).fetch_all(pool).await?))
}

#[derive(sqlx::FromRow)]
pub struct Enrollment {
    pub entry: String,
    pub enrolled_at: i64,
}

pub async fn enrollments(db: &Db, account_id: i64) -> Result<Vec<Enrollment>, sqlx::Error> {
    const SQL: &str = "SELECT entry, enrolled_at FROM enrollments WHERE account_id = $1 ORDER BY enrolled_at";
    Ok(db_run!(db, pool => sqlx::query_as(SQL).bind(account_id).fetch_all(pool).await?))
}

#[derive(sqlx::FromRow)]
pub struct StaffAccess {
    pub id: i64,
    pub at: i64,
    pub action: String,
    pub detail: String,
    /// The staff member's role; `None` if the staff row is gone.
    pub role: Option<String>,
}

/// Every audit entry a staff member wrote about this account, newest first
/// (served by the `audit_account` index).
/// Who saw the account's data: staff, and the business systems single sign-on gave claims to
/// (`actor_kind` `business`, the client in `detail`).
pub async fn staff_accesses(db: &Db, account_id: i64, limit: i64) -> Result<Vec<StaffAccess>, sqlx::Error> {
    const SQL: &str = "SELECT l.id, l.at, l.action, l.detail, s.role FROM audit_log l
        LEFT JOIN staff s ON s.id = l.actor_id AND l.actor_kind = 'staff'
        WHERE l.account_id = $1 AND l.actor_kind IN ('staff', 'business')
        ORDER BY l.at DESC, l.id DESC LIMIT $2";
    Ok(db_run!(db, pool => sqlx::query_as(SQL).bind(account_id).bind(limit).fetch_all(pool).await?))
}
