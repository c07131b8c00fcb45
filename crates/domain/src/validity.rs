//! Validity period of an identity document (SPEC DOC-3): a period and a start date; the end date
//! is always computed, never typed.

use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;
use time::Date;

use crate::dates::{add_years, format_date_zh};
use crate::doc::DocType;

/// 证件有效时间段.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Period {
    #[serde(rename = "5y")]
    Y5,
    #[serde(rename = "10y")]
    Y10,
    #[serde(rename = "20y")]
    Y20,
    /// 长期: no end date.
    #[serde(rename = "long")]
    Long,
}

// Declared here rather than in doc.rs so that documents know nothing of
// validity periods: the dependency points one way, validity → doc.
impl DocType {
    /// Validity periods a document of this type can have (DOC-3).
    pub const fn allowed_periods(&self) -> &'static [Period] {
        match self {
            DocType::ResidentId => &[Period::Y5, Period::Y10, Period::Y20, Period::Long],
            DocType::HkMoPermit => &[Period::Y5, Period::Y10],
            DocType::TwPermit | DocType::HmtResidence => &[Period::Y5],
        }
    }
}

impl Period {
    pub const ALL: [Period; 4] = [Period::Y5, Period::Y10, Period::Y20, Period::Long];

    /// The API code: `5y`, `10y`, `20y`, `long`.
    pub const fn as_str(&self) -> &'static str {
        match self {
            Period::Y5 => "5y",
            Period::Y10 => "10y",
            Period::Y20 => "20y",
            Period::Long => "long",
        }
    }

    pub const fn label_zh(&self) -> &'static str {
        match self {
            Period::Y5 => "5年",
            Period::Y10 => "10年",
            Period::Y20 => "20年",
            Period::Long => "长期",
        }
    }

    /// Length in years; `None` for 长期.
    pub const fn years(&self) -> Option<i32> {
        match self {
            Period::Y5 => Some(5),
            Period::Y10 => Some(10),
            Period::Y20 => Some(20),
            Period::Long => None,
        }
    }

    /// The period a resident ID issued at `age` has (居民身份证法 art. 5).
    pub const fn for_resident_age(age: i32) -> Period {
        match age {
            ..=15 => Period::Y5,
            16..=25 => Period::Y10,
            26..=45 => Period::Y20,
            _ => Period::Long,
        }
    }
}

impl FromStr for Period {
    type Err = UnknownPeriod;

    /// Accepts exactly the API codes.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Period::ALL.into_iter().find(|p| p.as_str() == s).ok_or(UnknownPeriod)
    }
}

/// A period code that is not one of `5y`, `10y`, `20y`, `long`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("证件有效时间段不正确，请选择5年、10年、20年或长期")]
pub struct UnknownPeriod;

/// Why a validity period was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum ValidityError {
    #[error("{}", period_not_allowed_message(*.doc_type, *.period))]
    PeriodNotAllowed { doc_type: DocType, period: Period },
    #[error("证件有效开始日期不能晚于今天，请按证件上印的日期填写")]
    StartInFuture,
    #[error("您的证件已于{}到期，请使用有效期内的证件", format_date_zh(*.end))]
    Expired { end: Date },
}

fn period_not_allowed_message(doc_type: DocType, period: Period) -> String {
    let allowed: Vec<&str> = doc_type.allowed_periods().iter().map(Period::label_zh).collect();
    format!("{}的有效时间段不能选{}，只能选{}，请按证件上的有效期限选择", doc_type.label_zh(), period.label_zh(), allowed.join("或"))
}

/// A checked validity period: allowed for the document type, started, not expired.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Validity {
    doc_type: DocType,
    period: Period,
    start: Date,
    end: Option<Date>,
}

impl Validity {
    /// Checks a period and start date against DOC-3 on the Beijing date `today`.
    pub fn new(doc_type: DocType, period: Period, start: Date, today: Date) -> Result<Validity, ValidityError> {
        if !doc_type.allowed_periods().contains(&period) {
            return Err(ValidityError::PeriodNotAllowed { doc_type, period });
        }
        if start > today {
            return Err(ValidityError::StartInFuture);
        }
        let v = Validity::from_storage(doc_type, period, start);
        match v.end {
            // The end date printed on the document is still a valid day.
            Some(end) if end < today => Err(ValidityError::Expired { end }),
            _ => Ok(v),
        }
    }

