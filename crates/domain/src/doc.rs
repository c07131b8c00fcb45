//! Identity documents: their types and their numbers (SPEC DOC-1, DOC-2).
//!
//! The account name is the normalised document number (DOC-4), so normalisation must be total and
//! deterministic: the same document typed any way an applicant may type it gives the same value.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;
use time::{Date, Month};

use crate::text::{fold_and_trim, Shown};

/// The four kinds of identity document an applicant may register with.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocType {
    /// 居民身份证
    ResidentId,
    /// 港澳居民来往内地通行证
    HkMoPermit,
    /// 五年有效期台湾居民来往大陆通行证
    TwPermit,
    /// 港澳台居民居住证
    HmtResidence,
}

impl DocType {
    pub const ALL: [DocType; 4] = [DocType::ResidentId, DocType::HkMoPermit, DocType::TwPermit, DocType::HmtResidence];

    /// The API code: `resident_id`, `hk_mo_permit`, `tw_permit`, `hmt_residence`.
    pub const fn as_str(&self) -> &'static str {
        match self {
            DocType::ResidentId => "resident_id",
            DocType::HkMoPermit => "hk_mo_permit",
            DocType::TwPermit => "tw_permit",
            DocType::HmtResidence => "hmt_residence",
        }
    }

    /// The name printed in the UI.
    pub const fn label_zh(&self) -> &'static str {
        match self {
            DocType::ResidentId => "居民身份证",
            DocType::HkMoPermit => "港澳居民来往内地通行证",
            DocType::TwPermit => "五年有效期台湾居民来往大陆通行证",
            DocType::HmtResidence => "港澳台居民居住证",
        }
    }

    /// Length in characters of a normalised number of this type.
    pub const fn number_len(&self) -> usize {
        match self {
            DocType::ResidentId | DocType::HmtResidence => 18,
            DocType::HkMoPermit => 9,
            DocType::TwPermit => 8,
        }
    }

    /// Whether the number follows GB 11643 (birth date, sex and check character embedded).
    const fn is_gb11643(&self) -> bool {
        matches!(self, DocType::ResidentId | DocType::HmtResidence)
    }

    fn number_rule_zh(self) -> &'static str {
        match self {
            DocType::ResidentId => "居民身份证号码由17位数字和最后1位校验码（数字或X）组成",
            DocType::HkMoPermit => "港澳居民来往内地通行证号码由字母H或M加8位数字组成",
            DocType::TwPermit => "台湾居民来往大陆通行证号码由8位数字组成",
            DocType::HmtResidence => "港澳台居民居住证号码由17位数字和最后1位校验码（数字或X）组成",
        }
    }
}

impl FromStr for DocType {
    type Err = UnknownDocType;

    /// Accepts exactly the API codes.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DocType::ALL.into_iter().find(|t| t.as_str() == s).ok_or(UnknownDocType)
    }
}

/// A document type code that is not one of the four.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("证件类型不正确，请选择居民身份证、港澳居民来往内地通行证、五年有效期台湾居民来往大陆通行证或港澳台居民居住证")]
pub struct UnknownDocType;

/// Sex as derived from a GB 11643 number or entered on the profile.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    Male,
    Female,
}

impl Sex {
    /// `male` / `female`.
    pub const fn as_str(&self) -> &'static str {
        match self {
            Sex::Male => "male",
            Sex::Female => "female",
        }
    }

    pub const fn label_zh(&self) -> &'static str {
        match self {
            Sex::Male => "男",
            Sex::Female => "女",
        }
    }
}

impl FromStr for Sex {
    type Err = UnknownSex;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "male" => Ok(Sex::Male),
            "female" => Ok(Sex::Female),
            _ => Err(UnknownSex),
        }
    }
}

/// A sex code that is not `male` or `female`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("性别不正确，请选择男或女")]
pub struct UnknownSex;

/// Region of a 港澳台居民居住证, from its number prefix.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Region {
    HongKong,
    Macao,
    Taiwan,
}

