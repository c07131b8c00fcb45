//! Personal names as printed on the document (SPEC NAME-1..3).
//!
//! The stored value is what the applicant typed, minus surrounding white space, with full-width
//! Latin letters and spaces folded, every look-alike dot made U+00B7, and the ideographs of the
//! BMP's compatibility block (U+F900–U+FAFF) made the unified ideograph Unicode says they are
//! (NFKC): they came from Korean and Japanese code pages, no Chinese document prints them as
//! distinct characters, and two names that look identical must not differ in the database.
//! Nothing else is touched: the Compatibility Ideographs Supplement (U+2F800…, variants some
//! documents do print) and the twelve unified ideographs inside U+F900–U+FAFF that have no
//! decomposition are stored exactly (NAME-2), and compared in NFC (NAME-3).

use std::borrow::Cow;
use std::hash::{Hash, Hasher};

use serde::{Serialize, Serializer};
use thiserror::Error;
use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};

use crate::doc::DocType;
use crate::text::{trim_edges, Shown};

/// Longest name accepted, in characters (NAME-3).
pub const NAME_MAX_CHARS: usize = 50;

/// The middle dot (间隔号) every look-alike is mapped to.
pub const MIDDLE_DOT: char = '\u{00B7}';

/// Why a name was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum NameError {
    #[error("请填写姓名")]
    Empty,
    #[error("姓名最多50个字，您输入了{got}个")]
    TooLong { got: usize },
    #[error("{}", invalid_char_message(*.ch, *.doc_type))]
    InvalidCharacter { ch: char, doc_type: DocType },
    #[error("间隔号“·”只能用在两个字之间，不能在开头或结尾，也不能连续使用或与空格相邻")]
    MisplacedDot,
    #[error("姓名中的空格只能用来分隔两个单词，且只能有一个空格")]
    MisplacedSpace,
}

fn invalid_char_message(ch: char, doc_type: DocType) -> String {
    if doc_type == DocType::ResidentId {
        if ch.is_ascii_alphabetic() {
            format!("居民身份证上的姓名只能由汉字和间隔号·组成，不能包含字母{}，请填写与证件一致的中文姓名", Shown(ch))
        } else {
            format!("姓名中不能包含数字、空格或除间隔号·以外的符号：{}", Shown(ch))
        }
    } else {
        format!("姓名中只能包含汉字、英文字母、间隔号·和单词之间的一个空格，不能包含{}", Shown(ch))
    }
}

/// CJK Unified Ideographs, all extensions, and both compatibility blocks (NAME-2). Whole block
/// ranges, so characters a later Unicode version assigns in them work without a code change.
pub fn is_cjk_ideograph(c: char) -> bool {
    matches!(c,
        '\u{4E00}'..='\u{9FFF}'       // URO
        | '\u{3400}'..='\u{4DBF}'     // Ext A
        | '\u{20000}'..='\u{2A6DF}'   // Ext B
        | '\u{2A700}'..='\u{2B73F}'   // Ext C
        | '\u{2B740}'..='\u{2B81F}'   // Ext D
        | '\u{2B820}'..='\u{2CEAF}'   // Ext E
        | '\u{2CEB0}'..='\u{2EBEF}'   // Ext F
        | '\u{2EBF0}'..='\u{2EE5F}'   // Ext I
        | '\u{30000}'..='\u{3134F}'   // Ext G
        | '\u{31350}'..='\u{323AF}'   // Ext H
        | '\u{323B0}'..='\u{3347F}'   // Ext J (Unicode 17)
        | '\u{F900}'..='\u{FAFF}'     // Compatibility Ideographs
        | '\u{2F800}'..='\u{2FA1F}'   // Compatibility Ideographs Supplement
        | '\u{3007}') // 〇: a Han character (Script=Han) that names do carry
}

