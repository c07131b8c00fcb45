//! One function per parser of outside input (REL-2). Each takes the fuzzer's bytes, runs the parser
//! as the server does, and panics only when a property breaks: a parsed value that does not parse
//! again to itself, a refusal that is not a refusal, or a panic inside the parser.
//!
//! `fuzz/fuzz_targets/*.rs` hand these to libFuzzer; `tests/corpus.rs` replays `fuzz/corpus/` and
//! `fuzz/regressions/` on every `cargo test`.

#![allow(clippy::expect_used)] // a broken property is reported by panicking: that is how libFuzzer sees it

use jszg_domain::{DocNumber, DocType, Email, PersonName, Phone};
use time::macros::date;
use time::Date;

/// A fixed "today", so that a finding replays the same way tomorrow.
const TODAY: Date = date!(2026 - 12 - 03);

/// A target's body: the fuzzer's bytes in, a panic out when a property breaks.
pub type Target = fn(&[u8]);

/// The targets by name, as `fuzz/fuzz_targets/` and the corpus folders name them.
pub const TARGETS: &[(&str, Target)] = &[
    ("doc_number", doc_number),
    ("person_name", person_name),
    ("phone", phone),
    ("email", email),
    ("validity", validity),
    ("captcha_answer", captcha_answer),
    ("jpeg_gate", jpeg_gate),
    ("multipart", multipart),
    ("oidc_params", oidc_params),
    ("wechat_xml", wechat_xml),
];

/// The first byte picks a document type; the rest is the text.
fn typed(data: &[u8]) -> Option<(DocType, String)> {
    let (first, rest) = data.split_first()?;
    Some((DocType::ALL[usize::from(*first) % DocType::ALL.len()], String::from_utf8_lossy(rest).into_owned()))
}

pub fn doc_number(data: &[u8]) {
    let Some((doc_type, raw)) = typed(data) else { return };
    if let Ok((number, _notice)) = DocNumber::parse_with_notice(doc_type, &raw, TODAY) {
        let again = DocNumber::parse(doc_type, number.as_str(), TODAY).expect("a normalised number parses again");
        assert_eq!(again.as_str(), number.as_str(), "normalising is idempotent");
        let _ = (number.masked(), number.birth_date(), number.sex());
        if let Some(birth) = number.birth_date() {
            assert!(birth <= TODAY, "no birth date in the future");
        }
    }
}

pub fn person_name(data: &[u8]) {
    let Some((doc_type, raw)) = typed(data) else { return };
    if let Ok(name) = PersonName::parse(doc_type, &raw) {
        let again = PersonName::parse(doc_type, name.as_str()).expect("a parsed name parses again");
        assert_eq!(again.as_str(), name.as_str());
        assert!(name.matches(&again));
        assert!(name.char_count() <= 50);
    }
}

pub fn phone(data: &[u8]) {
    let raw = String::from_utf8_lossy(data);
    if let Ok(phone) = Phone::parse(&raw) {
        assert_eq!(phone.as_str().len(), 11);
        assert!(phone.as_str().bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(Phone::parse(phone.as_str()).expect("parses again").as_str(), phone.as_str());
        let _ = phone.masked();
    }
}

pub fn email(data: &[u8]) {
    let raw = String::from_utf8_lossy(data);
    if let Ok(email) = Email::parse(&raw) {
        assert_eq!(Email::parse(email.as_str()).expect("parses again").as_str(), email.as_str());
        assert!(email.as_str().ends_with(email.domain()));
        let _ = email.masked();
    }
}

/// `{"period", "start"}` as the registration form sends it, for every document type.
pub fn validity(data: &[u8]) {
    let Ok(input) = serde_json::from_slice::<jszg::flows::registration::ValidityInput>(data) else { return };
    for doc_type in DocType::ALL {
        if let Ok(v) = jszg::flows::registration::parse_validity(doc_type, Some(&input), TODAY) {
            assert!(doc_type.allowed_periods().contains(&v.period()));
            assert!(v.end().is_none_or(|end| end > v.start()));
            assert!(!v.is_expired(TODAY));
        }
    }
}

/// A captcha answer body, read as the endpoint reads it, then judged against a hole and checked
/// against a proof of work.
pub fn captcha_answer(data: &[u8]) {
    let Some((hole, body)) = data.split_first() else { return };
    let value = serde_json::from_slice(body).unwrap_or(serde_json::Value::Null);
    let answer = jszg::http::api::captchas::AnswerBody::read(&value);
    let hole = u32::from(*hole);
    if jszg_captcha::judge(hole, answer.x, &answer.track, answer.input).is_ok() {
        assert!(answer.x.abs_diff(i64::from(hole)) <= 10, "passed far from the hole");
        assert!(answer.track.len() >= 2);
    }
    if let Some(nonce) = &answer.pow_nonce {
        let _ = jszg_captcha::pow::verify("fuzz-challenge", nonce, 8);
    }
}

/// zune-jpeg 0.5.15 panics in its AVX2 IDCT on some crafted files, and the gate catches it.
/// libFuzzer's panic hook aborts before anything can catch, so this target lets panics raised
/// inside the decoder unwind to the gate, and still aborts on any other.
fn tolerate_decoder_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let fuzzer_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.location().is_some_and(|l| l.file().contains("zune-jpeg")) {
                return;
            }
            fuzzer_hook(info);
        }));
    });
}

