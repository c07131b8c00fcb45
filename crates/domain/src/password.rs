//! Passwords (SPEC CRED-3): the policy for a new password, and an unchecked login attempt.
//!
//! Neither type has `Display` or `Serialize`, and their `Debug` is redacted, so a password
//! cannot reach a log or a response by accident.

use std::fmt;
use std::sync::OnceLock;

use serde::Deserialize;
use thiserror::Error;

use crate::doc::DocNumber;

pub const PASSWORD_MIN_CHARS: usize = 8;
pub const PASSWORD_MAX_CHARS: usize = 64;

/// The specials the manual allows: `# % * - _ ! @ $ &`.
pub const PASSWORD_SPECIALS: &str = "#%*-_!@$&";

/// The manual's wording of the rule, appended to the composition errors.
const RULE: &str = "密码设置要求为8位以上数字、字母和特殊字符组合（特殊字符请从“#、%、*、-、_、!、@、$、&”中选取）";

/// Why a new password was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum PasswordError {
    #[error("密码太短，至少需要8位。{RULE}")]
    TooShort,
    #[error("密码太长，最多64位")]
    TooLong,
    #[error("密码只能使用英文字母、数字和特殊字符“#、%、*、-、_、!、@、$、&”，不能包含空格、中文或其他符号（请将输入法切换为英文模式）")]
    InvalidCharacter,
    #[error("密码中至少要有一个字母。{RULE}")]
    MissingLetter,
    #[error("密码中至少要有一个数字。{RULE}")]
    MissingDigit,
    #[error("密码中至少要有一个特殊字符。{RULE}")]
    MissingSpecial,
    #[error("密码不能与证件号码（即登录账号）相同，也不能包含证件号码，请重新设置")]
    SameAsDocNumber,
    #[error("该密码过于常见，很容易被猜中，请换一个不常见的密码")]
    Common,
}

/// A new password that meets the policy. Hash it; never store or show it.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    /// Checks `raw` (taken exactly as typed: no trimming, no folding) against CRED-3 for the
    /// account whose name is `doc_number`.
    pub fn parse(raw: &str, doc_number: &DocNumber) -> Result<Password, PasswordError> {
        // Byte length bounds the character count from above (x1) and below (x4): no need to
        // walk a huge input.
        if raw.len() > PASSWORD_MAX_CHARS * 4 {
            return Err(PasswordError::TooLong);
        }
        let chars = raw.chars().count();
        if chars < PASSWORD_MIN_CHARS {
            return Err(PasswordError::TooShort);
        }
        if chars > PASSWORD_MAX_CHARS {
            return Err(PasswordError::TooLong);
        }
        // Checked before composition: a document number alone never has a special character,
        // and "wrong because it is your account name" is the more useful message.
        if contains_ignore_ascii_case(raw.as_bytes(), doc_number.as_str().as_bytes()) {
            return Err(PasswordError::SameAsDocNumber);
        }
        let (mut letter, mut digit, mut special) = (false, false, false);
        for b in raw.bytes() {
            if b.is_ascii_alphabetic() {
                letter = true;
            } else if b.is_ascii_digit() {
                digit = true;
            } else if PASSWORD_SPECIALS.as_bytes().contains(&b) {
                special = true;
            } else {
                return Err(PasswordError::InvalidCharacter);
            }
        }
        if !letter {
            return Err(PasswordError::MissingLetter);
        }
        if !digit {
            return Err(PasswordError::MissingDigit);
        }
        if !special {
            return Err(PasswordError::MissingSpecial);
        }
        if is_common(raw) {
            return Err(PasswordError::Common);
        }
        Ok(Password(raw.to_owned()))
    }

    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// A password typed at login: no policy (old accounts may have anything), only redaction.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct PasswordAttempt(String);

impl PasswordAttempt {
    pub fn new(secret: String) -> PasswordAttempt {
        PasswordAttempt(secret)
    }

    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordAttempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordAttempt(***)")
    }
}

/// A new password as typed twice, before the policy. CRED-3 forbids the account's own document
/// number, so it becomes a [`Password`] only once the flow knows whose account it is.
#[derive(Clone)]
pub struct PasswordChoice {
    new: String,
    confirm: String,
}

