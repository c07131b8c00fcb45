//! The one source of "now". Every time-dependent rule reads it, so the
//! development clock endpoint can move days, periods, expiries and lockouts.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use time::{Date, OffsetDateTime};

use crate::store::{settings, Db};

#[derive(Clone, Debug, Default)]
pub struct Clock {
    /// Seconds added to the system time. Only development mode ever sets it;
    /// it lives in the database so every instance and command agrees.
    offset: Arc<AtomicI64>,
    follows_database: bool,
}

impl Clock {
    pub fn system() -> Self {
        Self::default()
    }

    /// A clock whose offset is read from the database (development mode).
    pub fn development() -> Self {
        Self { offset: Arc::default(), follows_database: true }
    }

    #[allow(clippy::disallowed_methods)]
    pub fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc() + time::Duration::seconds(self.offset.load(Ordering::Relaxed))
    }

    pub fn unix(&self) -> i64 {
        self.now().unix_timestamp()
    }

    /// Today's date in Beijing time: days and periods are counted there.
    pub fn today(&self) -> Date {
        jszg_domain::beijing_date(self.now())
    }

    /// Seconds until the next Beijing midnight, when daily limits reset.
    pub fn secs_to_next_day(&self) -> i64 {
        let now = self.now();
        (jszg_domain::next_beijing_midnight(now) - now).whole_seconds()
    }

    /// The instant today began in Beijing, when today's daily quotas opened.
    pub fn today_starts_at(&self) -> i64 {
        // Beijing keeps no daylight saving: every day is 86,400 s.
        (jszg_domain::next_beijing_midnight(self.now()) - time::Duration::DAY).unix_timestamp()
    }

    /// Pick up an offset another instance may have set.
    pub async fn refresh(&self, db: &Db) -> Result<(), sqlx::Error> {
        if self.follows_database {
            let offset = settings::clock_offset(db).await?;
            self.offset.store(offset, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Move the development clock forward by `seconds` for everyone on this database.
    pub async fn advance(&self, db: &Db, seconds: i64) -> Result<OffsetDateTime, sqlx::Error> {
        let offset = settings::advance_clock(db, seconds).await?;
        self.offset.store(offset, Ordering::Relaxed);
        Ok(self.now())
    }
}

/// A stored Unix instant as a `time` value (the epoch for one out of range, which is never stored).
pub fn instant(unix: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(unix).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// An instant as RFC 3339 (UTC), as the API shows instants.
pub fn rfc3339_at(t: OffsetDateTime) -> String {
    rfc3339(t.unix_timestamp())
}

/// A stored Unix instant as RFC 3339 (UTC).
pub fn rfc3339(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

/// A stored Unix instant as Beijing wall-clock time to the minute (`2026-03-02 14:05`), as
/// messages and pages show it to applicants.
pub fn beijing_minutes(unix: i64) -> String {
    beijing_minutes_at(instant(unix))
}

/// An instant as Beijing wall-clock time to the minute (`2026-03-02 14:05`).
pub fn beijing_minutes_at(t: OffsetDateTime) -> String {
    t.to_offset(jszg_domain::BEIJING).format(time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]")).unwrap_or_default()
}

/// An instant as Beijing wall-clock time to the second, as the list of staff accesses shows it.
pub fn beijing_seconds_at(t: OffsetDateTime) -> String {
    t.to_offset(jszg_domain::BEIJING)
        .format(time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]"))
        .unwrap_or_default()
}
