//! Mobile numbers and email addresses (SPEC CRED-1, CRED-2).

use std::fmt;

use serde::{Deserialize, Serialize, Serializer};
use thiserror::Error;

use crate::doc::mask;
use crate::text::{fold_and_trim, Shown};

/// Why a mobile number was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum PhoneError {
    #[error("请输入11位手机号码")]
    Empty,
    #[error("手机号码中不能包含{}，请只输入11位数字", Shown(*.ch))]
    InvalidCharacter { ch: char },
    #[error("请输入中国大陆的11位手机号码（国家代码+86）")]
    NotMainland,
    #[error("手机号码应为11位，您输入了{got}位")]
    WrongLength { got: usize },
    #[error("手机号码应以13至19开头，请核对")]
    WrongPrefix,
}

/// A mainland mobile number, 11 digits `1[3-9]\d{9}`, without country code.
///
/// `Debug` is masked so numbers do not end up in logs.
#[derive(Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct Phone(String);

impl Phone {
    /// NFKC-folds, drops spaces and hyphens, strips a leading `+86`, `86` or `0086`, then
    /// requires `1[3-9]` + 9 digits.
    pub fn parse(raw: &str) -> Result<Phone, PhoneError> {
        let s = fold_and_trim(raw);
        // 15 = "0086" + 11 digits, the longest acceptable digit run.
        let mut buf = [0u8; 15];
        let mut len = 0usize;
        let mut plus = false;
        for c in s.chars() {
            match c {
                c if c.is_whitespace() || c == '-' => {}
                '+' if len == 0 && !plus => plus = true,
                '0'..='9' => {
                    if let Some(slot) = buf.get_mut(len) {
                        *slot = c as u8;
                    }
                    len += 1;
                }
                c => return Err(PhoneError::InvalidCharacter { ch: c }),
            }
        }
        if len == 0 {
            return Err(if plus { PhoneError::NotMainland } else { PhoneError::Empty });
        }
        let digits = &buf[..len.min(buf.len())];
        let national: &[u8] = if plus {
            match digits.strip_prefix(b"86") {
                Some(rest) => rest,
                None => return Err(PhoneError::NotMainland),
            }
        } else if len == 13 && digits.starts_with(b"86") {
            &digits[2..]
        } else if len == 15 && digits.starts_with(b"0086") {
            &digits[4..]
        } else {
            digits
        };
        let got = len - (digits.len() - national.len());
        if got != 11 {
            return Err(PhoneError::WrongLength { got });
        }
        if national[0] != b'1' || !(b'3'..=b'9').contains(&national[1]) {
            return Err(PhoneError::WrongPrefix);
        }
        Ok(Phone(national.iter().map(|&b| char::from(b)).collect()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// First 3 + `*****` + last 2 digits (`158*****11`).
    pub fn masked(&self) -> String {
        mask(&self.0, 3, 2)
    }
}

impl TryFrom<String> for Phone {
    type Error = PhoneError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Phone::parse(&s)
    }
}

impl AsRef<str> for Phone {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Serialize for Phone {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Phone").field(&self.masked()).finish()
    }
}

/// Why an email address was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum EmailError {
    #[error("请填写电子邮箱地址")]
    Empty,
    #[error("邮箱地址太长，最多254个字符")]
    TooLong,
    #[error("邮箱地址缺少“@”，请填写完整的邮箱地址，如 12345678@qq.com")]
    MissingAt,
    #[error("邮箱地址中不能包含{}，请使用英文半角字符（请将输入法切换为英文模式）", Shown(*.ch))]
    InvalidCharacter { ch: char },
    #[error("邮箱地址“@”前的部分格式不正确：不能为空，不能以“.”开头或结尾，也不能有连续的“..”")]
    InvalidLocalPart,
    #[error("邮箱地址“@”前的部分最多64个字符")]
    LocalPartTooLong,
    #[error("邮箱地址“@”后的域名不正确，应类似 qq.com、163.com，请核对")]
    InvalidDomain,
    #[error("QQ邮箱请使用“QQ号码@qq.com”的形式（“@”前为5至11位数字的QQ号码），不能使用自行设置的别名")]
    QqAlias,
}

/// An email address: RFC 5321 dot-atom local part, lower-cased DNS domain (CRED-2).
///
/// The local part keeps its case (RFC 5321 makes it the receiving server's business). `Debug`
/// is masked.
#[derive(Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct Email(String);

/// RFC 5322 `atext`.
fn is_atext(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&b)
}

