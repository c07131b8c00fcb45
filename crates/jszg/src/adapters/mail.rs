//! Email over SMTP with lettre (NOTE-1): `smtps://` (implicit TLS),
//! `smtp://…?tls=required` (STARTTLS), plain `smtp://` for a local relay. Each mail carries a
//! Message-ID derived from its outbox row, so a retry after a crash can be
//! recognised as the same mail by the receiving side.

use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::config::SmtpConfig;
use crate::message::Message;

pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    domain: String,
}

impl Mailer {
    pub fn new(config: &SmtpConfig) -> Result<Self, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&config.url)
            .map_err(|e| format!("smtp url: {e}"))?
            .timeout(Some(std::time::Duration::from_secs(20)))
            .build();
        let from: Mailbox = config.from.parse().map_err(|e| format!("smtp from {:?}: {e}", config.from))?;
        let domain = from.email.domain().to_owned();
        Ok(Self { transport, from, domain })
    }

    pub async fn send(&self, message: &Message, outbox_id: i64) -> Result<(), String> {
        let to: Mailbox = message.to.parse().map_err(|e| format!("recipient: {e}"))?;
        let subject = message.subject.clone().unwrap_or_else(|| "中国教师资格网通知".to_owned());
        let builder = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .message_id(Some(format!("<outbox-{outbox_id}@{}>", self.domain)));
        let text = SinglePart::builder().header(ContentType::TEXT_PLAIN).body(message.body.clone());
        let email = match &message.html {
            Some(html) => builder.multipart(
                MultiPart::alternative()
                    .singlepart(text)
                    .singlepart(SinglePart::builder().header(ContentType::TEXT_HTML).body(html.clone())),
            ),
            None => builder.singlepart(text),
        }
        .map_err(|e| format!("build mail: {e}"))?;
        self.transport.send(email).await.map(|_| ()).map_err(|e| format!("smtp: {e}"))
    }
}