impl Region {
    pub const fn label_zh(&self) -> &'static str {
        match self {
            Region::HongKong => "香港",
            Region::Macao => "澳门",
            Region::Taiwan => "台湾",
        }
    }
}

/// Something the parser changed that the applicant should be told about.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum DocNotice {
    /// An 11-character 港澳通行证 number: the trailing 2-digit renewal count was dropped.
    RenewalCountDropped,
    /// A legacy 10-digit 台胞证 number: the trailing 2-digit issue count was dropped.
    IssueCountDropped,
}

impl DocNotice {
    pub const fn message(&self) -> &'static str {
        match self {
            DocNotice::RenewalCountDropped => {
                "港澳居民来往内地通行证号码只需填写9位（H或M及8位数字），您多输入的最后两位换证次数已自动去掉，请核对"
            }
            DocNotice::IssueCountDropped => "台湾居民来往大陆通行证号码只需填写8位数字，您多输入的最后两位签发次数已自动去掉，请核对",
        }
    }
}

/// Why a document number was refused. Every message names the exact problem (DOC-2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum DocNumberError {
    #[error("请填写身份证件号码")]
    Empty,
    #[error("身份证件号码应为{expected}位，您输入了{got}位")]
    WrongLength { expected: usize, got: usize },
    /// `position` is 1-based, counted in characters of the folded input.
    #[error("身份证件号码第{position}位不能是{}：{}", Shown(*.ch), .doc_type.number_rule_zh())]
    InvalidCharacter { ch: char, position: usize, doc_type: DocType },
    #[error("身份证件号码校验位不正确，请逐位核对号码，特别是最后一位")]
    BadCheckDigit,
    #[error("身份证件号码中的出生日期（第7至14位）不存在，请核对")]
    ImpossibleBirthDate,
    #[error("身份证件号码中的出生日期（第7至14位）晚于今天，请核对")]
    FutureBirthDate,
    #[error("{}", prefix_message(*.doc_type))]
    WrongPrefix { doc_type: DocType },
}

fn prefix_message(doc_type: DocType) -> &'static str {
    match doc_type {
        DocType::HkMoPermit => "港澳居民来往内地通行证号码应以字母H（香港居民）或M（澳门居民）开头，后接8位数字",
        DocType::HmtResidence => {
            "港澳台居民居住证号码应以810000（香港）、820000（澳门）或830000（台湾）开头；持居民身份证请选择证件类型“居民身份证”"
        }
        DocType::ResidentId | DocType::TwPermit => "身份证件号码开头不正确，请核对",
    }
}

/// A normalised, checked document number: the account name (DOC-4).
///
/// `Debug` shows only the masked form, so numbers do not end up in logs.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct DocNumber {
    doc_type: DocType,
    value: String,
}

impl fmt::Debug for DocNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DocNumber").field("doc_type", &self.doc_type).field("value", &self.masked()).finish()
    }
}

impl AsRef<str> for DocNumber {
    fn as_ref(&self) -> &str {
        &self.value
    }
}

/// ISO 7064 MOD 11-2 weights of GB 11643.
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARS: [u8; 11] = *b"10X98765432";

/// The GB 11643 check character for 17 ASCII digits, or `None` if `first17` is not that.
pub fn resident_check_char(first17: &str) -> Option<char> {
    let b = first17.as_bytes();
    if b.len() != 17 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(char::from(check_byte(b)))
}

/// `digits` must be 17 ASCII digits.
fn check_byte(digits: &[u8]) -> u8 {
    let sum: u32 = digits.iter().zip(WEIGHTS).map(|(d, w)| u32::from(d.wrapping_sub(b'0')) * w).sum();
    CHECK_CHARS[(sum % 11) as usize]
}