impl Email {
    pub fn parse(raw: &str) -> Result<Email, EmailError> {
        let s = fold_and_trim(raw);
        if s.is_empty() {
            return Err(EmailError::Empty);
        }
        // Name the first character that can never be in an address before judging structure.
        if let Some(ch) = s.chars().find(|&c| !(c.is_ascii() && (is_atext(c as u8) || c == '.' || c == '@'))) {
            return Err(EmailError::InvalidCharacter { ch });
        }
        if s.len() > 254 {
            return Err(EmailError::TooLong);
        }
        let (local, domain) = s.rsplit_once('@').ok_or(EmailError::MissingAt)?;
        if local.contains('@') {
            return Err(EmailError::InvalidLocalPart);
        }
        if local.len() > 64 {
            return Err(EmailError::LocalPartTooLong);
        }
        if local.is_empty() || local.split('.').any(str::is_empty) {
            return Err(EmailError::InvalidLocalPart);
        }
        let domain = domain.to_ascii_lowercase();
        if !is_dns_domain(&domain) {
            return Err(EmailError::InvalidDomain);
        }
        if domain == "qq.com" && !is_qq_number(local) {
            return Err(EmailError::QqAlias);
        }
        Ok(Email(format!("{local}@{domain}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part after `@`.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, d)| d)
    }

    /// First character + `*****` + `@domain` (`4*****@qq.com`).
    pub fn masked(&self) -> String {
        let first = self.0.chars().next().filter(|&c| c != '@');
        match (first, self.0.rsplit_once('@')) {
            (Some(first), Some((_, domain))) => format!("{first}*****@{domain}"),
            _ => "*****".to_owned(),
        }
    }
}

/// LDH labels of 1-63 characters, not starting or ending with `-`, at least two of them, and a
/// top-level label that is not all digits (no IP addresses).
fn is_dns_domain(d: &str) -> bool {
    if d.len() > 253 {
        return false;
    }
    let mut labels = 0usize;
    let mut last = "";
    for label in d.split('.') {
        let b = label.as_bytes();
        let ok = (1..=63).contains(&b.len())
            && b.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'-')
            && b.first() != Some(&b'-')
            && b.last() != Some(&b'-');
        if !ok {
            return false;
        }
        labels += 1;
        last = label;
    }
    labels >= 2 && !last.bytes().all(|c| c.is_ascii_digit())
}

/// QQ numbers: 5-11 digits, never starting with 0.
fn is_qq_number(local: &str) -> bool {
    let b = local.as_bytes();
    (5..=11).contains(&b.len()) && b[0] != b'0' && b.iter().all(u8::is_ascii_digit)
}

impl TryFrom<String> for Email {
    type Error = EmailError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Email::parse(&s)
    }
}

impl AsRef<str> for Email {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Serialize for Email {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Email").field(&self.masked()).finish()
    }
}

/// A verification code as typed: exactly six ASCII digits after trimming and folding full-width
/// digits (an IME in full-width mode types ０１２３４５).
#[derive(Clone, PartialEq, Eq)]
pub struct VerificationCode(String);

impl VerificationCode {
    pub fn parse(raw: &str) -> Option<VerificationCode> {
        let folded: String = raw
            .trim()
            .chars()
            .map(|c| match c {
                '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
                _ => c,
            })
            .collect();
        (folded.len() == 6 && folded.bytes().all(|b| b.is_ascii_digit())).then_some(VerificationCode(folded))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for VerificationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VerificationCode(***)")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn phone(s: &str) -> Result<String, PhoneError> {
        Phone::parse(s).map(|p| p.as_str().to_owned())
    }

    fn email(s: &str) -> Result<String, EmailError> {
        Email::parse(s).map(|e| e.as_str().to_owned())
    }

    #[test]
    fn verification_codes_are_six_digits_after_folding() {
        let code = |s: &str| VerificationCode::parse(s).map(|c| c.as_str().to_owned());
        assert_eq!(code(" 012345 ").as_deref(), Some("012345"));
        assert_eq!(code("０１２３４５").as_deref(), Some("012345"));
        assert_eq!(code("12345"), None);
        assert_eq!(code("1234567"), None);
        assert_eq!(code("12a456"), None);
        assert_eq!(code("١٢٣٤٥٦"), None);
        assert_eq!(format!("{:?}", VerificationCode::parse("123456")), "Some(VerificationCode(***))");
    }

