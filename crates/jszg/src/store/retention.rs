//! Retention (PRIV-1): deleting photos a configured time after the decision,
//! and rows that have expired. Every statement is idempotent, so two
//! instances sweeping at once do no harm; the lease only saves the work.

use super::Db;
use crate::db_run;

/// Photos held for decided items, one entry per table that holds them. A
/// batch deletes the blobs and marks their items in one transaction, so an
/// item never says "deleted" while its photos remain, nor the reverse.
pub struct PhotoSweep {
    pub name: &'static str,
    /// `$1` = decided at or before (cutoff), `$2` = batch size.
    pub delete_blobs: &'static str,
    /// `$1` = cutoff, `$2` = batch size, `$3` = now.
    pub mark_items: &'static str,
}

/// Both statements pick the same batch (the same query in one transaction,
/// ordered by a unique key); pending items are never candidates.
macro_rules! due_reviews {
    () => {
        "SELECT id FROM reviews WHERE photos_deleted_at IS NULL AND status <> 'pending'
            AND decided_at IS NOT NULL AND decided_at <= $1 ORDER BY decided_at, id LIMIT $2"
    };
}

/// Reviews, contact changes and whatever else queues in `reviews` with
/// photos in `review_photos`. Another table with photos is one more entry.
pub const PHOTO_SWEEPS: &[PhotoSweep] = &[PhotoSweep {
    name: "review_photos",
    delete_blobs: concat!("DELETE FROM review_photos WHERE review_id IN (", due_reviews!(), ")"),
    mark_items: concat!("UPDATE reviews SET photos_deleted_at = $3 WHERE id IN (", due_reviews!(), ")"),
}];

/// What an expiry statement compares with.
#[derive(Clone, Copy)]
pub enum Cutoff {
    /// `$1` = now.
    Now,
    /// `$1` = now, `$2` = last use before which an applicant session is idle.
    NowAndIdle,
    /// `$1` = now, `$2` = the same for staff sessions.
    NowAndStaffIdle,
    /// `$1` = the oldest Beijing day (`YYYY-MM-DD`) whose quota still matters.
    Day,
}

/// Rows that are useless once expired; each is one DELETE.
pub struct ExpirySweep {
    pub table: &'static str,
    pub cutoff: Cutoff,
    pub sql: &'static str,
}

pub const EXPIRY_SWEEPS: &[ExpirySweep] = &[
    ExpirySweep { table: "sessions", cutoff: Cutoff::NowAndIdle, sql: "DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2" },
    ExpirySweep {
        table: "staff_sessions",
        cutoff: Cutoff::NowAndStaffIdle,
        sql: "DELETE FROM staff_sessions WHERE expires_at <= $1 OR last_seen_at <= $2",
    },
    ExpirySweep { table: "verification_codes", cutoff: Cutoff::Now, sql: "DELETE FROM verification_codes WHERE expires_at <= $1" },
    ExpirySweep { table: "send_quotas", cutoff: Cutoff::Day, sql: "DELETE FROM send_quotas WHERE day < $1" },
    // Every counting window is a day or shorter (quotas, throttles); two days leaves a margin.
    ExpirySweep { table: "throttles", cutoff: Cutoff::Now, sql: "DELETE FROM throttles WHERE window_start <= $1 - 172800" },
    ExpirySweep { table: "captcha_challenges", cutoff: Cutoff::Now, sql: "DELETE FROM captcha_challenges WHERE expires_at <= $1" },
    ExpirySweep { table: "captcha_tokens", cutoff: Cutoff::Now, sql: "DELETE FROM captcha_tokens WHERE expires_at <= $1" },
    ExpirySweep { table: "contact_change_cancels", cutoff: Cutoff::Now, sql: "DELETE FROM contact_change_cancels WHERE expires_at <= $1" },
    ExpirySweep { table: "recoveries", cutoff: Cutoff::Now, sql: "DELETE FROM recoveries WHERE expires_at <= $1" },
    ExpirySweep {
        table: "password_resets",
        cutoff: Cutoff::Now,
        sql: "DELETE FROM password_resets WHERE expires_at <= $1 OR used_at IS NOT NULL",
    },
    // The platform stops retrying within a minute; a day is ample.
    ExpirySweep { table: "wechat_deliveries", cutoff: Cutoff::Now, sql: "DELETE FROM wechat_deliveries WHERE received_at <= $1 - 86400" },
    // Only the freshness window (5 minutes) matters; a day is ample.
    ExpirySweep { table: "wechat_nonces", cutoff: Cutoff::Now, sql: "DELETE FROM wechat_nonces WHERE received_at <= $1 - 86400" },
    ExpirySweep { table: "wechat_chats", cutoff: Cutoff::Now, sql: "DELETE FROM wechat_chats WHERE until_at <= $1" },
    ExpirySweep { table: "wechat_scenes", cutoff: Cutoff::Now, sql: "DELETE FROM wechat_scenes WHERE expires_at <= $1" },
    ExpirySweep { table: "wechat_resets", cutoff: Cutoff::Now, sql: "DELETE FROM wechat_resets WHERE expires_at <= $1 OR used_at IS NOT NULL" },
    ExpirySweep { table: "wechat_code_openids", cutoff: Cutoff::Now, sql: "DELETE FROM wechat_code_openids WHERE expires_at <= $1" },
];