impl DocNumber {
    /// Normalises and checks `raw` as a number of `doc_type` (DOC-1, DOC-2). `today` is the
    /// Beijing date, against which an embedded birth date must not be in the future.
    ///
    /// Any notice (digits dropped from a permit number) is discarded; use
    /// [`DocNumber::parse_with_notice`] where the applicant can be told.
    pub fn parse(doc_type: DocType, raw: &str, today: Date) -> Result<DocNumber, DocNumberError> {
        Self::parse_with_notice(doc_type, raw, today).map(|(n, _)| n)
    }

    /// Like [`DocNumber::parse`], also returning what was changed beyond plain folding.
    pub fn parse_with_notice(doc_type: DocType, raw: &str, today: Date) -> Result<(DocNumber, Option<DocNotice>), DocNumberError> {
        let s = fold_and_trim(raw);
        if s.is_empty() {
            return Err(DocNumberError::Empty);
        }
        let (value, notice) = match doc_type {
            DocType::ResidentId | DocType::HmtResidence => (parse_gb11643(doc_type, &s, today)?, None),
            DocType::HkMoPermit => parse_hk_mo(&s)?,
            DocType::TwPermit => parse_tw(&s)?,
        };
        Ok((DocNumber { doc_type, value }, notice))
    }

    /// Rebuilds a number read back from this system's own database, where only values produced
    /// by [`DocNumber::parse`] are ever written. Performs no check at all: never call it on
    /// anything an applicant, a file or another system supplied.
    pub fn from_storage(doc_type: DocType, normalized: String) -> DocNumber {
        DocNumber { doc_type, value: normalized }
    }

    pub fn as_str(&self) -> &str {
        &self.value
    }

    pub fn doc_type(&self) -> DocType {
        self.doc_type
    }

    /// First 2 + `*****` + last 2 characters, as on the portal's pages (`13*****10`).
    pub fn masked(&self) -> String {
        mask(&self.value, 2, 2)
    }

    /// Birth date embedded in a GB 11643 number (resident ID, residence permit).
    pub fn birth_date(&self) -> Option<Date> {
        if !self.doc_type.is_gb11643() {
            return None;
        }
        birth_date_of(self.value.as_bytes().get(6..14)?).ok()
    }

    /// Sex from the parity of the 17th character of a GB 11643 number (odd = male).
    pub fn sex(&self) -> Option<Sex> {
        if !self.doc_type.is_gb11643() {
            return None;
        }
        let d = *self.value.as_bytes().get(16)?;
        if !d.is_ascii_digit() {
            return None;
        }
        Some(if (d - b'0') % 2 == 1 { Sex::Male } else { Sex::Female })
    }

    /// Region of a 港澳台居民居住证 from its prefix; `None` for other types.
    pub fn region(&self) -> Option<Region> {
        if self.doc_type != DocType::HmtResidence {
            return None;
        }
        match self.value.get(..2)? {
            "81" => Some(Region::HongKong),
            "82" => Some(Region::Macao),
            "83" => Some(Region::Taiwan),
            _ => None,
        }
    }
}

/// `keep_start` + `*****` + `keep_end` characters; a value too short to hide anything is fully
/// masked.
pub(crate) fn mask(value: &str, keep_start: usize, keep_end: usize) -> String {
    let n = value.chars().count();
    if n <= keep_start + keep_end {
        return "*****".to_owned();
    }
    let head: String = value.chars().take(keep_start).collect();
    let tail: String = value.chars().skip(n - keep_end).collect();
    format!("{head}*****{tail}")
}