    /// Rebuilds a validity read back from this system's own database. No check at all (a stored
    /// document may have expired since): never use it on applicant input.
    pub fn from_storage(doc_type: DocType, period: Period, start: Date) -> Validity {
        Validity { doc_type, period, start, end: period.years().map(|n| add_years(start, n)) }
    }

    pub fn doc_type(&self) -> DocType {
        self.doc_type
    }

    pub fn period(&self) -> Period {
        self.period
    }

    pub fn start(&self) -> Date {
        self.start
    }

    /// Start + N years, same month and day (29 Feb → 28 Feb); `None` for 长期.
    pub fn end(&self) -> Option<Date> {
        self.end
    }

    /// Whether the document has expired by `today` (valid through its end date).
    pub fn is_expired(&self, today: Date) -> bool {
        self.end.is_some_and(|end| end < today)
    }

    /// For a resident ID, the period the holder's age at the start date calls for, when it
    /// differs from the chosen one. A mismatch is a warning to confirm, not a refusal (DOC-3).
    pub fn age_warning(&self, birth_date: Date) -> Option<Period> {
        if self.doc_type != DocType::ResidentId {
            return None;
        }
        let expected = Period::for_resident_age(age_on(birth_date, self.start));
        (expected != self.period).then_some(expected)
    }
}

