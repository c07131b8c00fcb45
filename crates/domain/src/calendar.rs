//! Beijing time, manual-review periods and the working-day calendar (SPEC MR-2, MR-3, CC-3,
//! STAFF-4). Days, periods and deadlines are all counted in Beijing time (API.md).

use std::collections::BTreeMap;

use thiserror::Error;
use time::macros::offset;
use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset, Weekday};

use crate::dates::{format_date, parse_date};

/// China Standard Time, UTC+08:00 all year.
pub const BEIJING: UtcOffset = offset!(+8);

/// The calendar day in Beijing at instant `t`.
pub fn beijing_date(t: OffsetDateTime) -> Date {
    t.checked_to_offset(BEIJING).map_or(t.date(), |b| b.date())
}

/// The first Beijing midnight strictly after `t` (when daily limits reset), with offset +08:00.
pub fn next_beijing_midnight(t: OffsetDateTime) -> OffsetDateTime {
    t.checked_to_offset(BEIJING)
        .and_then(|b| b.date().next_day())
        .map_or_else(|| PrimitiveDateTime::new(Date::MAX, Time::MAX).assume_offset(BEIJING), |d| d.midnight().assume_offset(BEIJING))
}

/// A manual-review period: 1 January-31 August or 1 September-31 December (MR-2).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReviewPeriod {
    year: i32,
    /// 1 or 2.
    half: u8,
}

impl ReviewPeriod {
    pub fn containing(date: Date) -> ReviewPeriod {
        ReviewPeriod { year: date.year(), half: if u8::from(date.month()) <= 8 { 1 } else { 2 } }
    }

    /// Reads back a [`ReviewPeriod::key`].
    pub fn parse_key(key: &str) -> Option<ReviewPeriod> {
        let (year, half) = key.split_once('-')?;
        if year.len() != 4 || !year.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let half = match half {
            "1" => 1,
            "2" => 2,
            _ => return None,
        };
        Some(ReviewPeriod { year: year.parse().ok()?, half })
    }

    pub fn year(&self) -> i32 {
        self.year
    }

    /// 1 for January-August, 2 for September-December.
    pub fn half(&self) -> u8 {
        self.half
    }

    pub fn start(&self) -> Date {
        let month = if self.half == 1 { Month::January } else { Month::September };
        Date::from_calendar_date(self.year, month, 1).unwrap_or(Date::MIN)
    }

    /// Last day of the period (inclusive).
    pub fn end(&self) -> Date {
        let (month, day) = if self.half == 1 { (Month::August, 31) } else { (Month::December, 31) };
        Date::from_calendar_date(self.year, month, day).unwrap_or(Date::MAX)
    }

    pub fn contains(&self, date: Date) -> bool {
        ReviewPeriod::containing(date) == *self
    }

    /// Stable key for storage and counting, e.g. `2026-1`, `2026-2`.
    pub fn key(&self) -> String {
        format!("{:04}-{}", self.year, self.half)
    }
}

/// What the official schedule says about a listed date.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum DayKind {
    /// Public holiday: no work, even on a weekday.
    Holiday,
    /// Adjusted working day (调休): work, even on a weekend.
    Workday,
}

/// A line of a calendar file that could not be read. Shown to operators.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CalendarError {
    #[error("工作日历第{line}行：日期应写成YYYY-MM-DD且必须存在，如 2026-02-16 holiday 春节")]
    BadDate { line: usize },
    #[error("工作日历第{line}行：日期后应写 holiday（放假）或 workday（调休上班）")]
    BadKind { line: usize },
    #[error("工作日历第{line}行：{}已在第{first_line}行列出", format_date(*.date))]
    Duplicate { line: usize, date: Date, first_line: usize },
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    kind: DayKind,
    label: String,
}

/// Working days: Monday-Friday, except listed holidays, plus listed adjusted working days.
///
/// Built from per-year text files operators can edit, one date per line:
///
/// ```text
/// # 春节
/// 2026-02-14 workday 春节调休
/// 2026-02-15 holiday 春节
/// ```
///
/// `#` starts a comment; blank lines are ignored; the label after the kind is optional.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkingCalendar {
    days: BTreeMap<Date, Entry>,
}

