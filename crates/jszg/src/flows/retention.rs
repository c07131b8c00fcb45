//! Retention (PRIV-1): photos of decided reviews, contact changes and
//! claims are deleted `[privacy] photo_retention_days` after the decision;
//! the decision and the fact that photos existed stay. Expired sessions,
//! codes, captchas and reset links go too, so no table grows without bound.
//! One instance of a cluster sweeps at a time, claimed through the database.

use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;

use crate::app::App;
use crate::error::AppResult;
use crate::store::retention::{self, Cutoffs, EXPIRY_SWEEPS, PHOTO_SWEEPS};

/// Rows per photo batch: each batch is one short transaction.
const PHOTO_BATCH: i64 = 200;
const DAY: i64 = 86_400;

/// What one sweep removed, table by table.
#[derive(Debug, Default, Serialize)]
pub struct SweepReport {
    /// Photo blobs deleted and items marked, per photo table.
    pub photos: Vec<(&'static str, u64, u64)>,
    /// Expired rows deleted, per table.
    pub expired: Vec<(&'static str, u64)>,
}

impl SweepReport {
    pub fn photos_deleted(&self) -> u64 {
        self.photos.iter().map(|(_, blobs, _)| blobs).sum()
    }

    pub fn expired(&self, table: &str) -> u64 {
        self.expired.iter().filter(|(t, _)| *t == table).map(|(_, n)| n).sum()
    }
}

/// Sweep now, whatever other instances do (every statement is idempotent).
/// The background task calls it under the lease; tests call it directly.
pub async fn sweep_now(app: &App) -> AppResult<SweepReport> {
    let now = app.clock.unix();
    let mut report = SweepReport::default();
    let cutoff = now - app.config.privacy.photo_retention_days.max(0) * DAY;
    for sweep in PHOTO_SWEEPS {
        let (mut blobs, mut items) = (0, 0);
        loop {
            let (b, i) = retention::sweep_photos_batch(&app.db, sweep, cutoff, PHOTO_BATCH, now).await?;
            blobs += b;
            items += i;
            if i < PHOTO_BATCH as u64 {
                break;
            }
        }
        report.photos.push((sweep.name, blobs, items));
    }
    let yesterday = app.clock.today().previous_day().unwrap_or(app.clock.today());
    let cutoffs = Cutoffs {
        now,
        idle_before: now - app.config.sessions.idle_secs,
        staff_idle_before: now - crate::flows::staff::SESSION_IDLE,
        oldest_quota_day: jszg_domain::format_date(yesterday),
    };
    for sweep in EXPIRY_SWEEPS {
        report.expired.push((sweep.table, retention::sweep_expired(&app.db, sweep, &cutoffs).await?));
    }
    Ok(report)
}

/// Sweep if no other instance holds the lease; `None` when one does.
pub async fn sweep_if_due(app: &App) -> AppResult<Option<SweepReport>> {
    let now = app.clock.unix();
    // The lease runs a little short of the interval so the next tick, on
    // whichever instance, finds it free.
    let lease = (app.config.privacy.sweep_interval_secs - 5).max(1);
    if !retention::claim_lease(&app.db, now, now + lease).await? {
        return Ok(None);
    }
    sweep_now(app).await.map(Some)
}

/// The background task: every `sweep_interval_secs`, one instance sweeps.
pub async fn run(app: App, mut stop: watch::Receiver<bool>) {
    let every = Duration::from_secs(app.config.privacy.sweep_interval_secs.max(1) as u64);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
        if app.dev {
            if let Err(err) = app.clock.refresh(&app.db).await {
                tracing::warn!(error = %err, "retention sweep: clock refresh failed");
            }
        }
        match sweep_if_due(&app).await {
            Ok(Some(report)) => {
                let expired: u64 = report.expired.iter().map(|(_, n)| n).sum();
                tracing::info!(photos = report.photos_deleted(), expired, "retention sweep");
            }
            Ok(None) => tracing::debug!("retention sweep: another instance holds the lease"),
            Err(err) => tracing::warn!(error = %err, "retention sweep failed"),
        }
    }
}