/// The values the cutoffs stand for, computed once per sweep.
pub struct Cutoffs {
    pub now: i64,
    pub idle_before: i64,
    pub staff_idle_before: i64,
    pub oldest_quota_day: String,
}

pub async fn sweep_expired(db: &Db, s: &ExpirySweep, c: &Cutoffs) -> Result<u64, sqlx::Error> {
    Ok(db_run!(db, pool => {
        let q = sqlx::query(s.sql);
        let q = match s.cutoff {
            Cutoff::Now => q.bind(c.now),
            Cutoff::NowAndIdle => q.bind(c.now).bind(c.idle_before),
            Cutoff::NowAndStaffIdle => q.bind(c.now).bind(c.staff_idle_before),
            Cutoff::Day => q.bind(c.oldest_quota_day.as_str()),
        };
        q.execute(pool).await?.rows_affected()
    }))
}

/// One batch of a photo sweep: `(blobs deleted, items marked)`.
pub async fn sweep_photos_batch(db: &Db, s: &PhotoSweep, cutoff: i64, batch: i64, now: i64) -> Result<(u64, u64), sqlx::Error> {
    let mut tx = db.begin().await?;
    let (blobs, items) = crate::tx_run!(&mut tx, conn => {
        let blobs = sqlx::query(s.delete_blobs).bind(cutoff).bind(batch).execute(&mut *conn).await?.rows_affected();
        let items = sqlx::query(s.mark_items).bind(cutoff).bind(batch).bind(now).execute(&mut *conn).await?.rows_affected();
        (blobs, items)
    });
    tx.commit().await?;
    Ok((blobs, items))
}

const LEASE: &str = "privacy_sweep_lease_until";

/// Claim the sweep until `until`: true for exactly one caller while a lease
/// is live, whatever the number of instances (one atomic upsert).
pub async fn claim_lease(db: &Db, now: i64, until: i64) -> Result<bool, sqlx::Error> {
    const SQL: &str = "INSERT INTO settings (key, value) VALUES ($1, $2)
        ON CONFLICT (key) DO UPDATE SET value = excluded.value
        WHERE CAST(settings.value AS BIGINT) <= $3
        RETURNING value";
    let claimed: Option<String> =
        db_run!(db, pool => sqlx::query_scalar(SQL).bind(LEASE).bind(until.to_string()).bind(now).fetch_optional(pool).await?);
    Ok(claimed.is_some())
}

/// Row counts of the tables the sweeps keep small (tests and operators).
pub async fn count(db: &Db, table: &str) -> Result<i64, sqlx::Error> {
    // `table` comes from the constant lists above, never from input.
    let sql = format!("SELECT COUNT(*) FROM {table}");
    Ok(db_run!(db, pool => sqlx::query_scalar(&sql).fetch_one(pool).await?))
}