pub fn jpeg_gate(data: &[u8]) {
    tolerate_decoder_panics();
    use jszg::adapters::photos;
    let declared = photos::declared_size(data);
    if let Ok(stored) = photos::decode_and_clean(data) {
        // Only what the header allowed is decoded; what is kept is a JPEG without metadata.
        let (width, height) = declared.unwrap_or_default();
        assert!(width >= 120 && height >= 120 && u64::from(width) * u64::from(height) <= photos::MAX_PIXELS);
        assert!(stored.starts_with(&[0xFF, 0xD8]));
        assert_eq!(photos::strip_metadata(&stored), stored, "stripping is idempotent");
    }
}

/// A multipart body read as the photo endpoints read it; the first line is the boundary.
pub fn multipart(data: &[u8]) {
    use axum::extract::FromRequest;
    let (boundary, body) = match data.iter().position(|b| *b == b'\n') {
        Some(i) => (String::from_utf8_lossy(&data[..i]).into_owned(), data[i + 1..].to_vec()),
        None => ("jszg".to_owned(), data.to_vec()),
    };
    let Ok(request) = axum::http::Request::builder()
        .method("POST")
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(axum::body::Body::from(body))
    else {
        return;
    };
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread().build() else { return };
    runtime.block_on(async move {
        let Ok(multipart) = axum::extract::Multipart::from_request(request, &()).await else { return };
        if let Ok(parts) = jszg::http::api::realname::read_multipart(multipart).await {
            assert!(parts.values().map(Vec::len).sum::<usize>() <= data.len());
        }
    });
}

/// The first line is an `Authorization` header, the rest an authorization request's query.
pub fn oidc_params(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (authorization, query) = text.split_once('\n').unwrap_or(("", &text));
    let _ = jszg::http::oidc::basic_credentials_of(authorization);
    let Ok(pairs) = serde_urlencoded::from_str::<Vec<(String, String)>>(query) else { return };
    let params = jszg::flows::oidc::Params(&pairs);
    let registered = ["https://rp.example/cb".to_owned()];
    let lookup = |client_id: &str| (client_id == "rdzs").then_some((&registered[..], true));
    if let Ok((request, _prompt)) = jszg::flows::oidc::validate_against(lookup, &params) {
        assert_eq!(request.client_id, "rdzs");
        assert_eq!(request.redirect_uri, registered[0]);
        assert!(request.scope.split(' ').any(|s| s == "openid"));
        assert_eq!(request.code_challenge.map(|c| c.len()), Some(43), "PKCE is required");
    }
}

/// The callback's XML, and the safe-mode envelope opened with a fixed key.
pub fn wechat_xml(data: &[u8]) {
    use jszg::adapters::wechat::{safe_mode::SafeMode, wire};
    let text = String::from_utf8_lossy(data);
    if let Ok(message) = wire::Inbound::parse(&text) {
        let _ = message.dedup_key();
        // Our reply to whatever arrived must read back as what we meant.
        let content = match &message.event {
            wire::Event::Text { content, .. } => content.clone(),
            _ => message.openid.clone(),
        };
        let reply = wire::text_reply(&message.openid, &message.account, message.create_time, &content);
        let fields = wire::Fields::parse(&reply).expect("our own reply parses");
        assert_eq!(fields.get("Content"), Some(content.as_str()));
        assert_eq!(fields.get("ToUserName"), Some(message.openid.as_str()));
    }
    let Ok(safe) = SafeMode::new("kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR", "wx49f0ab532d5d035a") else { return };
    let encrypt = wire::envelope(&text).unwrap_or_else(|_| text.clone().into_owned());
    let _ = safe.decrypt(&encrypt);
    let sealed = safe.encrypt(&text, [0; 16]);
    assert_eq!(safe.decrypt(&sealed).as_deref(), Ok(text.as_ref()), "what we seal opens again");
}
