//! Captcha challenges and the tokens a passed challenge yields. Both are
//! consumed by a single DELETE, so of two concurrent uses exactly one wins.

use super::Db;
use crate::db_run;

/// A challenge as stored: `answer_x` is 0 for an accessible one, which has no picture.
pub struct NewChallenge<'a> {
    pub id: &'a str,
    pub purpose: &'a str,
    pub mode: &'a str,
    pub answer_x: i64,
    pub pow_difficulty: i64,
    pub expires_at: i64,
}

pub async fn insert_challenge(db: &Db, c: &NewChallenge<'_>) -> Result<(), sqlx::Error> {
    const SQL: &str = "INSERT INTO captcha_challenges (id, purpose, mode, answer_x, pow_difficulty, expires_at) VALUES ($1, $2, $3, $4, $5, $6)";
    db_run!(db, pool => sqlx::query(SQL).bind(c.id).bind(c.purpose).bind(c.mode).bind(c.answer_x).bind(c.pow_difficulty).bind(c.expires_at).execute(pool).await?.rows_affected());
    Ok(())
}

#[derive(sqlx::FromRow)]
pub struct TakenChallenge {
    pub purpose: String,
    pub mode: String,
    pub answer_x: i64,
    pub pow_difficulty: i64,
    pub expires_at: i64,
}

/// Remove the challenge and return it: its first answer spends it.
pub async fn take_challenge(db: &Db, id: &str) -> Result<Option<TakenChallenge>, sqlx::Error> {
    const SQL: &str = "DELETE FROM captcha_challenges WHERE id = $1 RETURNING purpose, mode, answer_x, pow_difficulty, expires_at";
    Ok(db_run!(db, pool => sqlx::query_as(SQL).bind(id).fetch_optional(pool).await?))
}

pub async fn insert_token(db: &Db, token_hash: &[u8], purpose: &str, expires_at: i64) -> Result<(), sqlx::Error> {
    const SQL: &str = "INSERT INTO captcha_tokens (token_hash, purpose, expires_at) VALUES ($1, $2, $3)";
    db_run!(db, pool => sqlx::query(SQL).bind(token_hash).bind(purpose).bind(expires_at).execute(pool).await?.rows_affected());
    Ok(())
}

/// Spend a live token for `purpose`. A token of another purpose is left alone.
pub async fn take_token(db: &Db, token_hash: &[u8], purpose: &str, now: i64) -> Result<bool, sqlx::Error> {
    const SQL: &str = "DELETE FROM captcha_tokens WHERE token_hash = $1 AND purpose = $2 AND expires_at > $3";
    let done = db_run!(db, pool => sqlx::query(SQL).bind(token_hash).bind(purpose).bind(now).execute(pool).await?.rows_affected());
    Ok(done == 1)
}