/// Completed years of age on `on`. Someone born on 29 February turns a year older on 1 March in
/// a common year.
pub fn age_on(birth_date: Date, on: Date) -> i32 {
    let mut age = on.year() - birth_date.year();
    if (u8::from(on.month()), on.day()) < (u8::from(birth_date.month()), birth_date.day()) {
        age -= 1;
    }
    age
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::date;
    use time::Month;

    #[test]
    fn periods_allowed_per_document_type() {
        assert_eq!(DocType::HkMoPermit.allowed_periods(), &[Period::Y5, Period::Y10]);
        assert_eq!(DocType::ResidentId.allowed_periods().len(), 4);
        assert_eq!(DocType::HmtResidence.allowed_periods(), &[Period::Y5]);
        assert_eq!(DocType::TwPermit.allowed_periods(), &[Period::Y5]);
    }

    const TODAY: Date = date!(2026 - 03 - 15);

    #[test]
    fn period_codes() {
        for p in Period::ALL {
            assert_eq!(p.as_str().parse::<Period>(), Ok(p));
            let json = serde_json::to_string(&p).unwrap();
            assert_eq!(json, format!("\"{}\"", p.as_str()));
            assert_eq!(serde_json::from_str::<Period>(&json).unwrap(), p);
        }
        assert_eq!("5Y".parse::<Period>(), Err(UnknownPeriod));
        assert_eq!(Period::Long.label_zh(), "长期");
        assert_eq!(Period::Y20.years(), Some(20));
        assert_eq!(Period::Long.years(), None);
    }

    #[test]
    fn computes_end() {
        let v = Validity::new(DocType::ResidentId, Period::Y10, date!(2020 - 02 - 29), TODAY).unwrap();
        assert_eq!(v.end(), Some(date!(2030 - 02 - 28)));
        assert_eq!(v.period(), Period::Y10);
        assert_eq!(v.start(), date!(2020 - 02 - 29));
        assert_eq!(v.doc_type(), DocType::ResidentId);
        let v = Validity::new(DocType::ResidentId, Period::Long, date!(2001 - 01 - 01), TODAY).unwrap();
        assert_eq!(v.end(), None);
        assert!(!v.is_expired(date!(9999 - 12 - 31)));
    }

    #[test]
    fn errors() {
        let e = Validity::new(DocType::HkMoPermit, Period::Y20, date!(2020 - 01 - 01), TODAY).unwrap_err();
        assert_eq!(e, ValidityError::PeriodNotAllowed { doc_type: DocType::HkMoPermit, period: Period::Y20 });
        assert_eq!(e.to_string(), "港澳居民来往内地通行证的有效时间段不能选20年，只能选5年或10年，请按证件上的有效期限选择");
        for (t, p) in [(DocType::TwPermit, Period::Y10), (DocType::HmtResidence, Period::Long), (DocType::HkMoPermit, Period::Long)] {
            assert!(matches!(Validity::new(t, p, date!(2025 - 01 - 01), TODAY), Err(ValidityError::PeriodNotAllowed { .. })));
        }
        let e = Validity::new(DocType::ResidentId, Period::Y10, date!(2026 - 03 - 16), TODAY).unwrap_err();
        assert_eq!(e, ValidityError::StartInFuture);
        assert!(e.to_string().contains("不能晚于今天"));
        // Starting today is fine.
        assert!(Validity::new(DocType::ResidentId, Period::Y10, TODAY, TODAY).is_ok());
        let e = Validity::new(DocType::TwPermit, Period::Y5, date!(2021 - 03 - 14), TODAY).unwrap_err();
        assert_eq!(e, ValidityError::Expired { end: date!(2026 - 03 - 14) });
        assert_eq!(e.to_string(), "您的证件已于2026年3月14日到期，请使用有效期内的证件");
        // The end date itself is still valid.
        let v = Validity::new(DocType::TwPermit, Period::Y5, date!(2021 - 03 - 15), TODAY).unwrap();
        assert!(!v.is_expired(TODAY));
        assert!(v.is_expired(date!(2026 - 03 - 16)));
    }

    #[test]
    fn age_warning_follows_the_law() {
        let birth = date!(2000 - 06 - 15);
        let check = |p, start| Validity::from_storage(DocType::ResidentId, p, start).age_warning(birth);
        // 15 the day before the 16th birthday, 16 on it.
        assert_eq!(check(Period::Y5, date!(2016 - 06 - 14)), None);
        assert_eq!(check(Period::Y10, date!(2016 - 06 - 14)), Some(Period::Y5));
        assert_eq!(check(Period::Y10, date!(2016 - 06 - 15)), None);
        assert_eq!(check(Period::Y20, date!(2025 - 06 - 14)), Some(Period::Y10));
        assert_eq!(check(Period::Y10, date!(2026 - 06 - 14)), None);
        assert_eq!(check(Period::Y20, date!(2026 - 06 - 15)), None);
        assert_eq!(check(Period::Y20, date!(2046 - 06 - 14)), None);
        assert_eq!(check(Period::Y20, date!(2046 - 06 - 15)), Some(Period::Long));
        let older = date!(1970 - 01 - 01);
        let v = Validity::new(DocType::ResidentId, Period::Y20, date!(2016 - 01 - 01), TODAY).unwrap();
        assert_eq!(v.age_warning(older), Some(Period::Long));
        // Only resident IDs carry the age rule.
        let v = Validity::new(DocType::HkMoPermit, Period::Y10, date!(2020 - 01 - 01), TODAY).unwrap();
        assert_eq!(v.age_warning(date!(2015 - 01 - 01)), None);
        assert_eq!(age_on(date!(2000 - 02 - 29), date!(2016 - 02 - 28)), 15);
        assert_eq!(age_on(date!(2000 - 02 - 29), date!(2016 - 02 - 29)), 16);
        assert_eq!(age_on(date!(2000 - 02 - 29), date!(2017 - 03 - 01)), 17);
    }

    proptest! {
        #[test]
        fn period_parser_round_trips(s in any::<String>()) {
            if let Ok(p) = s.parse::<Period>() {
                prop_assert_eq!(p.as_str(), s.as_str());
            }
        }

        #[test]
        fn end_keeps_month_and_day(
            days in 0i64..40_000,
            p in 0usize..3,
        ) {
            let start = date!(1920 - 01 - 01) + time::Duration::days(days);
            let period = Period::ALL[p];
            let v = Validity::from_storage(DocType::ResidentId, period, start);
            let end = v.end().unwrap();
            prop_assert_eq!(end.year(), start.year() + period.years().unwrap());
            prop_assert_eq!(end.month(), start.month());
            if start.month() == Month::February && start.day() == 29 {
                prop_assert!(end.day() == 29 || end.day() == 28);
                prop_assert_eq!(end.day() == 29, time::util::is_leap_year(end.year()));
            } else {
                prop_assert_eq!(end.day(), start.day());
            }
        }

        #[test]
        fn new_never_panics(s in any::<i32>(), t in any::<i32>(), p in 0usize..4, d in 0usize..4) {
            let start = Date::from_julian_day(s.rem_euclid(5_373_484 + 1_930_999) - 1_930_999);
            let today = Date::from_julian_day(t.rem_euclid(5_373_484 + 1_930_999) - 1_930_999);
            if let (Ok(start), Ok(today)) = (start, today) {
                if let Ok(v) = Validity::new(DocType::ALL[d], Period::ALL[p], start, today) {
                    prop_assert!(!v.is_expired(today));
                    let _ = v.age_warning(start);
                }
            }
        }
    }
}
