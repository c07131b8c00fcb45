//! What the outbox carries: a message for one recipient on one channel.
//! It sits below flows and adapters: flows write messages, adapters deliver them.

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