/// Why a [`PasswordChoice`] was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChoiceError {
    Weak(PasswordError),
    /// The confirmation differs from the new password.
    Mismatch,
}

impl PasswordChoice {
    pub fn new(new: String, confirm: String) -> PasswordChoice {
        PasswordChoice { new, confirm }
    }

    /// The policy first, then the confirmation: a weak password is the more useful message.
    pub fn for_account(&self, doc_number: &DocNumber) -> Result<Password, ChoiceError> {
        let password = Password::parse(&self.new, doc_number).map_err(ChoiceError::Weak)?;
        if password.expose_secret() != self.confirm {
            return Err(ChoiceError::Mismatch);
        }
        Ok(password)
    }
}

impl fmt::Debug for PasswordChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordChoice(***)")
    }
}

fn contains_ignore_ascii_case(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w.eq_ignore_ascii_case(needle))
}

/// One password per line, lower case; every entry meets the composition rules, since anything
/// else is refused before the list is consulted.
const COMMON_PASSWORDS: &str = include_str!("common_passwords.txt");

/// The list, lower-cased and sorted once, for binary search.
fn common_list() -> &'static [String] {
    static LIST: OnceLock<Vec<String>> = OnceLock::new();
    LIST.get_or_init(|| {
        let mut v: Vec<String> = COMMON_PASSWORDS.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_ascii_lowercase).collect();
        v.sort_unstable();
        v.dedup();
        v
    })
}

