//! The callback's XML (WX-1): what the platform posts and the passive replies it takes back.
//!
//! A message is one `<xml>` element of flat children, text or CDATA. Only the predefined entities
//! are expanded (quick-xml resolves no DTD, so no external entity can be reached); deeper elements,
//! such as `ScanCodeInfo`, are skipped.

use quick_xml::events::Event as XmlEvent;
use quick_xml::Reader;

/// More children than any platform message has.
const MAX_FIELDS: usize = 64;

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("not well-formed XML")]
    Malformed,
    #[error("the root element is not <xml>")]
    NotXml,
    #[error("missing {0}")]
    Missing(&'static str),
}

/// The children of `<xml>`, in order.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Fields(Vec<(String, String)>);

impl Fields {
    pub fn parse(xml: &str) -> Result<Fields, WireError> {
        let mut reader = Reader::from_str(xml);
        let mut fields = Vec::new();
        let mut depth = 0usize;
        let mut current: Option<(String, String)> = None;
        // A field's text and entity references since its last tag or CDATA section, trimmed as one
        // piece when it ends (the reader reports `a &amp; b` as three events).
        let mut run = String::new();
        loop {
            match reader.read_event().map_err(|_| WireError::Malformed)? {
                XmlEvent::Start(e) => {
                    end_run(&mut run, &mut current);
                    depth += 1;
                    let name = e.name().as_ref().to_owned();
                    match depth {
                        1 if name != "xml" => return Err(WireError::NotXml),
                        2 => current = Some((name, String::new())),
                        _ => {}
                    }
                }
                XmlEvent::Empty(e) => {
                    end_run(&mut run, &mut current);
                    let name = e.name().as_ref().to_owned();
                    match depth {
                        0 if name == "xml" => return Ok(Fields(fields)),
                        0 => return Err(WireError::NotXml),
                        1 => fields.push((name, String::new())),
                        _ => {}
                    }
                }
                XmlEvent::Text(t) if depth == 2 => run.push_str(&t),
                XmlEvent::GeneralRef(r) if depth == 2 => match r.resolve_char_ref().map_err(|_| WireError::Malformed)? {
                    Some(c) => run.push(c),
                    None => run.push_str(quick_xml::escape::resolve_predefined_entity(&r).ok_or(WireError::Malformed)?),
                },
                XmlEvent::CData(c) if depth == 2 => {
                    end_run(&mut run, &mut current);
                    if let Some((_, value)) = current.as_mut() {
                        value.push_str(&c);
                    }
                }
                XmlEvent::Text(t) if depth == 0 && !t.trim().is_empty() => return Err(WireError::NotXml),
                XmlEvent::CData(_) | XmlEvent::GeneralRef(_) if depth == 0 => return Err(WireError::NotXml),
                XmlEvent::End(_) => {
                    if depth == 2 {
                        end_run(&mut run, &mut current);
                        fields.extend(current.take());
                        if fields.len() > MAX_FIELDS {
                            return Err(WireError::Malformed);
                        }
                    }
                    depth = depth.checked_sub(1).ok_or(WireError::Malformed)?;
                    if depth == 0 {
                        return Ok(Fields(fields));
                    }
                }
                XmlEvent::Eof => return Err(if fields.is_empty() && depth == 0 { WireError::NotXml } else { WireError::Malformed }),
                XmlEvent::DocType(_) => return Err(WireError::Malformed),
                _ => {}
            }
        }
    }

    /// The first child of that name.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    fn required(&self, name: &'static str) -> Result<&str, WireError> {
        self.get(name).filter(|v| !v.is_empty()).ok_or(WireError::Missing(name))
    }
}

/// Appends a field's finished text run, trimmed, to the field being read.
fn end_run(run: &mut String, current: &mut Option<(String, String)>) {
    if let Some((_, value)) = current.as_mut() {
        value.push_str(run.trim());
    }
    run.clear();
}

