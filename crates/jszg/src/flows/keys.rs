//! `jszg keys rotate` (PRIV-4): reseal every stored value under the current
//! data key, column by column, in batches of one transaction each. Rows are
//! picked by the key id at the head of their envelope, so a run that is
//! killed simply continues where it stopped when started again; afterwards
//! the old keys can leave the key file (start-up refuses while any row still
//! needs one).

use crate::app::App;
use crate::error::{AppError, AppResult};
use crate::store::sealed::{self, ResealError, SEALED};

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
    out.complete = true;
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