/// Dots that are a middle dot wherever they appear.
fn is_dot_lookalike(c: char) -> bool {
    matches!(
        c,
        '\u{00B7}'   // MIDDLE DOT
        | '\u{0387}' // GREEK ANO TELEIA (NFC of it is U+00B7)
        | '\u{2022}' // BULLET
        | '\u{2024}' // ONE DOT LEADER
        | '\u{2027}' // HYPHENATION POINT
        | '\u{2219}' // BULLET OPERATOR
        | '\u{22C5}' // DOT OPERATOR
        | '\u{2E31}' // WORD SEPARATOR MIDDLE DOT
        | '\u{30FB}' // KATAKANA MIDDLE DOT
        | '\u{A78F}' // LATIN LETTER SINOLOGICAL DOT
        | '\u{FF0E}' // FULLWIDTH FULL STOP
        | '\u{FF65}' // HALFWIDTH KATAKANA MIDDLE DOT
    )
}

/// Full stops, which are a middle dot only between two characters (a trailing one is
/// punctuation, refused as such).
fn is_full_stop(c: char) -> bool {
    matches!(c, '.' | '\u{3002}' | '\u{FF61}')
}

/// Per-character folding; `inner` is false for the first and last character.
fn fold(c: char, inner: bool) -> char {
    match c {
        // Full-width Latin letters to ASCII.
        '\u{FF21}'..='\u{FF3A}' | '\u{FF41}'..='\u{FF5A}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        // One character to one: each decomposes to a single unified ideograph, or not at all.
        '\u{F900}'..='\u{FAFF}' => std::iter::once(c).nfkc().next().unwrap_or(c),
        c if is_dot_lookalike(c) => MIDDLE_DOT,
        c if inner && is_full_stop(c) => MIDDLE_DOT,
        c => c,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Letter,
    Dot,
    Space,
}

/// A name as printed on the document.
///
/// Equality and hashing use the NFC form (NAME-3); [`PersonName::as_str`] is the exact stored
/// value.
#[derive(Clone, Debug)]
pub struct PersonName {
    value: String,
}

impl PersonName {
    /// Parses a name for a document of `doc_type`: resident IDs allow CJK ideographs and the
    /// middle dot; the permits also ASCII letters and single spaces between words.
    pub fn parse(doc_type: DocType, raw: &str) -> Result<PersonName, NameError> {
        let s = trim_edges(raw);
        if s.is_empty() {
            return Err(NameError::Empty);
        }
        // Folding is one character to one character, so the count is final.
        let count = s.chars().count();
        if count > NAME_MAX_CHARS {
            return Err(NameError::TooLong { got: count });
        }
        let latin = doc_type != DocType::ResidentId;
        let mut value = String::with_capacity(s.len());
        let mut prev: Option<Class> = None;
        for (i, raw_c) in s.chars().enumerate() {
            let edge = i == 0 || i + 1 == count;
            let c = fold(raw_c, !edge);
            let class = if is_cjk_ideograph(c) || (latin && c.is_ascii_alphabetic()) {
                Class::Letter
            } else if c == MIDDLE_DOT {
                Class::Dot
            } else if latin && c == ' ' {
                Class::Space
            } else {
                return Err(NameError::InvalidCharacter { ch: raw_c, doc_type });
            };
            match class {
                Class::Dot if edge || prev != Some(Class::Letter) => return Err(NameError::MisplacedDot),
                // Spaces never sit at an edge: they were trimmed.
                Class::Space if prev != Some(Class::Letter) => {
                    return Err(if prev == Some(Class::Dot) { NameError::MisplacedDot } else { NameError::MisplacedSpace })
                }
                _ => {}
            }
            prev = Some(class);
            value.push(c);
        }
        Ok(PersonName { value })
    }

    /// Rebuilds a name read back from this system's own database, where only values produced by
    /// [`PersonName::parse`] are written. No check at all: never use it on outside input.
    pub fn from_storage(value: String) -> PersonName {
        PersonName { value }
    }

    pub fn as_str(&self) -> &str {
        &self.value
    }

    /// Length in characters.
    pub fn char_count(&self) -> usize {
        self.value.chars().count()
    }

    /// The NFC form names are compared in (borrowed when already NFC, the common case).
    pub fn nfc(&self) -> Cow<'_, str> {
        match is_nfc_quick(self.value.chars()) {
            IsNormalized::Yes => Cow::Borrowed(&self.value),
            _ => Cow::Owned(self.value.nfc().collect()),
        }
    }

    /// Whether two names are the same name: equal after NFC, exactly otherwise (NAME-3).
    pub fn matches(&self, other: &PersonName) -> bool {
        self.value == other.value || self.value.chars().nfc().eq(other.value.chars().nfc())
    }
}

