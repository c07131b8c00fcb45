//! Calendar dates as the API writes them: `YYYY-MM-DD`, nothing else.
//!
//! Strict on purpose: the old portal silently used today when no day was picked (DOC-3), so a
//! date is accepted only when every part of it was given explicitly.

use time::{Date, Month};

/// Parses `YYYY-MM-DD`: a 4-digit year, a 2-digit month and a 2-digit day, all present, and a
/// date that exists. No surrounding white space, no other separators, no time part.
pub fn parse_date(s: &str) -> Option<Date> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = digits(&b[0..4])?;
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    let month = Month::try_from(u8::try_from(month).ok()?).ok()?;
    let year = i32::try_from(year).ok()?;
    Date::from_calendar_date(year, month, u8::try_from(day).ok()?).ok()
}

fn digits(b: &[u8]) -> Option<u32> {
    b.iter().try_fold(0u32, |acc, &d| d.is_ascii_digit().then(|| acc * 10 + u32::from(d - b'0')))
}

/// Formats as `YYYY-MM-DD` (the inverse of [`parse_date`] for years 0-9999).
pub fn format_date(date: Date) -> String {
    format!("{:04}-{:02}-{:02}", date.year(), u8::from(date.month()), date.day())
}

/// Formats for Chinese messages: `2026年2月14日`.
pub fn format_date_zh(date: Date) -> String {
    format!("{}年{}月{}日", date.year(), u8::from(date.month()), date.day())
}

/// `date` plus `years` calendar years, same month and day; 29 February becomes 28 February in a
/// common year (DOC-3). Saturates at [`Date::MAX`] / [`Date::MIN`] instead of failing.
pub fn add_years(date: Date, years: i32) -> Date {
    let year = date.year().saturating_add(years);
    let day = if date.month() == Month::February && date.day() == 29 && !is_leap(year) { 28 } else { date.day() };
    match Date::from_calendar_date(year, date.month(), day) {
        Ok(d) => d,
        Err(_) if years >= 0 => Date::MAX,
        Err(_) => Date::MIN,
    }
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// `#[serde(with = "jszg_domain::dates::ymd")]` for a `Date` field written as `YYYY-MM-DD`
/// (the `time` crate's own serde format for `Date` is not that without extra features).
pub mod ymd {
    use serde::{de, Deserialize, Deserializer, Serializer};
    use time::Date;

    pub fn serialize<S: Serializer>(date: &Date, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_date(*date))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
        let s = std::borrow::Cow::<str>::deserialize(d)?;
        super::parse_date(&s).ok_or_else(|| de::Error::custom("日期格式应为YYYY-MM-DD（如2026-02-14），且必须是存在的日期"))
    }

    /// The same for `Option<Date>` (`null` ⇄ `None`).
    pub mod option {
        use serde::{Deserialize, Deserializer, Serializer};
        use time::Date;

        pub fn serialize<S: Serializer>(date: &Option<Date>, s: S) -> Result<S::Ok, S::Error> {
            match date {
                Some(d) => super::serialize(d, s),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Date>, D::Error> {
            #[derive(Deserialize)]
            struct Wrap(#[serde(with = "super")] Date);
            Ok(Option::<Wrap>::deserialize(d)?.map(|w| w.0))
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::date;

    #[test]
    fn parses_full_dates_only() {
        assert_eq!(parse_date("2026-02-14"), Some(date!(2026 - 02 - 14)));
        assert_eq!(parse_date("2024-02-29"), Some(date!(2024 - 02 - 29)));
        for bad in [
            "2025-02-29",
            "2026-2-14",
            "2026-02",
            "26-02-14",
            "2026-13-01",
            "2026-00-10",
            "2026-01-00",
            " 2026-02-14",
            "2026/02/14",
            "2026-02-14T00:00",
            "２０２６-02-14",
            "+026-02-14",
            "",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn formats() {
        assert_eq!(format_date(date!(0987 - 03 - 04)), "0987-03-04");
        assert_eq!(format_date_zh(date!(2026 - 02 - 04)), "2026年2月4日");
    }

    #[test]
    fn add_years_handles_leap_day_and_overflow() {
        assert_eq!(add_years(date!(2024 - 02 - 29), 5), date!(2029 - 02 - 28));
        assert_eq!(add_years(date!(2024 - 02 - 29), 4), date!(2028 - 02 - 29));
        assert_eq!(add_years(date!(2021 - 03 - 01), 10), date!(2031 - 03 - 01));
        assert_eq!(add_years(date!(9998 - 01 - 01), 20), Date::MAX);
    }

    #[test]
    fn serde_helpers() {
        #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
        struct T {
            #[serde(with = "ymd")]
            a: Date,
            #[serde(with = "ymd::option")]
            b: Option<Date>,
        }
        let t = T { a: date!(2026 - 02 - 14), b: None };
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, r#"{"a":"2026-02-14","b":null}"#);
        assert_eq!(serde_json::from_str::<T>(&json).unwrap(), t);
        let t2: T = serde_json::from_str(r#"{"a":"2026-02-14","b":"2024-02-29"}"#).unwrap();
        assert_eq!(t2.b, Some(date!(2024 - 02 - 29)));
        assert!(serde_json::from_str::<T>(r#"{"a":"2026-02-30","b":null}"#).is_err());
    }

    proptest! {
        #[test]
        fn never_panics(s in any::<String>()) {
            let _ = parse_date(&s);
        }

        #[test]
        fn round_trips(days in 1_721_426i32..=5_373_484) {
            let d = Date::from_julian_day(days).unwrap();
            prop_assert_eq!(parse_date(&format_date(d)), Some(d));
        }
    }
}
