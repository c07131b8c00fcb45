//! `jszg keys rotate` (PRIV-4, GM-1): reseal every stored value under the
//! current data key, column by column, in batches of one transaction each.
//! Rows are picked by the key id at the head of their envelope, so a run that
//! is killed simply continues where it stopped when started again; afterwards
//! the old keys can leave the key file (start-up refuses while any row still
//! needs one). After a change of suite the current key is the new suite's, so
//! every row is resealed, and its lookup hashes are recomputed in the same
//! update; then the password-hash tags made under the previous index key are
//! made again under the current one (GM-2).

use crate::app::App;
use crate::error::{AppError, AppResult};
use crate::store::password_tags;
use crate::store::sealed::{self, ResealError, SEALED};
use crate::vault::Holder;

/// Rows per batch; photo batches are capped lower.
pub const DEFAULT_BATCH: i64 = 500;
const LARGE_BATCH: i64 = 25;

pub struct Options {
    pub batch: i64,
    /// Stop after this many batches in all (tests: a run "killed" halfway).
    pub stop_after_batches: Option<u64>,
}

impl Default for Options {
    fn default() -> Self {
        Self { batch: DEFAULT_BATCH, stop_after_batches: None }
    }
}

/// How a caller shows progress (the CLI draws an indicatif bar).
pub trait Progress {
    fn column(&mut self, name: &str, stale: u64);
    fn advance(&mut self, rows: u64);
    fn done(&mut self, name: &str, resealed: u64);
}

/// No progress shown.
pub struct Quiet;

impl Progress for Quiet {
    fn column(&mut self, _: &str, _: u64) {}
    fn advance(&mut self, _: u64) {}
    fn done(&mut self, _: &str, _: u64) {}
}

#[derive(Debug, Default)]
pub struct Rotated {
    /// Resealed rows per `table.column`.
    pub counts: Vec<(String, u64)>,
    /// Password hashes whose tag was made again under the current key.
    pub retagged: u64,
    /// Password hashes with no valid tag under either key: left alone (their holders cannot
    /// log in until a reset gives them a new hash); a second look for the operator.
    pub untagged: Vec<(Holder, i64)>,
    /// False when stopped by `stop_after_batches` before the end.
    pub complete: bool,
}

impl Rotated {
    pub fn total(&self) -> u64 {
        self.counts.iter().map(|(_, n)| n).sum()
    }
}

fn reseal_error(err: ResealError) -> AppError {
    match err {
        ResealError::Database(e) => e.into(),
        ResealError::Unopenable { .. } => AppError::internal(err.to_string()),
    }
}

pub async fn rotate(app: &App, options: &Options, progress: &mut dyn Progress) -> AppResult<Rotated> {
    let current = app.vault.current_id();
    let mut out = Rotated::default();
    let mut batches = 0u64;
    for column in SEALED {
        let stale = sealed::count_stale(&app.db, column, current).await?;
        progress.column(&column.name(), stale.max(0) as u64);
        let limit = if column.large { options.batch.min(LARGE_BATCH) } else { options.batch }.max(1);
        let mut after = None;
        let mut resealed = 0;
        loop {
            if options.stop_after_batches.is_some_and(|max| batches >= max) {
                out.counts.push((column.name(), resealed));
                progress.done(&column.name(), resealed);
                return Ok(out);
            }
            let (seen, done) = sealed::reseal_batch(&app.db, &app.vault, column, after.as_deref(), limit).await.map_err(reseal_error)?;
            batches += 1;
            resealed += done;
            progress.advance(seen.len() as u64);
            if (seen.len() as i64) < limit {
                break;
            }
            after = seen.into_iter().last();
        }
        out.counts.push((column.name(), resealed));
        progress.done(&column.name(), resealed);
    }
    for holder in [Holder::Account, Holder::Staff] {
        let mut after = 0;
        loop {
            if options.stop_after_batches.is_some_and(|max| batches >= max) {
                return Ok(out);
            }
            let rows = password_tags::batch(&app.db, holder, after, options.batch.max(1)).await?;
            batches += 1;
            let Some(last) = rows.last() else { break };
            after = last.id;
            let mut tx = app.db.begin().await?;
            for row in &rows {
                match row.tag.as_deref().and_then(|tag| app.vault.password_tag_age(holder, row.id, &row.hash, tag)) {
                    Some(true) => {}
                    Some(false) => {
                        let tag = app.vault.password_tag(holder, row.id, &row.hash);
                        out.retagged += password_tags::set(&mut tx, holder, row.id, &row.hash, &tag).await?;
                    }
                    None => out.untagged.push((holder, row.id)),
                }
            }
            tx.commit().await?;
        }
    }
    out.complete = true;
    Ok(out)
}

/// What `jszg keys status` reports beyond the columns.
#[derive(Debug, Default)]
pub struct TagStatus {
    /// Tags still under the previous index key (`jszg keys rotate` makes them again).
    pub previous: u64,
    /// Hashes with no valid tag at all.
    pub invalid: u64,
}

pub async fn tag_status(app: &App) -> AppResult<TagStatus> {
    let mut out = TagStatus::default();
    for holder in [Holder::Account, Holder::Staff] {
        let mut after = 0;
        loop {
            let rows = password_tags::batch(&app.db, holder, after, 2000).await?;
            let Some(last) = rows.last() else { break };
            after = last.id;
            for row in &rows {
                match row.tag.as_deref().and_then(|tag| app.vault.password_tag_age(holder, row.id, &row.hash, tag)) {
                    Some(true) => {}
                    Some(false) => out.previous += 1,
                    None => out.invalid += 1,
                }
            }
        }
    }
    Ok(out)
}

/// Rows per column still sealed with an older key.
pub async fn stale_counts(app: &App) -> AppResult<Vec<(String, i64)>> {
    let mut out = Vec::new();
    for column in SEALED {
        out.push((column.name(), sealed::count_stale(&app.db, column, app.vault.current_id()).await?));
    }
    Ok(out)
}
