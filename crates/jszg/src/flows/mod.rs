//! Business flows: each takes parsed domain values, applies the rule, and
//! returns a result. They know nothing of HTTP or SQL dialects.

pub mod captcha;
pub mod codes;
pub mod loose;
pub mod notify;
pub mod registration;
