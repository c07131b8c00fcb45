//! jszg domain: the identity rules of the teacher-qualification portal as types.
//!
//! Pure: no I/O, no clock. Every parser takes untrusted input (any Unicode, any length) and
//! either returns a checked value or an error whose `Display` is a Chinese message for the
//! applicant; none of them panics.

pub mod calendar;
pub mod contact;
pub mod dates;
pub mod doc;
pub mod ethnicity;
pub mod name;
pub mod password;
mod text;
pub mod validity;

pub use calendar::{beijing_date, next_beijing_midnight, CalendarError, DayKind, ReviewPeriod, WorkingCalendar, BEIJING};
pub use contact::{Email, EmailError, Phone, PhoneError, VerificationCode};
pub use dates::{add_years, format_date, format_date_zh, parse_date};
pub use doc::{resident_check_char, DocNotice, DocNumber, DocNumberError, DocType, LoginName, Region, Sex, UnknownDocType, UnknownSex};
pub use ethnicity::{Ethnicity, EthnicityError};
pub use name::{is_cjk_ideograph, NameError, PersonName, MIDDLE_DOT, NAME_MAX_CHARS};
pub use password::{ChoiceError, Password, PasswordAttempt, PasswordChoice, PasswordError, PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS, PASSWORD_SPECIALS};
pub use validity::{age_on, Period, UnknownPeriod, Validity, ValidityError};