    #[test]
    fn phones() {
        let ok = Ok("15812345611".to_owned());
        for s in [
            "15812345611",
            " 158 1234 5611 ",
            "158-1234-5611",
            "+86 158 1234 5611",
            "+86-15812345611",
            "8615812345611",
            "008615812345611",
            "１５８１２３４５６１１",
            "＋８６\u{3000}１５８１２３４５６１１",
        ] {
            assert_eq!(phone(s), ok, "{s}");
        }
        let p = Phone::parse("15812345611").unwrap();
        assert_eq!(p.masked(), "158*****11");
        assert_eq!(format!("{p:?}"), "Phone(\"158*****11\")");
        assert_eq!(p.as_ref(), "15812345611");
    }

    #[test]
    fn phone_errors() {
        use PhoneError::*;
        assert_eq!(phone(""), Err(Empty));
        assert_eq!(phone(" - "), Err(Empty));
        assert_eq!(phone("1581234561"), Err(WrongLength { got: 10 }));
        assert_eq!(WrongLength { got: 10 }.to_string(), "手机号码应为11位，您输入了10位");
        assert_eq!(phone("158123456111"), Err(WrongLength { got: 12 }));
        assert_eq!(phone("+8615812345"), Err(WrongLength { got: 8 }));
        assert_eq!(phone("12812345611"), Err(WrongPrefix));
        assert_eq!(phone("25812345611"), Err(WrongPrefix));
        assert_eq!(phone("+85291234567"), Err(NotMainland));
        assert_eq!(phone("+"), Err(NotMainland));
        assert_eq!(phone("158+12345611"), Err(InvalidCharacter { ch: '+' }));
        let e = phone("158o2345611").unwrap_err();
        assert_eq!(e, InvalidCharacter { ch: 'o' });
        assert_eq!(e.to_string(), "手机号码中不能包含「o」，请只输入11位数字");
        // 86 is a country code only when 13 digits were typed.
        assert_eq!(phone("861581234561"), Err(WrongLength { got: 12 }));
    }

    #[test]
    fn emails() {
        assert_eq!(email("12345678@qq.com"), Ok("12345678@qq.com".into()));
        assert_eq!(email(" 12345678＠ＱＱ．ＣＯＭ "), Ok("12345678@qq.com".into()));
        assert_eq!(email("Zhang.San+jszg@Example.EDU.cn"), Ok("Zhang.San+jszg@example.edu.cn".into()));
        assert_eq!(email("a_b-c@mail-1.163.com"), Ok("a_b-c@mail-1.163.com".into()));
        let e = Email::parse("4123456@qq.com").unwrap();
        assert_eq!(e.masked(), "4*****@qq.com");
        assert_eq!(e.domain(), "qq.com");
        assert_eq!(format!("{e:?}"), "Email(\"4*****@qq.com\")");
        assert!(email(&format!("{}@qq.com", "1".repeat(11))).is_ok());
    }

    #[test]
    fn email_errors() {
        use EmailError::*;
        assert_eq!(email(" "), Err(Empty));
        assert_eq!(email("12345678qq.com"), Err(MissingAt));
        assert_eq!(email("a@b@qq.com"), Err(InvalidLocalPart));
        assert_eq!(email("@qq.com"), Err(InvalidLocalPart));
        assert_eq!(email(".a@163.com"), Err(InvalidLocalPart));
        assert_eq!(email("a.@163.com"), Err(InvalidLocalPart));
        assert_eq!(email("a..b@163.com"), Err(InvalidLocalPart));
        assert_eq!(email(&format!("{}@163.com", "a".repeat(65))), Err(LocalPartTooLong));
        assert!(email(&format!("{}@163.com", "a".repeat(64))).is_ok());
        assert_eq!(email(&format!("a@{}.com", "b".repeat(250))), Err(TooLong));
        assert_eq!(email("a@163"), Err(InvalidDomain));
        assert_eq!(email("a@163."), Err(InvalidDomain));
        assert_eq!(email("a@.163.com"), Err(InvalidDomain));
        assert_eq!(email("a@-x.com"), Err(InvalidDomain));
        assert_eq!(email("a@x_y.com"), Err(InvalidDomain));
        assert_eq!(email("a@1.2.3.4"), Err(InvalidDomain));
        assert_eq!(email(&format!("a@{}.com", "b".repeat(64))), Err(InvalidDomain));
        assert_eq!(email("a b@163.com"), Err(InvalidCharacter { ch: ' ' }));
        let e = email("张三@163.com").unwrap_err();
        assert_eq!(e, InvalidCharacter { ch: '张' });
        assert!(e.to_string().contains("「张」"), "{e}");
        assert_eq!(email("a@例子.中国"), Err(InvalidCharacter { ch: '例' }));
        assert_eq!(email("a(b)@163.com"), Err(InvalidCharacter { ch: '(' }));
        let e = email("zhangsan@qq.com").unwrap_err();
        assert_eq!(e, QqAlias);
        assert!(e.to_string().contains("别名"));
        assert_eq!(email("1234@qq.com"), Err(QqAlias));
        assert_eq!(email("012345@qq.com"), Err(QqAlias));
        assert_eq!(email("123456789012@qq.com"), Err(QqAlias));
        assert_eq!(email("12345678@QQ.COM"), Ok("12345678@qq.com".into()));
        assert_eq!(email("ZhangSan@QQ.com"), Err(QqAlias));
    }