/// What the applicant did in the chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A text message.
    Text { msg_id: String, content: String },
    /// Followed the account; `scene` when by scanning one of our QR codes.
    Subscribe { scene: Option<String> },
    Unsubscribe,
    /// Scanned one of our QR codes while already following.
    Scan { scene: String },
    /// Tapped a menu item.
    Click { key: String },
    /// Anything else (pictures, voice, location, …): answered politely, never acted on.
    Other { kind: String },
}

/// One message or event from the platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbound {
    /// The service account's own id (`gh_…`): the sender of our reply.
    pub account: String,
    pub openid: String,
    pub create_time: i64,
    pub event: Event,
}

impl Inbound {
    pub fn parse(xml: &str) -> Result<Inbound, WireError> {
        let f = Fields::parse(xml)?;
        let account = f.required("ToUserName")?.to_owned();
        let openid = f.required("FromUserName")?.to_owned();
        let create_time = f.required("CreateTime")?.trim().parse::<i64>().map_err(|_| WireError::Missing("CreateTime"))?;
        let kind = f.required("MsgType")?.trim();
        let event = match kind {
            "text" => Event::Text {
                msg_id: f.get("MsgId").unwrap_or_default().trim().to_owned(),
                content: f.get("Content").unwrap_or_default().trim().to_owned(),
            },
            "event" => {
                let key = f.get("EventKey").unwrap_or_default().trim();
                match f.required("Event")?.trim().to_ascii_lowercase().as_str() {
                    "subscribe" => Event::Subscribe { scene: key.strip_prefix("qrscene_").filter(|s| !s.is_empty()).map(str::to_owned) },
                    "unsubscribe" => Event::Unsubscribe,
                    "scan" if !key.is_empty() => Event::Scan { scene: key.to_owned() },
                    "click" if !key.is_empty() => Event::Click { key: key.to_owned() },
                    other => Event::Other { kind: format!("event:{other}") },
                }
            }
            other => Event::Other { kind: other.to_owned() },
        };
        Ok(Inbound { account, openid, create_time, event })
    }

    /// What the platform repeats on a retry: `MsgId` for messages,
    /// `FromUserName`+`CreateTime` for events.
    pub fn dedup_key(&self) -> String {
        match &self.event {
            Event::Text { msg_id, .. } if !msg_id.is_empty() => format!("msg:{msg_id}"),
            _ => format!("event:{}:{}", self.openid, self.create_time),
        }
    }
}

/// The `Encrypt` of a safe-mode envelope.
pub fn envelope(xml: &str) -> Result<String, WireError> {
    Ok(Fields::parse(xml)?.required("Encrypt")?.to_owned())
}

/// Text for inside a CDATA section: a `]]>` is split across two sections.
pub fn cdata_safe(text: &str) -> String {
    text.replace("]]>", "]]]]><![CDATA[>")
}

/// Text for an element without CDATA.
pub fn escape_text(text: &str) -> String {
    quick_xml::escape::escape(text).into_owned()
}