const BUILTIN: [&str; 2] = [include_str!("../calendars/2025.txt"), include_str!("../calendars/2026.txt")];

impl WorkingCalendar {
    /// A calendar with no holidays: Monday-Friday are working days.
    pub fn new() -> WorkingCalendar {
        WorkingCalendar::default()
    }

    /// The State Council schedules shipped with the crate (`calendars/2025.txt`, `2026.txt`).
    pub fn builtin() -> WorkingCalendar {
        let mut cal = WorkingCalendar::new();
        for text in BUILTIN {
            // Both files are parsed by a test; a failure here cannot happen at run time.
            let _ = cal.add_year_file(text);
        }
        cal
    }

    /// Reads one calendar file.
    pub fn parse(text: &str) -> Result<WorkingCalendar, CalendarError> {
        let mut cal = WorkingCalendar::new();
        cal.add_year_file(text)?;
        Ok(cal)
    }

    /// Merges one more file. A date listed in it replaces what earlier files said about that
    /// date, so an operator's corrected file overrides the built-in one. A date listed twice in
    /// the same file is an error (likely a typo). On error nothing is changed.
    pub fn add_year_file(&mut self, text: &str) -> Result<(), CalendarError> {
        let mut file: BTreeMap<Date, (usize, Entry)> = BTreeMap::new();
        for (i, raw_line) in text.lines().enumerate() {
            let line = i + 1;
            let content = raw_line.split('#').next().unwrap_or("").trim();
            if content.is_empty() {
                continue;
            }
            let mut parts = content.split_whitespace();
            let date = parts.next().and_then(parse_date).ok_or(CalendarError::BadDate { line })?;
            let kind = match parts.next() {
                Some("holiday" | "休") => DayKind::Holiday,
                Some("workday" | "班") => DayKind::Workday,
                _ => return Err(CalendarError::BadKind { line }),
            };
            let label = parts.collect::<Vec<_>>().join(" ");
            if let Some((first_line, _)) = file.get(&date) {
                return Err(CalendarError::Duplicate { line, date, first_line: *first_line });
            }
            file.insert(date, (line, Entry { kind, label }));
        }
        self.days.extend(file.into_iter().map(|(date, (_, entry))| (date, entry)));
        Ok(())
    }

    /// What the schedule lists for `date`, if anything.
    pub fn listed(&self, date: Date) -> Option<DayKind> {
        self.days.get(&date).map(|e| e.kind)
    }

    /// The label of a listed date (`春节`, `春节调休` …), if it has one.
    pub fn label(&self, date: Date) -> Option<&str> {
        self.days.get(&date).map(|e| e.label.as_str()).filter(|l| !l.is_empty())
    }

    /// Whether any date of `year` is listed: a year without a schedule counts only weekends,
    /// which operators should be warned about.
    pub fn has_year(&self, year: i32) -> bool {
        let (Ok(first), Ok(last)) =
            (Date::from_calendar_date(year, Month::January, 1), Date::from_calendar_date(year, Month::December, 31))
        else {
            return false;
        };
        self.days.range(first..=last).next().is_some()
    }

