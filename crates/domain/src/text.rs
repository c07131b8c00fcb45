//! Input clean-up shared by the parsers.

use std::borrow::Cow;
use std::fmt;

use unicode_normalization::UnicodeNormalization;

/// White space plus the zero-width characters that copy-and-paste from web pages and office
/// documents leaves at the ends of a field: the applicant cannot see them, so they are trimmed
/// like spaces rather than reported.
fn is_edge_junk(c: char) -> bool {
    c.is_whitespace() || matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}')
}

/// Removes surrounding white space (including U+3000 and NBSP) and zero-width characters.
pub(crate) fn trim_edges(s: &str) -> &str {
    s.trim_matches(is_edge_junk)
}

/// NFKC-folds `s` (full-width letters, digits, `＠`, `．`, U+3000 … become ASCII).
/// ASCII is already NFKC, and is by far the common case, so it is returned as is.
pub(crate) fn nfkc_fold(s: &str) -> Cow<'_, str> {
    if s.is_ascii() {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(s.nfkc().collect())
    }
}

/// Trim, NFKC-fold, trim again (folding can turn e.g. U+3000 into a plain space).
pub(crate) fn fold_and_trim(raw: &str) -> Cow<'_, str> {
    match nfkc_fold(trim_edges(raw)) {
        Cow::Borrowed(s) => Cow::Borrowed(trim_edges(s)),
        Cow::Owned(s) => {
            let t = trim_edges(&s);
            if t.len() == s.len() {
                Cow::Owned(s)
            } else {
                Cow::Owned(t.to_owned())
            }
        }
    }
}

/// Characters that render as nothing (or as a box) when quoted in a message; they are shown by
/// code point so the applicant can tell something is there.
fn is_unprintable(c: char) -> bool {
    c.is_control()
        || c.is_whitespace()
        || matches!(c,
            '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}' | '\u{FEFF}' | '\u{FFA0}'
            | '\u{FFF0}'..='\u{FFFB}'
            | '\u{0300}'..='\u{036F}'
            | '\u{1AB0}'..='\u{1AFF}'
            | '\u{1DC0}'..='\u{1DFF}'
            | '\u{20D0}'..='\u{20FF}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FE20}'..='\u{FE2F}'
            | '\u{E000}'..='\u{F8FF}'
            | '\u{E0000}'..='\u{10FFFF}')
}

/// A refused character as it appears in a Chinese message: `「A」`, `空格`, or
/// `不可见字符U+200B`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Shown(pub char);

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            ' ' | '\u{3000}' => f.write_str("空格"),
            c if is_unprintable(c) => write!(f, "不可见字符U+{:04X}", c as u32),
            c => write!(f, "「{c}」"),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn trims_ideographic_space_and_zero_width() {
        assert_eq!(trim_edges("\u{3000} a b\u{200B}\u{FEFF}\t"), "a b");
    }

    #[test]
    fn folds_full_width() {
        assert_eq!(fold_and_trim("\u{3000}１２Ａ＠ｑｑ．ｃｏｍ\u{3000}"), "12A@qq.com");
        assert!(matches!(nfkc_fold("abc"), Cow::Borrowed(_)));
    }

    #[test]
    fn shows_characters() {
        assert_eq!(Shown('A').to_string(), "「A」");
        assert_eq!(Shown(' ').to_string(), "空格");
        assert_eq!(Shown('\u{200B}').to_string(), "不可见字符U+200B");
        assert_eq!(Shown('\n').to_string(), "不可见字符U+000A");
    }
}