impl PartialEq for PersonName {
    fn eq(&self, other: &Self) -> bool {
        self.matches(other)
    }
}

impl Eq for PersonName {}

impl Hash for PersonName {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Must agree with `eq`: hash the NFC form.
        for c in self.value.chars().nfc() {
            c.hash(state);
        }
    }
}

impl AsRef<str> for PersonName {
    fn as_ref(&self) -> &str {
        &self.value
    }
}

impl Serialize for PersonName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.value)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

    const RID: DocType = DocType::ResidentId;
    const HK: DocType = DocType::HkMoPermit;

    fn ok(t: DocType, s: &str) -> String {
        PersonName::parse(t, s).unwrap().as_str().to_owned()
    }

    #[test]
    fn plain_names() {
        assert_eq!(ok(RID, "郝京"), "郝京");
        assert_eq!(ok(RID, "\u{3000} 欧阳娜娜 \t"), "欧阳娜娜");
        assert_eq!(ok(RID, "欧阳·娜娜"), "欧阳·娜娜");
        assert_eq!(ok(RID, "买买提.艾力"), "买买提·艾力");
        assert_eq!(ok(RID, "买买提。艾力"), "买买提·艾力");
        assert_eq!(ok(RID, "阿沛•阿旺晋美"), "阿沛·阿旺晋美");
        assert_eq!(ok(RID, "阿沛・阿旺・晋美"), "阿沛·阿旺·晋美");
        assert_eq!(ok(RID, "阿沛．阿旺"), "阿沛·阿旺");
        assert_eq!(PersonName::parse(RID, "欧阳·娜娜").unwrap().char_count(), 5);
    }

    #[test]
    fn rare_characters_are_kept_exactly() {
        // Ext B 𠀀, Ext G 𰀀, the unified 﨎 of the compatibility block and 丽 of the supplement
        // (U+2F800): NFC would change the last one.
        for s in ["王𠀀", "𰀀明", "李\u{FA0E}", "陈\u{2F800}"] {
            assert_eq!(ok(RID, s), s);
        }
        // U+F900 is U+8C48 (hardening round 2): stored alike, so two names that look identical
        // are identical.
        let a = PersonName::parse(RID, "王\u{F900}").unwrap();
        let b = PersonName::parse(RID, "王\u{8C48}").unwrap();
        assert_eq!((a.as_str(), b.as_str()), ("王\u{8C48}", "王\u{8C48}"));
        // Rows stored before that still compare equal, in NFC.
        let old = PersonName::from_storage("王\u{F900}".to_owned());
        assert_eq!(old, b);
        assert!(old.matches(&b));
        assert_eq!(old.nfc(), "王\u{8C48}");
        assert!(matches!(b.nfc(), Cow::Borrowed(_)));
        // The supplement's variants compare equal to their unified forms too, stored as typed.
        let c = PersonName::parse(RID, "陈\u{2F800}").unwrap();
        assert_eq!(c, PersonName::parse(RID, "陈\u{4E3D}").unwrap());
        let a = old;
        let set: HashSet<PersonName> = [a, b].into_iter().collect();
        assert_eq!(set.len(), 1);
        assert_ne!(PersonName::parse(RID, "王明").unwrap(), PersonName::parse(RID, "王鸣").unwrap());
    }

    #[test]
    fn permit_names_allow_latin_and_single_spaces() {
        assert_eq!(ok(HK, "CHAN Tai Man"), "CHAN Tai Man");
        assert_eq!(ok(HK, "ＣＨＡＮ\u{3000}Ｔａｉ"), "CHAN Tai");
        assert_eq!(ok(HK, "陈大文 CHAN"), "陈大文 CHAN");
        assert_eq!(ok(DocType::TwPermit, "J.Smith"), "J·Smith");
        assert_eq!(PersonName::parse(HK, "CHAN  Tai"), Err(NameError::MisplacedSpace));
        assert_eq!(PersonName::parse(HK, "CHAN · Tai"), Err(NameError::MisplacedDot));
        assert_eq!(PersonName::parse(HK, "J. Smith"), Err(NameError::MisplacedDot));
        let e = PersonName::parse(HK, "CHAN-Tai").unwrap_err();
        assert_eq!(e, NameError::InvalidCharacter { ch: '-', doc_type: HK });
        assert_eq!(e.to_string(), "姓名中只能包含汉字、英文字母、间隔号·和单词之间的一个空格，不能包含「-」");
    }

    #[test]
    fn refusals() {
        assert_eq!(PersonName::parse(RID, " \u{3000}"), Err(NameError::Empty));
        assert_eq!(NameError::Empty.to_string(), "请填写姓名");
        let long = "王".repeat(51);
        let e = PersonName::parse(RID, &long).unwrap_err();
        assert_eq!(e, NameError::TooLong { got: 51 });
        assert_eq!(e.to_string(), "姓名最多50个字，您输入了51个");
        // 50 four-byte characters are 200 bytes but 50 characters.
        assert!(PersonName::parse(RID, &"𠀀".repeat(50)).is_ok());
        let e = PersonName::parse(RID, "王3").unwrap_err();
        assert_eq!(e.to_string(), "姓名中不能包含数字、空格或除间隔号·以外的符号：「3」");
        let e = PersonName::parse(RID, "王 明").unwrap_err();
        assert_eq!(e, NameError::InvalidCharacter { ch: ' ', doc_type: RID });
        assert_eq!(e.to_string(), "姓名中不能包含数字、空格或除间隔号·以外的符号：空格");
        let e = PersonName::parse(RID, "王\u{3000}明").unwrap_err();
        assert_eq!(e, NameError::InvalidCharacter { ch: '\u{3000}', doc_type: RID });
        let e = PersonName::parse(RID, "Wang明").unwrap_err();
        assert!(e.to_string().contains("不能包含字母「W」"), "{e}");
        assert!(matches!(PersonName::parse(RID, "王明."), Err(NameError::InvalidCharacter { ch: '.', .. })));
        for s in ["·王明", "王明·", "王··明", "王.·明", "・王", "王明•"] {
            assert_eq!(PersonName::parse(RID, s), Err(NameError::MisplacedDot), "{s}");
        }
        assert!(NameError::MisplacedDot.to_string().contains("两个字之间"));
        let e = PersonName::parse(RID, "王\u{200B}明").unwrap_err();
        assert!(e.to_string().contains("U+200B"), "{e}");
        assert_eq!(PersonName::parse(RID, "王〇").map(|n| n.as_str().to_owned()), Ok("王〇".to_owned()));
    }

    #[test]
    fn huge_input_does_not_panic() {
        let s = "王".repeat(1_000_000);
        assert_eq!(PersonName::parse(RID, &s), Err(NameError::TooLong { got: 1_000_000 }));
    }

    #[test]
    fn serializes_as_string() {
        let n = PersonName::parse(RID, "欧阳·娜娜").unwrap();
        assert_eq!(serde_json::to_string(&n).unwrap(), "\"欧阳·娜娜\"");
        assert_eq!(PersonName::from_storage("欧阳·娜娜".into()), n);
    }

    const DOTS: &[char] =
        &['\u{00B7}', '\u{2022}', '\u{2027}', '\u{30FB}', '\u{FF0E}', '\u{2219}', '\u{22C5}', '\u{FF65}', '.', '\u{3002}'];

    fn cjk() -> impl Strategy<Value = char> {
        prop_oneof![proptest::char::range('\u{4E00}', '\u{9FFF}'), proptest::char::range('\u{3400}', '\u{4DBF}'), ext_b_to_i(),]
    }

    fn ext_b_to_i() -> impl Strategy<Value = char> {
        prop_oneof![
            proptest::char::range('\u{20000}', '\u{2A6DF}'),
            proptest::char::range('\u{2A700}', '\u{2B73F}'),
            proptest::char::range('\u{2B740}', '\u{2B81F}'),
            proptest::char::range('\u{2B820}', '\u{2CEAF}'),
            proptest::char::range('\u{2CEB0}', '\u{2EBEF}'),
            proptest::char::range('\u{2EBF0}', '\u{2EE5F}'),
            proptest::char::range('\u{30000}', '\u{3134F}'),
            proptest::char::range('\u{31350}', '\u{323AF}'),
        ]
    }

    proptest! {
        #[test]
        fn every_lookalike_dot_between_cjk_becomes_middle_dot(
            a in proptest::collection::vec(cjk(), 1..5),
            b in proptest::collection::vec(cjk(), 1..5),
            dot in proptest::sample::select(DOTS),
            t in 0usize..4,
        ) {
            let a: String = a.into_iter().collect();
            let b: String = b.into_iter().collect();
            let n = PersonName::parse(DocType::ALL[t], &format!("{a}{dot}{b}")).unwrap();
            prop_assert_eq!(n.as_str(), format!("{a}\u{00B7}{b}"));
        }

        #[test]
        fn extension_characters_round_trip_byte_exact(
            chars in proptest::collection::vec(ext_b_to_i(), 1..=50),
            t in 0usize..4,
        ) {
            let s: String = chars.into_iter().collect();
            let n = PersonName::parse(DocType::ALL[t], &s).unwrap();
            prop_assert_eq!(n.as_str().as_bytes(), s.as_bytes());
        }

        #[test]
        fn compatibility_ideographs_round_trip(
            chars in proptest::collection::vec(
                prop_oneof![
                    proptest::char::range('\u{F900}', '\u{FAFF}'),
                    proptest::char::range('\u{2F800}', '\u{2FA1F}'),
                ],
                1..10,
            ),
        ) {
            let s: String = chars.into_iter().collect();
            let n = PersonName::parse(RID, &s).unwrap();
            // The supplement exactly; the BMP block as NFKC has it, one character for one.
            let expected: String = s.chars().map(|c| if c < '\u{FB00}' { c.to_string().nfkc().collect() } else { c.to_string() }).collect();
            prop_assert_eq!(n.as_str(), expected.as_str());
            prop_assert_eq!(n.char_count(), s.chars().count());
            prop_assert_eq!(&n, &PersonName::parse(RID, &s).unwrap());
            prop_assert_eq!(&n, &PersonName::from_storage(n.nfc().into_owned()));
        }

        #[test]
        fn full_width_latin_names_parse_to_same_value(s in "[A-Za-z]{1,10}( [A-Za-z]{1,10}){0,2}") {
            let wide: String = s
                .chars()
                .map(|c| if c == ' ' { '\u{3000}' } else { char::from_u32(c as u32 + 0xFEE0).unwrap() })
                .collect();
            let a = PersonName::parse(HK, &s).unwrap();
            let b = PersonName::parse(HK, &wide).unwrap();
            prop_assert_eq!(a.as_str(), b.as_str());
            prop_assert_eq!(a.as_str(), s.as_str());
        }

        #[test]
        fn arbitrary_strings_never_panic(s in any::<String>(), t in 0usize..4) {
            match PersonName::parse(DocType::ALL[t], &s) {
                Ok(n) => {
                    prop_assert!(n.char_count() <= NAME_MAX_CHARS);
                    prop_assert!(!n.as_str().is_empty());
                    let _ = n.nfc();
                }
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
        }

        #[test]
        fn names_from_name_alphabet_never_panic(s in "[王明·.。 A-z\u{3000}・]{0,60}", t in 0usize..4) {
            if let Ok(n) = PersonName::parse(DocType::ALL[t], &s) {
                let v = n.as_str();
                prop_assert!(!v.starts_with(MIDDLE_DOT) && !v.ends_with(MIDDLE_DOT), "{}", v);
                prop_assert!(!v.contains("··") && !v.contains("  "), "{}", v);
            }
        }
    }
}