/// 18-character GB 11643 number: 17 digits and a check character.
fn parse_gb11643(doc_type: DocType, s: &str, today: Date) -> Result<String, DocNumberError> {
    let mut buf = [0u8; 18];
    let mut len = 0usize;
    for (i, c) in s.chars().enumerate() {
        let b = match c {
            '0'..='9' | 'X' => c as u8,
            'x' => b'X',
            _ => return Err(DocNumberError::InvalidCharacter { ch: c, position: i + 1, doc_type }),
        };
        if let Some(slot) = buf.get_mut(i) {
            *slot = b;
        }
        len = i + 1;
    }
    if len != 18 {
        return Err(DocNumberError::WrongLength { expected: 18, got: len });
    }
    if let Some(i) = buf[..17].iter().position(|&b| b == b'X') {
        return Err(DocNumberError::InvalidCharacter { ch: s.chars().nth(i).unwrap_or('X'), position: i + 1, doc_type });
    }
    if doc_type == DocType::HmtResidence && !matches!(&buf[..6], b"810000" | b"820000" | b"830000") {
        return Err(DocNumberError::WrongPrefix { doc_type });
    }
    let birth = birth_date_of(&buf[6..14])?;
    if birth > today {
        return Err(DocNumberError::FutureBirthDate);
    }
    if check_byte(&buf[..17]) != buf[17] {
        return Err(DocNumberError::BadCheckDigit);
    }
    Ok(buf.iter().map(|&b| char::from(b)).collect())
}

/// `YYYYMMDD` as 8 ASCII digits.
fn birth_date_of(b: &[u8]) -> Result<Date, DocNumberError> {
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b.get(r)?.iter().try_fold(0u32, |acc, &d| d.is_ascii_digit().then(|| acc * 10 + u32::from(d - b'0')))
    };
    let parsed = (|| {
        let year = i32::try_from(num(0..4)?).ok()?;
        let month = Month::try_from(u8::try_from(num(4..6)?).ok()?).ok()?;
        let day = u8::try_from(num(6..8)?).ok()?;
        Date::from_calendar_date(year, month, day).ok()
    })();
    parsed.ok_or(DocNumberError::ImpossibleBirthDate)
}

/// `H`/`M` + 8 digits; 11 characters typed means the renewal count came along.
fn parse_hk_mo(s: &str) -> Result<(String, Option<DocNotice>), DocNumberError> {
    const DT: DocType = DocType::HkMoPermit;
    let mut buf = [0u8; 11];
    let mut len = 0usize;
    for (i, c) in s.chars().enumerate() {
        let ok = if i == 0 { c.is_ascii_alphanumeric() } else { c.is_ascii_digit() };
        if !ok {
            return Err(DocNumberError::InvalidCharacter { ch: c, position: i + 1, doc_type: DT });
        }
        if let Some(slot) = buf.get_mut(i) {
            *slot = c.to_ascii_uppercase() as u8;
        }
        len = i + 1;
    }
    if !matches!(buf[0], b'H' | b'M') {
        return Err(DocNumberError::WrongPrefix { doc_type: DT });
    }
    let notice = match len {
        9 => None,
        11 => Some(DocNotice::RenewalCountDropped),
        got => return Err(DocNumberError::WrongLength { expected: 9, got }),
    };
    Ok((buf[..9].iter().map(|&b| char::from(b)).collect(), notice))
}

/// 8 digits; a legacy 10-digit number carries a 2-digit issue count at the end.
fn parse_tw(s: &str) -> Result<(String, Option<DocNotice>), DocNumberError> {
    let mut buf = [0u8; 10];
    let mut len = 0usize;
    for (i, c) in s.chars().enumerate() {
        if !c.is_ascii_digit() {
            return Err(DocNumberError::InvalidCharacter { ch: c, position: i + 1, doc_type: DocType::TwPermit });
        }
        if let Some(slot) = buf.get_mut(i) {
            *slot = c as u8;
        }
        len = i + 1;
    }
    let notice = match len {
        8 => None,
        10 => Some(DocNotice::IssueCountDropped),
        got => return Err(DocNumberError::WrongLength { expected: 8, got }),
    };
    Ok((buf[..8].iter().map(|&b| char::from(b)).collect(), notice))
}

/// The name an account signs in with, as typed at the login, by a business system enrolling an
/// applicant, or in the staff audit search: the number normalised by the first document type
/// whose rules accept it, else trimmed and upper-cased, the form older accounts' names keep.
#[derive(Clone, PartialEq, Eq)]
pub struct LoginName(String);

