//! Where outbox messages go: SMTP, the SMS provider and the business
//! systems' webhooks; in development, channels without settings stay in the
//! outbox, where the outbox page and `GET /api/v1/dev/outbox` show them (NOTE-2).

use crate::adapters::mail::Mailer;
use crate::adapters::sms::SmsClient;
use crate::config::EntriesConfig;
use crate::message::{Channel, Message};

/// The configured channels. A channel without settings keeps its messages
/// in the outbox, which development mode shows; production refuses to start
/// without SMTP and SMS (`Config::check`), and without a webhook setting a
/// business event fails and is retried until an operator configures one.
pub struct Couriers {
    pub mail: Option<Mailer>,
    pub sms: Option<SmsClient>,
    pub webhooks: Option<Webhooks>,
    /// Customer-service messages of the WeChat service account.
    pub wechat: Option<std::sync::Arc<crate::adapters::wechat::ServiceAccount>>,
    /// Back-channel logout requests (OpenID Back-Channel Logout 1.0).
    pub backchannel: reqwest::Client,
    pub dev: bool,
}

impl Couriers {
    pub async fn deliver(&self, message: &Message, outbox_id: i64) -> Result<(), String> {
        match message.channel {
            Channel::Email => match &self.mail {
                Some(mail) => mail.send(message, outbox_id).await,
                None => self.kept(),
            },
            Channel::Sms => match &self.sms {
                Some(sms) => sms.send(message, outbox_id).await,
                None => self.kept(),
            },
            // `to` is the openid; passive replies never come through here.
            Channel::Wechat => match &self.wechat {
                Some(account) => account.platform.send_text(&message.to, &message.body).await,
                None => self.kept(),
            },
            Channel::Business => match &self.webhooks {
                Some(hooks) => hooks.send(message, outbox_id).await,
                None => self.kept(),
            },
            Channel::Backchannel => self.logout(message).await,
        }
    }

    /// POST the logout token as a form; the client answers 200 (or 204).
    async fn logout(&self, message: &Message) -> Result<(), String> {
        let response = self
            .backchannel
            .post(&message.to)
            .form(&[("logout_token", message.body.as_str())])
            .send()
            .await
            .map_err(|e| format!("back-channel logout: {}", e.without_url()))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!("back-channel logout answered {}", response.status()))
        }
    }

    fn kept(&self) -> Result<(), String> {
        if self.dev {
            Ok(())
        } else {
            Err("no delivery settings for this channel".into())
        }
    }
}

/// Signed event delivery to the business systems (SSO-3).
pub struct Webhooks {
    pub config: EntriesConfig,
    pub http: reqwest::Client,
    /// The key file's suite picks the signature's hash (GM-4).
    pub suite: crate::vault::Suite,
}

impl Webhooks {
    pub fn new(config: &EntriesConfig, suite: crate::vault::Suite) -> Result<Self, String> {
        let http =
            reqwest::Client::builder().timeout(std::time::Duration::from_secs(10)).build().map_err(|e| format!("webhook client: {e}"))?;
        Ok(Self { config: config.clone(), http, suite })
    }

    async fn send(&self, message: &Message, outbox_id: i64) -> Result<(), String> {
        let url = match message.to.as_str() {
            "certification" => self.config.certification_webhook.as_deref(),
            "renewal" => self.config.renewal_webhook.as_deref(),
            _ => None,
        }
        .ok_or_else(|| format!("no webhook configured for {}", message.to))?;
        let secret = self.config.webhook_secret.as_deref().ok_or("no webhook_secret configured")?;
        #[allow(clippy::disallowed_methods)]
        let timestamp = time::OffsetDateTime::now_utc().unix_timestamp().to_string();
        let body = message.body.as_bytes();
        let response = self
            .http
            .post(url)
            .header("Content-Type", "application/json")
            .header("X-Jszg-Event-Id", format!("outbox-{outbox_id}"))
            .header("X-Jszg-Timestamp", &timestamp)
            .header("X-Jszg-Signature", crate::crypto::sign(self.suite, secret, &timestamp, body))
            .header("X-Jszg-Signature-Alg", crate::crypto::signature_alg(self.suite))
            .body(body.to_vec())
            .send()
            .await
            .map_err(|e| format!("webhook: {e}"))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!("webhook answered {}", response.status()))
        }
    }
}
