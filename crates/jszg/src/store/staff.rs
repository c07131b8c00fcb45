//! Staff accounts and their sessions (STAFF-1), apart from applicants'.

use super::Db;
use crate::db_run;

#[derive(sqlx::FromRow, Clone)]
pub struct Staff {
    pub id: i64,
    pub username: String,
    pub role: String,
    pub password_hash: String,
    pub totp_secret_enc: Vec<u8>,
    pub must_change_password: bool,
    pub last_totp_step: Option<i64>,
    /// GM-2, as for applicants.
    pub password_tag: Option<Vec<u8>>,
}

const COLUMNS: &str = "id, username, role, password_hash, totp_secret_enc, must_change_password, last_totp_step, password_tag";

pub async fn insert(db: &Db, username: &str, role: &str, password_hash: &str, totp_enc: &[u8], now: i64) -> Result<i64, sqlx::Error> {
    const SQL: &str = "INSERT INTO staff (username, role, password_hash, totp_secret_enc, must_change_password, created_at)
        VALUES ($1, $2, $3, $4, TRUE, $5) RETURNING id";
    Ok(
        db_run!(db, pool => sqlx::query_scalar(SQL).bind(username).bind(role).bind(password_hash).bind(totp_enc).bind(now).fetch_one(pool).await?),
    )
}

pub async fn by_username(db: &Db, username: &str) -> Result<Option<Staff>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM staff WHERE username = $1");
    Ok(db_run!(db, pool => sqlx::query_as(&sql).bind(username).fetch_optional(pool).await?))
}

pub async fn by_id(db: &Db, id: i64) -> Result<Option<Staff>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM staff WHERE id = $1");
    Ok(db_run!(db, pool => sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?))
}

/// Remember the TOTP step just used, refusing a step not newer than the last.
pub async fn use_totp_step(db: &Db, id: i64, step: i64) -> Result<bool, sqlx::Error> {
    const SQL: &str = "UPDATE staff SET last_totp_step = $2 WHERE id = $1 AND (last_totp_step IS NULL OR last_totp_step < $2)";
    let done = db_run!(db, pool => sqlx::query(SQL).bind(id).bind(step).execute(pool).await?.rows_affected());
    Ok(done == 1)
}

pub async fn set_password(db: &Db, id: i64, hash: &str, tag: &[u8]) -> Result<(), sqlx::Error> {
    const SQL: &str = "UPDATE staff SET password_hash = $2, password_tag = $3, must_change_password = FALSE WHERE id = $1";
    db_run!(db, pool => sqlx::query(SQL).bind(id).bind(hash).bind(tag).execute(pool).await?.rows_affected());
    Ok(())
}

/// Tag the hash a staff member was just created with.
pub async fn set_password_tag(db: &Db, id: i64, hash: &str, tag: &[u8]) -> Result<(), sqlx::Error> {
    const SQL: &str = "UPDATE staff SET password_tag = $3 WHERE id = $1 AND password_hash = $2";
    db_run!(db, pool => sqlx::query(SQL).bind(id).bind(hash).bind(tag).execute(pool).await?.rows_affected());
    Ok(())
}

pub async fn insert_session(db: &Db, id_hash: &[u8], staff_id: i64, now: i64, expires_at: i64) -> Result<(), sqlx::Error> {
    const SQL: &str = "INSERT INTO staff_sessions (id_hash, staff_id, created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, $3, $4)";
    db_run!(db, pool => sqlx::query(SQL).bind(id_hash).bind(staff_id).bind(now).bind(expires_at).execute(pool).await?.rows_affected());
    Ok(())
}

#[derive(sqlx::FromRow)]
pub struct StaffSession {
    pub last_seen_at: i64,
    pub expires_at: i64,
    #[sqlx(flatten)]
    pub staff: Staff,
}

pub async fn find_session(db: &Db, id_hash: &[u8]) -> Result<Option<StaffSession>, sqlx::Error> {
    const SQL: &str = "SELECT s.last_seen_at, s.expires_at, t.id, t.username, t.role, t.password_hash, t.totp_secret_enc,
            t.must_change_password, t.last_totp_step, t.password_tag
        FROM staff_sessions s JOIN staff t ON t.id = s.staff_id WHERE s.id_hash = $1";
    Ok(db_run!(db, pool => sqlx::query_as(SQL).bind(id_hash).fetch_optional(pool).await?))
}

pub async fn touch_session(db: &Db, id_hash: &[u8], now: i64) -> Result<(), sqlx::Error> {
    db_run!(db, pool => sqlx::query("UPDATE staff_sessions SET last_seen_at = $2 WHERE id_hash = $1").bind(id_hash).bind(now).execute(pool).await?.rows_affected());
    Ok(())
}

pub async fn delete_other_sessions(db: &Db, staff_id: i64, keep: &[u8]) -> Result<(), sqlx::Error> {
    const SQL: &str = "DELETE FROM staff_sessions WHERE staff_id = $1 AND id_hash <> $2";
    db_run!(db, pool => sqlx::query(SQL).bind(staff_id).bind(keep).execute(pool).await?.rows_affected());
    Ok(())
}

pub async fn delete_session(db: &Db, id_hash: &[u8]) -> Result<(), sqlx::Error> {
    db_run!(db, pool => sqlx::query("DELETE FROM staff_sessions WHERE id_hash = $1").bind(id_hash).execute(pool).await?.rows_affected());
    Ok(())
}

#[derive(sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct AuditRow {
    pub id: i64,
    pub at: i64,
    pub actor_kind: String,
    pub actor_id: Option<i64>,
    pub account_id: Option<i64>,
    pub action: String,
    pub detail: String,
    /// The staff member's username when a staff member acted (joined, not looked up per row).
    pub actor_username: Option<String>,
    /// The applicant's document, sealed, when the entry names an account (live or archived).
    pub doc_type: Option<String>,
    pub doc_number_enc: Option<Vec<u8>>,
}

/// Search the audit log by applicant, by actor and by time, newest first, with who acted and
/// whose account it was in the same query.
pub async fn search_audit(
    db: &Db,
    account_id: Option<i64>,
    actor: Option<(&str, i64)>,
    from: i64,
    to: i64,
    limit: i64,
) -> Result<Vec<AuditRow>, sqlx::Error> {
    const SQL: &str = "SELECT l.id, l.at, l.actor_kind, l.actor_id, l.account_id, l.action, l.detail,
            s.username AS actor_username, a.doc_type, a.doc_number_enc
        FROM audit_log l
        LEFT JOIN staff s ON l.actor_kind = 'staff' AND s.id = l.actor_id
        LEFT JOIN accounts a ON a.id = l.account_id
        WHERE l.at >= $1 AND l.at <= $2
          AND ($3 < 0 OR l.account_id = $3)
          AND ($4 = '' OR (l.actor_kind = $4 AND l.actor_id = $5))
        ORDER BY l.at DESC, l.id DESC LIMIT $6";
    let (kind, actor_id) = actor.unwrap_or(("", -1));
    Ok(db_run!(db, pool => sqlx::query_as(SQL)
        .bind(from)
        .bind(to)
        .bind(account_id.unwrap_or(-1))
        .bind(kind)
        .bind(actor_id)
        .bind(limit)
        .fetch_all(pool)
        .await?))
}