impl LoginName {
    pub fn read(raw: &str, today: Date) -> LoginName {
        for doc_type in [DocType::ResidentId, DocType::HmtResidence, DocType::HkMoPermit, DocType::TwPermit] {
            if let Ok(doc) = DocNumber::parse(doc_type, raw, today) {
                return LoginName(doc.value);
            }
        }
        LoginName(raw.trim().to_uppercase())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&DocNumber> for LoginName {
    fn from(doc: &DocNumber) -> LoginName {
        LoginName(doc.value.clone())
    }
}

impl fmt::Debug for LoginName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("LoginName").field(&mask(&self.0, 2, 2)).finish()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::date;

    const TODAY: Date = date!(2026 - 03 - 15);

    /// 17 digits + computed check char.
    fn with_check(first17: &str) -> String {
        format!("{first17}{}", resident_check_char(first17).unwrap())
    }

    #[test]
    fn login_names_are_normalised_numbers_or_upper_cased_text() {
        let id = with_check("11010519491231002");
        let typed = format!(" {} ", id.to_lowercase());
        assert_eq!(LoginName::read(&typed, TODAY).as_str(), id);
        assert_eq!(LoginName::read(" legacy-name ", TODAY).as_str(), "LEGACY-NAME");
        let doc = parse(DocType::ResidentId, &id).unwrap();
        assert_eq!(LoginName::from(&doc), LoginName::read(&id, TODAY));
        assert!(!format!("{:?}", LoginName::read(&id, TODAY)).contains(&id[2..16]));
    }

    fn parse(t: DocType, s: &str) -> Result<DocNumber, DocNumberError> {
        DocNumber::parse(t, s, TODAY)
    }

    #[test]
    fn doc_type_codes_round_trip() {
        for t in DocType::ALL {
            assert_eq!(t.as_str().parse::<DocType>(), Ok(t));
            let json = serde_json::to_string(&t).unwrap();
            assert_eq!(json, format!("\"{}\"", t.as_str()));
            assert_eq!(serde_json::from_str::<DocType>(&json).unwrap(), t);
        }
        assert_eq!("passport".parse::<DocType>(), Err(UnknownDocType));
        assert_eq!("Resident_Id".parse::<DocType>(), Err(UnknownDocType));
        assert_eq!(DocType::TwPermit.label_zh(), "五年有效期台湾居民来往大陆通行证");
    }

    #[test]
    fn known_check_chars() {
        // Published GB 11643 examples.
        assert_eq!(resident_check_char("11010519491231002"), Some('X'));
        assert_eq!(resident_check_char("44052418800101001"), Some('4'));
        assert_eq!(resident_check_char("1101051949123100"), None);
        assert_eq!(resident_check_char("1101051949123100X"), None);
        assert_eq!(resident_check_char("１1010519491231002"), None);
    }

    #[test]
    fn resident_id_accepts_and_normalises() {
        let n = parse(DocType::ResidentId, " 11010519491231002x\u{3000}").unwrap();
        assert_eq!(n.as_str(), "11010519491231002X");
        assert_eq!(n.as_ref(), "11010519491231002X");
        assert_eq!(n.doc_type(), DocType::ResidentId);
        assert_eq!(n.birth_date(), Some(date!(1949 - 12 - 31)));
        assert_eq!(n.sex(), Some(Sex::Female));
        assert_eq!(n.region(), None);
        assert_eq!(n.masked(), "11*****2X");
        let full = parse(DocType::ResidentId, "１１０１０５１９４９１２３１００２ｘ").unwrap();
        assert_eq!(full, n);
        let m = parse(DocType::ResidentId, "440524188001010014").unwrap();
        assert_eq!(m.sex(), Some(Sex::Male));
        assert_eq!(m.birth_date(), Some(date!(1880 - 01 - 01)));
    }

    #[test]
    fn debug_is_masked() {
        let n = parse(DocType::ResidentId, "11010519491231002X").unwrap();
        let dbg = format!("{n:?}");
        assert!(dbg.contains("11*****2X"), "{dbg}");
        assert!(!dbg.contains("11010519491231002X"), "{dbg}");
    }

    #[test]
    fn manual_masking_example() {
        // The manual shows 13*****10.
        let n = DocNumber::from_storage(DocType::ResidentId, "130102199001011010".into());
        assert_eq!(n.masked(), "13*****10");
        assert_eq!(DocNumber::from_storage(DocType::TwPermit, "123".into()).masked(), "*****");
    }

    #[test]
    fn resident_id_errors() {
        use DocNumberError::*;
        let t = DocType::ResidentId;
        assert_eq!(parse(t, "  \u{3000}"), Err(Empty));
        let e = parse(t, "11010519491231002").unwrap_err();
        assert_eq!(e, WrongLength { expected: 18, got: 17 });
        assert_eq!(e.to_string(), "身份证件号码应为18位，您输入了17位");
        assert_eq!(parse(t, "11010519491231002X1"), Err(WrongLength { expected: 18, got: 19 }));
        let e = parse(t, "1101051949 1231002X").unwrap_err();
        assert_eq!(e, InvalidCharacter { ch: ' ', position: 11, doc_type: t });
        assert!(e.to_string().starts_with("身份证件号码第11位不能是空格："), "{e}");
        let e = parse(t, "11010519491231002Y").unwrap_err();
        assert_eq!(e.to_string(), "身份证件号码第18位不能是「Y」：居民身份证号码由17位数字和最后1位校验码（数字或X）组成");
        // X is only valid as the check character.
        assert_eq!(parse(t, "1101051949123100X2"), Err(InvalidCharacter { ch: 'X', position: 17, doc_type: t }));
        let e = parse(t, "110105194912310021").unwrap_err();
        assert_eq!(e, BadCheckDigit);
        assert_eq!(e.to_string(), "身份证件号码校验位不正确，请逐位核对号码，特别是最后一位");
        let e = parse(t, &with_check("11010519490230002")).unwrap_err();
        assert_eq!(e, ImpossibleBirthDate);
        assert!(e.to_string().contains("出生日期"), "{e}");
        assert_eq!(parse(t, &with_check("11010520251301002")), Err(ImpossibleBirthDate));
        assert_eq!(parse(t, &with_check("11010520260316002")), Err(FutureBirthDate));
        // Born today is fine.
        assert!(parse(t, &with_check("11010520260315002")).is_ok());
        // Leap day only in leap years.
        assert!(parse(t, &with_check("11010520000229002")).is_ok());
        assert_eq!(parse(t, &with_check("11010519000229002")), Err(ImpossibleBirthDate));
    }

    #[test]
    fn hk_mo_permit() {
        use DocNumberError::*;
        let t = DocType::HkMoPermit;
        let (n, notice) = DocNumber::parse_with_notice(t, "h12345678", TODAY).unwrap();
        assert_eq!((n.as_str(), notice), ("H12345678", None));
        assert_eq!(n.birth_date(), None);
        assert_eq!(n.sex(), None);
        assert_eq!(n.masked(), "H1*****78");
        let (n, notice) = DocNumber::parse_with_notice(t, "Ｍ1234567801", TODAY).unwrap();
        assert_eq!(n.as_str(), "M12345678");
        assert_eq!(notice, Some(DocNotice::RenewalCountDropped));
        assert!(notice.unwrap().message().contains("换证次数"));
        let e = parse(t, "A12345678").unwrap_err();
        assert_eq!(e, WrongPrefix { doc_type: t });
        assert!(e.to_string().contains("H（香港居民）或M（澳门居民）"), "{e}");
        assert_eq!(parse(t, "12345678"), Err(WrongPrefix { doc_type: t }));
        assert_eq!(parse(t, "H1234567"), Err(WrongLength { expected: 9, got: 8 }));
        assert_eq!(parse(t, "H123456780"), Err(WrongLength { expected: 9, got: 10 }));
        assert_eq!(parse(t, "H1234A678"), Err(InvalidCharacter { ch: 'A', position: 6, doc_type: t }));
        assert_eq!(parse(t, ""), Err(Empty));
    }

    #[test]
    fn tw_permit() {
        use DocNumberError::*;
        let t = DocType::TwPermit;
        let (n, notice) = DocNumber::parse_with_notice(t, "12345678", TODAY).unwrap();
        assert_eq!((n.as_str(), notice), ("12345678", None));
        let (n, notice) = DocNumber::parse_with_notice(t, "1234567801", TODAY).unwrap();
        assert_eq!(n.as_str(), "12345678");
        assert_eq!(notice, Some(DocNotice::IssueCountDropped));
        assert!(notice.unwrap().message().contains("签发次数"));
        assert_eq!(parse(t, "123456789"), Err(WrongLength { expected: 8, got: 9 }));
        let e = parse(t, "T1234567").unwrap_err();
        assert!(e.to_string().contains("8位数字"), "{e}");
        assert_eq!(n.region(), None);
    }

    #[test]
    fn hmt_residence() {
        use DocNumberError::*;
        let t = DocType::HmtResidence;
        for (prefix, region) in [("810000", Region::HongKong), ("820000", Region::Macao), ("830000", Region::Taiwan)] {
            let n = parse(t, &with_check(&format!("{prefix}19900101003"))).unwrap();
            assert_eq!(n.region(), Some(region));
            assert_eq!(n.sex(), Some(Sex::Male));
            assert_eq!(n.birth_date(), Some(date!(1990 - 01 - 01)));
        }
        assert_eq!(Region::Macao.label_zh(), "澳门");
        let e = parse(t, &with_check("11010519900101003")).unwrap_err();
        assert_eq!(e, WrongPrefix { doc_type: t });
        assert!(e.to_string().contains("810000（香港）"), "{e}");
        assert_eq!(parse(t, "81000019900101003"), Err(WrongLength { expected: 18, got: 17 }));
        let good = with_check("81000019900101003");
        let bad_check = format!("{}{}", &good[..17], if good.ends_with('0') { '1' } else { '0' });
        assert_eq!(parse(t, &bad_check), Err(BadCheckDigit));
    }

    #[test]
    fn sex_and_region_serde() {
        assert_eq!(serde_json::to_string(&Sex::Male).unwrap(), "\"male\"");
        assert_eq!("female".parse::<Sex>(), Ok(Sex::Female));
        assert_eq!("f".parse::<Sex>(), Err(UnknownSex));
        assert_eq!(Sex::Female.label_zh(), "女");
        assert_eq!(serde_json::to_string(&Region::HongKong).unwrap(), "\"hong_kong\"");
    }

    fn full_width(s: &str) -> String {
        s.chars().map(|c| if c.is_ascii_graphic() { char::from_u32(c as u32 + 0xFEE0).unwrap() } else { c }).collect()
    }

    prop_compose! {
        /// A valid resident ID born between 1900-01-01 and TODAY.
        fn resident_id()(
            region in 110000u32..=659999,
            days in 0i64..=(TODAY - date!(1900 - 01 - 01)).whole_days(),
            seq in 0u32..=999,
        ) -> String {
            let birth = date!(1900 - 01 - 01) + time::Duration::days(days);
            let first17 = format!(
                "{region:06}{:04}{:02}{:02}{seq:03}",
                birth.year(),
                u8::from(birth.month()),
                birth.day()
            );
            with_check(&first17)
        }
    }

    proptest! {
        #[test]
        fn every_generated_resident_id_parses(id in resident_id()) {
            let n = parse(DocType::ResidentId, &id).unwrap();
            prop_assert_eq!(n.as_str(), id.as_str());
            prop_assert!(n.birth_date().unwrap() <= TODAY);
            let lower = parse(DocType::ResidentId, &id.to_lowercase()).unwrap();
            prop_assert_eq!(lower, n);
        }

        #[test]
        fn any_single_digit_change_is_caught(
            id in resident_id(),
            pos in 0usize..18,
            delta in 1u8..10,
        ) {
            let mut b = id.clone().into_bytes();
            // A different digit: shift the old one (an X check char becomes any digit).
            let new = match b[pos] {
                b'X' => b'0' + delta,
                old => b'0' + (old - b'0' + delta) % 10,
            };
            b[pos] = new;
            let changed = String::from_utf8(b).unwrap();
            let err = parse(DocType::ResidentId, &changed).unwrap_err();
            prop_assert!(
                matches!(
                    err,
                    DocNumberError::BadCheckDigit
                        | DocNumberError::ImpossibleBirthDate
                        | DocNumberError::FutureBirthDate
                ),
                "{} -> {:?}", changed, err
            );
        }

        #[test]
        fn full_width_input_parses_to_same_value(id in resident_id(), pad in "[ \u{3000}\t]{0,3}") {
            let a = parse(DocType::ResidentId, &id).unwrap();
            let b = parse(DocType::ResidentId, &format!("{pad}{}{pad}", full_width(&id))).unwrap();
            prop_assert_eq!(a, b);
        }

        #[test]
        fn full_width_permits_parse_to_same_value(
            letter in "[HMhm]",
            digits in "[0-9]{8}",
            extra in "([0-9]{2})?",
        ) {
            let hk = format!("{letter}{digits}{extra}");
            let a = parse(DocType::HkMoPermit, &hk).unwrap();
            let b = parse(DocType::HkMoPermit, &full_width(&hk)).unwrap();
            prop_assert_eq!(&a, &b);
            prop_assert_eq!(a.as_str(), format!("{}{digits}", letter.to_uppercase()));
            let tw = format!("{digits}{extra}");
            let a = parse(DocType::TwPermit, &tw).unwrap();
            let b = parse(DocType::TwPermit, &full_width(&tw)).unwrap();
            prop_assert_eq!(a.as_str(), digits.as_str());
            prop_assert_eq!(a, b);
        }

        #[test]
        fn arbitrary_strings_never_panic(s in any::<String>(), t in 0usize..4) {
            let dt = DocType::ALL[t];
            if let Ok((n, _)) = DocNumber::parse_with_notice(dt, &s, TODAY) {
                prop_assert_eq!(n.as_str().len(), dt.number_len());
                let _ = (n.masked(), n.birth_date(), n.sex(), n.region());
            } else if let Err(e) = DocNumber::parse(dt, &s, TODAY) {
                prop_assert!(!e.to_string().is_empty());
            }
        }

        #[test]
        fn code_parsers_never_panic(s in any::<String>()) {
            if let Ok(t) = s.parse::<DocType>() {
                prop_assert_eq!(t.as_str(), s.as_str());
            }
            if let Ok(x) = s.parse::<Sex>() {
                prop_assert_eq!(x.as_str(), s.as_str());
            }
            let _ = resident_check_char(&s);
        }

        #[test]
        fn near_valid_strings_never_panic(s in "[0-9xXhHmM \u{3000}０-９]{0,25}", t in 0usize..4) {
            let _ = DocNumber::parse(DocType::ALL[t], &s, TODAY);
        }

        #[test]
        fn from_storage_accessors_never_panic(s in any::<String>(), t in 0usize..4) {
            let n = DocNumber::from_storage(DocType::ALL[t], s);
            let _ = (n.masked(), n.birth_date(), n.sex(), n.region(), format!("{n:?}"));
        }
    }

    #[test]
    fn huge_input_does_not_panic() {
        let s = "1".repeat(1_000_000);
        assert_eq!(parse(DocType::ResidentId, &s), Err(DocNumberError::WrongLength { expected: 18, got: 1_000_000 }));
        let s = "Ｈ".repeat(100_000);
        assert!(parse(DocType::HkMoPermit, &s).is_err());
    }
}