    pub fn is_working_day(&self, date: Date) -> bool {
        match self.listed(date) {
            Some(DayKind::Holiday) => false,
            Some(DayKind::Workday) => true,
            None => !matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday),
        }
    }

    /// The day on which `n` working days after `from` have passed: the due date of something
    /// submitted on `from` with `n` working days to decide. `from` itself does not count;
    /// `n = 0` gives `from`. Saturates at [`Date::MAX`].
    pub fn add_working_days(&self, from: Date, n: u32) -> Date {
        let last_listed = self.days.keys().next_back().copied();
        let mut date = from;
        let mut left = n;
        while left > 0 {
            if left > 10 && last_listed.is_none_or(|last| date >= last) {
                // Past every listed date, any 7 consecutive days hold exactly 5 working days:
                // jump instead of walking (n may be huge).
                let weeks = (left - 5) / 5;
                match date.checked_add(Duration::weeks(i64::from(weeks))) {
                    Some(d) => date = d,
                    None => return Date::MAX,
                }
                left -= weeks * 5;
                continue;
            }
            date = match date.next_day() {
                Some(d) => d,
                None => return Date::MAX,
            };
            if self.is_working_day(date) {
                left -= 1;
            }
        }
        date
    }

    /// Working days in `(from, to]`; negative when `to` is before `from` (days overdue).
    pub fn working_days_between(&self, from: Date, to: Date) -> i64 {
        let (a, b, sign) = if from <= to { (from, to, 1) } else { (to, from, -1) };
        let mut count = 0i64;
        let mut d = a;
        while d < b {
            d = match d.next_day() {
                Some(next) => next,
                None => break,
            };
            if self.is_working_day(d) {
                count += 1;
            }
        }
        sign * count
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::{date, datetime};

    #[test]
    fn beijing_days() {
        // 16:00 UTC is already midnight in Beijing.
        assert_eq!(beijing_date(datetime!(2026-02-13 15:59:59 UTC)), date!(2026 - 02 - 13));
        assert_eq!(beijing_date(datetime!(2026-02-13 16:00:00 UTC)), date!(2026 - 02 - 14));
        assert_eq!(next_beijing_midnight(datetime!(2026-02-13 15:59:59 UTC)), datetime!(2026-02-14 00:00:00 +8));
        assert_eq!(next_beijing_midnight(datetime!(2026-02-14 00:00:00 +8)), datetime!(2026-02-15 00:00:00 +8));
        assert_eq!(next_beijing_midnight(datetime!(2026-12-31 12:00:00 +8)).offset(), BEIJING);
        let _ = next_beijing_midnight(PrimitiveDateTime::new(Date::MAX, Time::MAX).assume_utc());
        let _ = beijing_date(PrimitiveDateTime::new(Date::MAX, Time::MAX).assume_utc());
    }

    #[test]
    fn review_periods() {
        let p = ReviewPeriod::containing(date!(2026 - 08 - 31));
        assert_eq!(p.key(), "2026-1");
        assert_eq!(p.start(), date!(2026 - 01 - 01));
        assert_eq!(p.end(), date!(2026 - 08 - 31));
        let q = ReviewPeriod::containing(date!(2026 - 09 - 01));
        assert_eq!(q.key(), "2026-2");
        assert_eq!(q.start(), date!(2026 - 09 - 01));
        assert_eq!(q.end(), date!(2026 - 12 - 31));
        assert!(q.contains(date!(2026 - 12 - 31)));
        assert!(!q.contains(date!(2027 - 01 - 01)));
        assert!(p < q);
        assert_eq!(ReviewPeriod::parse_key("2026-2"), Some(q));
        assert_eq!(ReviewPeriod::parse_key("2026-3"), None);
        assert_eq!(ReviewPeriod::parse_key("26-1"), None);
        assert_eq!((q.year(), q.half()), (2026, 2));
    }

    #[test]
    fn builtin_files_parse_and_follow_the_notices() {
        for text in BUILTIN {
            let cal = WorkingCalendar::parse(text).unwrap();
            // Every adjusted working day is a weekend day; otherwise it would be pointless.
            for (d, e) in &cal.days {
                if e.kind == DayKind::Workday {
                    assert!(matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday), "{d}");
                }
            }
        }
        let cal = WorkingCalendar::builtin();
        assert!(cal.has_year(2025) && cal.has_year(2026) && !cal.has_year(2027));
        let count = |kind| cal.days.values().filter(|e| e.kind == kind).count();
        // 2025: 1 + 8 + 3 + 5 + 3 + 8 holidays, 5 调休; 2026: 3 + 9 + 3 + 5 + 3 + 3 + 7, 6 调休.
        assert_eq!(count(DayKind::Holiday), 28 + 33);
        assert_eq!(count(DayKind::Workday), 5 + 6);
        assert_eq!(cal.label(date!(2026 - 02 - 14)), Some("春节调休"));
        assert_eq!(cal.label(date!(2026 - 02 - 13)), None);
        assert_eq!(cal.listed(date!(2025 - 10 - 08)), Some(DayKind::Holiday));
        for d in [
            date!(2025 - 01 - 26),
            date!(2025 - 02 - 08),
            date!(2025 - 04 - 27),
            date!(2025 - 09 - 28),
            date!(2025 - 10 - 11),
            date!(2026 - 01 - 04),
            date!(2026 - 02 - 28),
            date!(2026 - 05 - 09),
            date!(2026 - 09 - 20),
            date!(2026 - 10 - 10),
        ] {
            assert!(cal.is_working_day(d), "{d}");
        }
        for d in [
            date!(2025 - 01 - 01),
            date!(2025 - 02 - 04),
            date!(2025 - 05 - 05),
            date!(2025 - 06 - 02),
            date!(2026 - 02 - 23),
            date!(2026 - 04 - 06),
            date!(2026 - 06 - 19),
            date!(2026 - 09 - 25),
            date!(2026 - 10 - 07),
        ] {
            assert!(!cal.is_working_day(d), "{d}");
        }
    }

    #[test]
    fn due_date_spans_spring_festival_2026() {
        let cal = WorkingCalendar::builtin();
        // Fri 13 Feb: Sat 14 (调休) 1, 15-23 off, 24-27 2..5, Sat 28 (调休) 6, Mon 2 Mar 7.
        assert_eq!(cal.add_working_days(date!(2026 - 02 - 13), 7), date!(2026 - 03 - 02));
        // Without the calendar the same request would be due on 24 Feb.
        assert_eq!(WorkingCalendar::new().add_working_days(date!(2026 - 02 - 13), 7), date!(2026 - 02 - 24));
        assert_eq!(cal.working_days_between(date!(2026 - 02 - 13), date!(2026 - 03 - 02)), 7);
        assert_eq!(cal.working_days_between(date!(2026 - 03 - 02), date!(2026 - 02 - 13)), -7);
    }

    #[test]
    fn adjusted_saturday_counts_as_working_day() {
        let cal = WorkingCalendar::builtin();
        // A contact change submitted on Friday 13 Feb 2026 is due on the 调休 Saturday.
        assert_eq!(cal.add_working_days(date!(2026 - 02 - 13), 1), date!(2026 - 02 - 14));
        // Submitted on that Saturday, the next working day is after the holiday.
        assert_eq!(cal.add_working_days(date!(2026 - 02 - 14), 1), date!(2026 - 02 - 24));
        assert_eq!(cal.add_working_days(date!(2026 - 02 - 14), 0), date!(2026 - 02 - 14));
    }

    #[test]
    fn due_dates_span_national_day() {
        let cal = WorkingCalendar::builtin();
        // 2025: 1-8 Oct off; 9, 10, Sat 11 (调休), 13, 14, 15, 16.
        assert_eq!(cal.add_working_days(date!(2025 - 09 - 30), 7), date!(2025 - 10 - 16));
        // Sun 28 Sep 2025 is a 调休 working day.
        assert_eq!(cal.add_working_days(date!(2025 - 09 - 26), 1), date!(2025 - 09 - 28));
        // 2026: 1-7 Oct off; 8, 9, Sat 10 (调休), 12, 13, 14, 15.
        assert_eq!(cal.add_working_days(date!(2026 - 09 - 30), 7), date!(2026 - 10 - 15));
        // Mid-Autumn 25-27 Sep 2026 and the Sunday 20 Sep 调休.
        assert_eq!(cal.add_working_days(date!(2026 - 09 - 18), 1), date!(2026 - 09 - 20));
        assert_eq!(cal.add_working_days(date!(2026 - 09 - 24), 1), date!(2026 - 09 - 28));
    }

    #[test]
    fn file_format_and_errors() {
        let text = "# test\n\n2027-01-01 holiday 元旦 # trailing\n2027-01-02 班\n2027-01-03 休\n";
        let cal = WorkingCalendar::parse(text).unwrap();
        assert_eq!(cal.label(date!(2027 - 01 - 01)), Some("元旦"));
        assert_eq!(cal.label(date!(2027 - 01 - 02)), None);
        assert!(cal.is_working_day(date!(2027 - 01 - 02)));
        let e = WorkingCalendar::parse("2027-1-1 holiday\n").unwrap_err();
        assert_eq!(e, CalendarError::BadDate { line: 1 });
        assert!(e.to_string().starts_with("工作日历第1行："));
        assert_eq!(WorkingCalendar::parse("\n2027-02-30 holiday\n").unwrap_err(), CalendarError::BadDate { line: 2 });
        assert_eq!(WorkingCalendar::parse("2027-01-01 off\n").unwrap_err(), CalendarError::BadKind { line: 1 });
        assert_eq!(WorkingCalendar::parse("2027-01-01\n").unwrap_err(), CalendarError::BadKind { line: 1 });
        let e = WorkingCalendar::parse("2027-01-01 holiday\n2027-01-01 workday\n").unwrap_err();
        assert_eq!(e, CalendarError::Duplicate { line: 2, date: date!(2027 - 01 - 01), first_line: 1 });
        assert_eq!(e.to_string(), "工作日历第2行：2027-01-01已在第1行列出");
    }

    #[test]
    fn later_files_override_and_errors_change_nothing() {
        let mut cal = WorkingCalendar::builtin();
        let before = cal.clone();
        assert!(cal.add_year_file("2026-12-31 holiday\nbad line\n").is_err());
        assert_eq!(cal, before);
        // An operator corrects a date of the built-in schedule.
        cal.add_year_file("2026-02-23 workday 更正\n").unwrap();
        assert!(cal.is_working_day(date!(2026 - 02 - 23)));
        assert_eq!(cal.label(date!(2026 - 02 - 23)), Some("更正"));
    }

    #[test]
    fn huge_counts_terminate() {
        let cal = WorkingCalendar::builtin();
        assert_eq!(cal.add_working_days(date!(2026 - 01 - 01), u32::MAX), Date::MAX);
        // Beyond the listed years, 5 working days per week.
        let d = cal.add_working_days(date!(2027 - 01 - 04), 500);
        assert_eq!(d, date!(2027 - 01 - 04) + Duration::weeks(100));
        assert_eq!(cal.add_working_days(Date::MAX, 3), Date::MAX);
    }

    proptest! {
        #[test]
        fn arbitrary_files_never_panic(s in any::<String>()) {
            let _ = WorkingCalendar::parse(&s).map(|c| c.is_working_day(date!(2026 - 01 - 01)));
            if let Some(p) = ReviewPeriod::parse_key(&s) {
                prop_assert_eq!(p.key(), s);
            }
        }

        #[test]
        fn review_period_contains_its_days(days in 0i64..20_000) {
            let d = date!(2000 - 01 - 01) + Duration::days(days);
            let p = ReviewPeriod::containing(d);
            prop_assert!(p.start() <= d && d <= p.end());
            prop_assert_eq!(ReviewPeriod::parse_key(&p.key()), Some(p));
        }

        #[test]
        fn due_date_is_a_working_day_n_working_days_later(
            start in 0i64..1200,
            n in 0u32..40,
        ) {
            let cal = WorkingCalendar::builtin();
            let from = date!(2024 - 10 - 01) + Duration::days(start);
            let due = cal.add_working_days(from, n);
            prop_assert_eq!(cal.working_days_between(from, due), i64::from(n));
            if n > 0 {
                prop_assert!(cal.is_working_day(due));
                prop_assert!(due > from);
            }
        }

        #[test]
        fn week_jump_agrees_with_walking(start in 0i64..2000, n in 11u32..200) {
            let cal = WorkingCalendar::builtin();
            let from = date!(2024 - 10 - 01) + Duration::days(start);
            let due = cal.add_working_days(from, n);
            // Walk day by day for comparison.
            let mut d = from;
            let mut left = n;
            while left > 0 {
                d = d.next_day().unwrap();
                if cal.is_working_day(d) { left -= 1; }
            }
            prop_assert_eq!(due, d);
        }
    }
}
