//! Where outbox messages go. Production sends through SMTP and the SMS
//! provider; development keeps them in the outbox, where the outbox page
//! and `GET /api/v1/dev/outbox` show them (NOTE-2).

use crate::adapters::mail::Mailer;
use crate::adapters::sms::SmsClient;
use crate::flows::notify::{Channel, Message};

pub enum Couriers {
    Development,
    Live { mail: Mailer, sms: SmsClient },
}

impl Couriers {
    pub async fn deliver(&self, message: &Message, outbox_id: i64) -> Result<(), String> {
        match self {
            Couriers::Development => Ok(()),
            Couriers::Live { mail, sms } => match message.channel {
                Channel::Email => mail.send(message, outbox_id).await,
                Channel::Sms => sms.send(message, outbox_id).await,
                // The WeChat adapter answers in the chat itself; the outbox
                // copy is the record.
                Channel::Wechat => Ok(()),
            },
        }
    }
}
