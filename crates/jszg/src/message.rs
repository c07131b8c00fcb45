//! What the outbox carries: a message for one recipient on one channel.
//! It sits below flows and adapters: flows write messages, adapters deliver them.

use askama::Template;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Sms,
    Email,
    Wechat,
    /// An event for a business system (SSO-3), delivered by signed webhook.
    Business,
    /// A back-channel logout token for a client (SSO-1); `to` is its URI.
    Backchannel,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Sms => "sms",
            Channel::Email => "email",
            Channel::Wechat => "wechat",
            Channel::Business => "business",
            Channel::Backchannel => "backchannel",
        }
    }
}

/// What SMS providers need: messages go out through pre-approved templates.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "template", content = "param", rename_all = "snake_case")]
pub enum SmsTemplate {
    Code(String),
    Notice(String),
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Message {
    pub channel: Channel,
    pub to: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Plain text as the recipient reads it.
    pub body: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sms: Option<SmsTemplate>,
}

impl Message {
    /// An SMS notice: the text goes out through the provider's notice template.
    pub fn sms_notice(to: &str, text: String) -> Self {
        Self {
            channel: Channel::Sms,
            to: to.to_owned(),
            subject: None,
            body: text.clone(),
            html: None,
            sms: Some(SmsTemplate::Notice(text)),
        }
    }

    /// A plain-text email.
    pub fn email(to: &str, subject: &str, body: String) -> Self {
        Self { channel: Channel::Email, to: to.to_owned(), subject: Some(subject.to_owned()), body, html: None, sms: None }
    }
}

/// What a business system hears about an applicant it enrolled (SSO-3, RN-6), as the JSON body
/// of a `Channel::Business` message.
#[derive(Serialize)]
pub struct BusinessEvent<'a> {
    /// `applicant.name_changed` or `applicant.account_archived`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub entry: &'a str,
    pub doc_type: &'static str,
    pub doc_number: &'a str,
    pub name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    pub resubmit_required: bool,
    /// RFC 3339.
    pub occurred_at: String,
}

impl BusinessEvent<'_> {
    /// The message that carries the event to the business named by `entry`.
    pub fn message(&self) -> Message {
        Message {
            channel: Channel::Business,
            to: self.entry.to_owned(),
            subject: Some(self.kind.to_owned()),
            body: serde_json::to_string(self).unwrap_or_default(),
            html: None,
            sms: None,
        }
    }
}

/// The HTML part of the mail carrying an email verification code (`templates/mail/code.html`).
#[derive(Template)]
#[template(path = "mail/code.html")]
pub struct CodeMailHtml<'a> {
    pub code: &'a str,
}

/// The password-reset mail (REC-2a): its plain-text part (`templates/mail/reset.txt`)...
#[derive(Template)]
#[template(path = "mail/reset.txt")]
pub struct ResetMailText<'a> {
    /// Why the mail comes (recovery, or an approved email change).
    pub intro: &'a str,
    pub link: &'a str,
}

/// ...and its HTML part (`templates/mail/reset.html`), escaped by askama.
#[derive(Template)]
#[template(path = "mail/reset.html")]
pub struct ResetMailHtml<'a> {
    pub intro: &'a str,
    pub link: &'a str,
}

