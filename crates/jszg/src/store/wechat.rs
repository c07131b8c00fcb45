//! The WeChat callback's memory of what it has acted on (WX-1).

use super::Db;
use crate::db_run;

/// Record a message or event; false when it was already recorded (a retry).
pub async fn first_delivery(db: &Db, key_hash: &[u8], now: i64) -> Result<bool, sqlx::Error> {
    const SQL: &str = "INSERT INTO wechat_deliveries (key_hash, received_at) VALUES ($1, $2) ON CONFLICT (key_hash) DO NOTHING";
    let inserted = db_run!(db, pool => sqlx::query(SQL).bind(key_hash).bind(now).execute(pool).await?.rows_affected());
    Ok(inserted == 1)
}
