//! Lenient field readers for request bodies: a field of the wrong JSON type
//! becomes a value the domain parser refuses with that field's own error
//! code, instead of failing the whole body with a generic one.
//!
//! They read the value through serde's data model alone (any self-describing format), so the
//! flows that own these forms need no JSON type.

use std::fmt;

use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// A field's value, reduced to what the readers tell apart.
enum Loose {
    Absent,
    Text(String),
    Integer(i128),
    Float(f64),
    Bool(bool),
    /// An array or an object, read to its end and set aside.
    Nested,
}

struct LooseVisitor;

impl<'de> Visitor<'de> for LooseVisitor {
    type Value = Loose;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_none<E>(self) -> Result<Loose, E> {
        Ok(Loose::Absent)
    }
    fn visit_unit<E>(self) -> Result<Loose, E> {
        Ok(Loose::Absent)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Loose, D::Error> {
        d.deserialize_any(LooseVisitor)
    }
    fn visit_bool<E>(self, b: bool) -> Result<Loose, E> {
        Ok(Loose::Bool(b))
    }
    fn visit_i64<E>(self, n: i64) -> Result<Loose, E> {
        Ok(Loose::Integer(n.into()))
    }
    fn visit_u64<E>(self, n: u64) -> Result<Loose, E> {
        Ok(Loose::Integer(n.into()))
    }
    fn visit_f64<E>(self, n: f64) -> Result<Loose, E> {
        Ok(Loose::Float(n))
    }
    fn visit_str<E>(self, s: &str) -> Result<Loose, E> {
        Ok(Loose::Text(s.to_owned()))
    }
    fn visit_string<E>(self, s: String) -> Result<Loose, E> {
        Ok(Loose::Text(s))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Loose, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Loose::Nested)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Loose, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Loose::Nested)
    }
}

/// Strings as they are, numbers as their text (a phone sent as a number),
/// anything else as an empty string that the field's parser refuses.
pub fn loose_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match d.deserialize_option(LooseVisitor)? {
        Loose::Absent => None,
        Loose::Text(s) => Some(s),
        Loose::Integer(n) => Some(n.to_string()),
        Loose::Float(n) => Some(n.to_string()),
        Loose::Bool(_) | Loose::Nested => Some(String::new()),
    })
}

/// `true`, `"true"`, `1`, `"1"`, `"on"` are yes; everything else is no.
pub fn loose_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(match d.deserialize_option(LooseVisitor)? {
        Loose::Bool(b) => b,
        Loose::Integer(n) => n == 1,
        Loose::Text(s) => matches!(s.trim(), "true" | "1" | "on" | "yes"),
        Loose::Absent | Loose::Float(_) | Loose::Nested => false,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct Form {
        #[serde(deserialize_with = "loose_string")]
        text: Option<String>,
        #[serde(deserialize_with = "loose_bool")]
        yes: bool,
    }

    fn read(json: &str) -> Form {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn text_fields_take_strings_and_numbers_and_refuse_the_rest_by_emptiness() {
        assert_eq!(read(r#"{"text": "x"}"#).text.as_deref(), Some("x"));
        assert_eq!(read(r#"{"text": 13800138000}"#).text.as_deref(), Some("13800138000"));
        assert_eq!(read(r#"{"text": -1}"#).text.as_deref(), Some("-1"));
        assert_eq!(read(r#"{"text": null}"#).text, None);
        assert_eq!(read("{}").text, None);
        for other in [r#"true"#, r#"[1, [2]]"#, r#"{"a": {"b": 1}}"#] {
            assert_eq!(read(&format!(r#"{{"text": {other}, "yes": true}}"#)).text.as_deref(), Some(""), "{other}");
            // The nested value is read to its end: the field after it still counts.
            assert!(read(&format!(r#"{{"text": {other}, "yes": true}}"#)).yes, "{other}");
        }
    }

    #[test]
    fn yes_is_true_one_or_on() {
        for yes in ["true", "1", r#""true""#, r#""1""#, r#"" on ""#, r#""yes""#] {
            assert!(read(&format!(r#"{{"yes": {yes}}}"#)).yes, "{yes}");
        }
        for no in ["false", "0", "2", "1.0", r#""no""#, "null", "[]", "{}"] {
            assert!(!read(&format!(r#"{{"yes": {no}}}"#)).yes, "{no}");
        }
    }
}