/// A passive text reply to `to` (an openid) from the service account.
pub fn text_reply(to: &str, account: &str, create_time: i64, content: &str) -> String {
    format!(
        "<xml><ToUserName><![CDATA[{}]]></ToUserName><FromUserName><![CDATA[{}]]></FromUserName><CreateTime>{create_time}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{}]]></Content></xml>",
        cdata_safe(to),
        cdata_safe(account),
        cdata_safe(content)
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn message(body: &str) -> String {
        format!("<xml><ToUserName><![CDATA[gh_jszg]]></ToUserName><FromUserName><![CDATA[o_applicant]]></FromUserName><CreateTime>1700000000</CreateTime>{body}</xml>")
    }

    #[test]
    fn a_text_message() {
        let m = Inbound::parse(&message("<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[ 取验证码 ]]></Content><MsgId>1234567890123456</MsgId>")).unwrap();
        assert_eq!(m.event, Event::Text { msg_id: "1234567890123456".into(), content: "取验证码".into() });
        assert_eq!(m.openid, "o_applicant");
        assert_eq!(m.account, "gh_jszg");
        assert_eq!(m.dedup_key(), "msg:1234567890123456");
    }

    #[test]
    fn events_of_the_service_account() {
        let ev = |e: &str, key: &str| {
            Inbound::parse(&message(&format!("<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[{e}]]></Event><EventKey><![CDATA[{key}]]></EventKey>")))
                .unwrap()
        };
        assert_eq!(ev("subscribe", "qrscene_abc").event, Event::Subscribe { scene: Some("abc".into()) });
        assert_eq!(ev("subscribe", "").event, Event::Subscribe { scene: None });
        assert_eq!(ev("SCAN", "abc").event, Event::Scan { scene: "abc".into() });
        assert_eq!(ev("CLICK", "GET_CODE").event, Event::Click { key: "GET_CODE".into() });
        assert_eq!(ev("unsubscribe", "").event, Event::Unsubscribe);
        assert_eq!(ev("VIEW", "https://x").event, Event::Other { kind: "event:view".into() });
        assert_eq!(ev("SCAN", "abc").dedup_key(), "event:o_applicant:1700000000");
    }

    #[test]
    fn escapes_and_nested_elements() {
        let m = Inbound::parse(&message("<MsgType>text</MsgType><Content>a &amp; b &lt;c&gt;</Content><Extra><Deep>x</Deep></Extra>")).unwrap();
        assert_eq!(m.event, Event::Text { msg_id: String::new(), content: "a & b <c>".into() });
        // Character references, and a text run trimmed as a whole, not around each reference.
        let m = Inbound::parse(&format!("\n {}\n", message("<MsgType>text</MsgType><Content>\n  x &amp; y &#x4E2D;&#25991; \n</Content>"))).unwrap();
        assert_eq!(m.event, Event::Text { msg_id: String::new(), content: "x & y 中文".into() });
        assert!(Inbound::parse(&message("<MsgType>text</MsgType><Content>&#xD800;</Content>")).is_err());
    }

    #[test]
    fn refuses_what_is_not_a_message() {
        assert_eq!(Inbound::parse(""), Err(WireError::NotXml));
        assert_eq!(Inbound::parse("<html></html>"), Err(WireError::NotXml));
        assert_eq!(Inbound::parse("<xml><ToUserName>x</ToUserName>"), Err(WireError::Malformed));
        assert_eq!(Inbound::parse("<xml></xml>"), Err(WireError::Missing("ToUserName")));
        assert!(Inbound::parse(&message("<MsgType>text</MsgType><Content>&xxe;</Content>")).is_err());
        let doctype = "<!DOCTYPE xml [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><xml><ToUserName>&xxe;</ToUserName></xml>";
        assert_eq!(Inbound::parse(doctype), Err(WireError::Malformed));
        let many: String = (0..100).map(|i| format!("<F{i}>x</F{i}>")).collect();
        assert_eq!(Fields::parse(&format!("<xml>{many}</xml>")), Err(WireError::Malformed));
    }

    #[test]
    fn a_reply_survives_cdata_terminators() {
        let reply = text_reply("o_applicant", "gh_jszg", 1, "a]]>b");
        let f = Fields::parse(&reply).unwrap();
        assert_eq!(f.get("Content"), Some("a]]>b"));
        assert_eq!(f.get("ToUserName"), Some("o_applicant"));
        assert_eq!(f.get("MsgType"), Some("text"));
    }

    #[test]
    fn the_envelope_of_safe_mode() {
        assert_eq!(envelope("<xml><ToUserName><![CDATA[gh]]></ToUserName><Encrypt><![CDATA[abc=]]></Encrypt></xml>").unwrap(), "abc=");
        assert_eq!(envelope("<xml><ToUserName>gh</ToUserName></xml>"), Err(WireError::Missing("Encrypt")));
    }
}
