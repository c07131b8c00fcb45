//! Lenient field readers for request bodies: a field of the wrong JSON type
//! becomes a value the domain parser refuses with that field's own error
//! code, instead of failing the whole body with a generic one.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// Strings as they are, numbers as their text (a phone sent as a number),
/// anything else as an empty string that the field's parser refuses.
pub fn loose_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(_) => Some(String::new()),
    })
}

/// `true`, `"true"`, `1`, `"1"`, `"on"` are yes; everything else is no.
pub fn loose_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::Bool(b)) => b,
        Some(Value::Number(n)) => n.as_i64() == Some(1),
        Some(Value::String(s)) => matches!(s.trim(), "true" | "1" | "on" | "yes"),
        _ => false,
    })
}

/// The first of `text_fields` that `body` holds as something other than a string or null: for
/// bodies where a number would be read as valid text (an ethnicity code) or an object silently
/// ignored, so the mistake must be refused rather than guessed at.
pub fn mistyped(body: &Value, text_fields: &[&'static str]) -> Option<&'static str> {
    let fields = body.as_object()?;
    text_fields.iter().copied().find(|f| fields.get(*f).is_some_and(|v| !(v.is_string() || v.is_null())))
}