/// Whether `candidate` (ASCII, at most 64 bytes, as checked by the caller) is on the list,
/// ignoring case.
fn is_common(candidate: &str) -> bool {
    let mut buf = [0u8; PASSWORD_MAX_CHARS];
    let Some(dst) = buf.get_mut(..candidate.len()) else {
        return false;
    };
    dst.copy_from_slice(candidate.as_bytes());
    dst.make_ascii_lowercase();
    let lower: &[u8] = dst;
    common_list().binary_search_by(|p| p.as_bytes().cmp(lower)).is_ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::doc::DocType;
    use proptest::prelude::*;

    fn doc() -> DocNumber {
        DocNumber::from_storage(DocType::ResidentId, "11010519491231002X".into())
    }

    #[test]
    fn a_choice_is_checked_for_its_account_then_against_its_confirmation() {
        let choice = |new: &str, confirm: &str| PasswordChoice::new(new.into(), confirm.into()).for_account(&doc()).map(|p| p.expose_secret().to_owned());
        assert_eq!(choice("Kx9#mPq2", "Kx9#mPq2").as_deref(), Ok("Kx9#mPq2"));
        assert_eq!(choice("Kx9#mPq2", "Kx9#mPq3"), Err(ChoiceError::Mismatch));
        assert_eq!(choice("short", "other"), Err(ChoiceError::Weak(PasswordError::TooShort)));
        assert_eq!(choice("a#11010519491231002x", "a#11010519491231002x"), Err(ChoiceError::Weak(PasswordError::SameAsDocNumber)));
        assert_eq!(format!("{:?}", PasswordChoice::new("Kx9#mPq2".into(), "Kx9#mPq2".into())), "PasswordChoice(***)");
    }

    fn check(s: &str) -> Result<(), PasswordError> {
        Password::parse(s, &doc()).map(|_| ())
    }

    #[test]
    fn accepts_good_passwords() {
        for s in ["Jx7#kq2mPz", "t9_w$e4v", "a1#b2%c3*d4-e5&", &"aB3&".repeat(16)] {
            assert_eq!(check(s), Ok(()), "{s}");
        }
        let p = Password::parse("Jx7#kq2mPz", &doc()).unwrap();
        assert_eq!(p.expose_secret(), "Jx7#kq2mPz");
        assert_eq!(format!("{p:?}"), "Password(***)");
    }

    #[test]
    fn refusals() {
        use PasswordError::*;
        assert_eq!(check("a1#b2%c"), Err(TooShort));
        assert_eq!(check(""), Err(TooShort));
        assert_eq!(check(&"aB3&".repeat(16).replacen('a', "aa", 1)), Err(TooLong));
        assert_eq!(check(&"a".repeat(10_000)), Err(TooLong));
        assert_eq!(check("Jx7#kq2m Pz"), Err(InvalidCharacter));
        assert_eq!(check("Jx7#kq2m密码"), Err(InvalidCharacter));
        assert_eq!(check("Jx7#kq2m.Pz"), Err(InvalidCharacter));
        assert_eq!(check("Jx7#kq2m＃Pz"), Err(InvalidCharacter));
        assert_eq!(check("12345678#"), Err(MissingLetter));
        assert_eq!(check("abcdefgh#"), Err(MissingDigit));
        assert_eq!(check("abcd12345"), Err(MissingSpecial));
        assert_eq!(check("11010519491231002X"), Err(SameAsDocNumber));
        assert_eq!(check("11010519491231002x"), Err(SameAsDocNumber));
        assert_eq!(check("id11010519491231002x@"), Err(SameAsDocNumber));
        for s in ["P@ssw0rd", "Passw0rd!", "Abc@1234", "a123456@", "Aa123456!", "qwe123!@#", "P@SSW0RD", "1qaz@WSX"] {
            assert_eq!(check(s), Err(Common), "{s}");
        }
    }

    #[test]
    fn messages_use_the_manual_wording() {
        assert!(PasswordError::MissingSpecial
            .to_string()
            .ends_with("密码设置要求为8位以上数字、字母和特殊字符组合（特殊字符请从“#、%、*、-、_、!、@、$、&”中选取）"));
        assert!(PasswordError::TooShort.to_string().starts_with("密码太短，至少需要8位。"));
        assert!(PasswordError::Common.to_string().contains("常见"));
        assert!(PasswordError::SameAsDocNumber.to_string().contains("证件号码"));
    }

    #[test]
    fn common_list_is_clean() {
        let lines: Vec<&str> = COMMON_PASSWORDS.lines().collect();
        assert!(lines.len() >= 200, "{}", lines.len());
        let mut sorted = lines.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(lines, sorted, "keep common_passwords.txt sorted and unique");
        for l in &lines {
            assert_eq!(*l, l.to_ascii_lowercase(), "lower case: {l}");
            // Entries that fail the composition rules would be dead weight.
            let other = DocNumber::from_storage(DocType::TwPermit, "99999999".into());
            assert_eq!(Password::parse(l, &other).map(|_| ()), Err(PasswordError::Common), "{l}");
        }
        assert_eq!(common_list().len(), lines.len());
    }

    #[test]
    fn attempt_is_redacted_and_transparent() {
        let a: PasswordAttempt = serde_json::from_str("\"any thing 密码\"").unwrap();
        assert_eq!(a.expose_secret(), "any thing 密码");
        assert_eq!(format!("{a:?}"), "PasswordAttempt(***)");
        assert_eq!(PasswordAttempt::new("x".into()).expose_secret(), "x");
    }

    proptest! {
        #[test]
        fn arbitrary_strings_never_panic(s in any::<String>()) {
            if let Ok(p) = Password::parse(&s, &doc()) {
                prop_assert_eq!(p.expose_secret(), s.as_str());
            }
        }

        #[test]
        fn composed_passwords_pass(
            letters in "[a-zA-Z]{1,20}",
            digits in "[0-9]{1,20}",
            specials in "[#%*_!@$&-]{1,20}",
        ) {
            let s = format!("{letters}{digits}{specials}");
            prop_assume!(s.len() >= 8 && s.len() <= 64 && !is_common(&s));
            prop_assert!(check(&s).is_ok(), "{}", s);
        }

        #[test]
        fn common_lookup_ignores_case(i in 0usize..400, mask in any::<u64>()) {
            let list = common_list();
            let p = &list[i % list.len()];
            let mixed: String = p
                .chars()
                .enumerate()
                .map(|(k, c)| if mask >> (k % 64) & 1 == 1 { c.to_ascii_uppercase() } else { c })
                .collect();
            prop_assert!(is_common(&mixed));
        }
    }
}