    #[test]
    fn huge_input_does_not_panic() {
        let s = "1".repeat(1_000_000);
        assert_eq!(phone(&s), Err(PhoneError::WrongLength { got: 1_000_000 }));
        assert_eq!(email(&s), Err(EmailError::TooLong));
        assert!(email(&"＠".repeat(100_000)).is_err());
    }

    #[test]
    fn serde_round_trip() {
        #[derive(serde::Deserialize, serde::Serialize)]
        struct Form {
            phone: Phone,
            email: Email,
        }
        let f: Form = serde_json::from_str(r#"{"phone":"+86 158-1234-5611","email":"1234567@QQ.com"}"#).unwrap();
        assert_eq!(f.phone.as_str(), "15812345611");
        assert_eq!(serde_json::to_string(&f).unwrap(), r#"{"phone":"15812345611","email":"1234567@qq.com"}"#);
        let e = serde_json::from_str::<Form>(r#"{"phone":"123","email":"1234567@qq.com"}"#).err().unwrap();
        assert!(e.to_string().contains("手机号码应为11位"), "{e}");
    }

    fn full_width(s: &str) -> String {
        s.chars().map(|c| if c.is_ascii_graphic() { char::from_u32(c as u32 + 0xFEE0).unwrap() } else { c }).collect()
    }

    proptest! {
        #[test]
        fn formatted_phones_parse(
            second in 3u8..=9,
            rest in "[0-9]{9}",
            prefix in proptest::sample::select(vec!["", "+86", "86", "+86 ", "0086"]),
            sep in proptest::sample::select(vec!["", " ", "-"]),
        ) {
            let national = format!("1{second}{rest}");
            let typed = format!("{prefix}{}{sep}{}{sep}{}", &national[..3], &national[3..7], &national[7..]);
            prop_assert_eq!(phone(&typed), Ok(national.clone()));
            prop_assert_eq!(phone(&full_width(&typed)), Ok(national));
        }

        #[test]
        fn full_width_emails_parse_to_same_value(
            local in "[a-z0-9_]{1,10}(\\.[a-z0-9_+-]{1,5}){0,2}",
            domain in "[a-z0-9]{1,10}(-[a-z0-9]{1,5})?\\.(com|cn|edu\\.cn)",
        ) {
            prop_assume!(domain != "qq.com");
            let typed = format!("{local}@{domain}");
            let a = email(&typed);
            prop_assert_eq!(&a, &Ok(typed.clone()));
            prop_assert_eq!(email(&full_width(&typed)), a);
        }

        #[test]
        fn arbitrary_strings_never_panic(s in any::<String>()) {
            if let Ok(p) = Phone::parse(&s) {
                prop_assert_eq!(p.as_str().len(), 11);
                let _ = p.masked();
            }
            if let Ok(e) = Email::parse(&s) {
                prop_assert!(e.as_str().len() <= 254);
                let _ = (e.masked(), e.domain());
            }
        }

        #[test]
        fn near_valid_strings_never_panic(s in "[0-9+@.a-zA-Z ＠．-]{0,40}") {
            let _ = Phone::parse(&s).map(|p| p.masked());
            let _ = Email::parse(&s).map(|e| e.masked());
        }
    }
}
