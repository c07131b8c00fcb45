//! Notifications (NOTE-1, NOTE-2). A message is sealed into the outbox in
//! the same transaction as the change that caused it; the delivery worker
//! sends it afterwards with retries, and marks it sent exactly once.

use std::time::Duration;

use crate::app::App;
use crate::error::AppResult;
use crate::message::Message;
use crate::store::{outbox, Tx};
use crate::vault::Field;

/// Lookup hash of a recipient, so the development outbox can filter by it.
pub fn recipient_hash(app: &App, to: &str) -> Vec<u8> {
    app.vault.lookup(Field::Contact, to)
}

/// Put a message in the outbox within the caller's transaction. Call
/// [`App::wake_outbox`] after committing.
pub async fn queue(tx: &mut Tx, app: &App, message: &Message) -> AppResult<i64> {
    let payload = serde_json::to_vec(message).map_err(crate::error::AppError::internal)?;
    let sealed = app.vault.seal(Field::Outbox, &payload);
    let id = outbox::enqueue(tx, message.channel.as_str(), &recipient_hash(app, &message.to), &sealed, app.clock.unix()).await?;
    Ok(id)
}

pub fn open(app: &App, payload_enc: &[u8]) -> AppResult<Message> {
    let bytes = app.vault.open(Field::Outbox, payload_enc)?;
    serde_json::from_slice(&bytes).map_err(crate::error::AppError::internal)
}

/// Lease length: a worker that dies mid-send gives the row back after this.
const LEASE_SECS: i64 = 60;

/// Deliver due messages until `shutdown` fires.
pub async fn run_worker(app: App, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let poll = Duration::from_millis(app.config.outbox.poll_ms.max(10));
    loop {
        match deliver_due(&app).await {
            Ok(0) | Err(_) => {
                tokio::select! {
                    _ = app.outbox_wake.notified() => {}
                    _ = tokio::time::sleep(poll) => {}
                    _ = shutdown.changed() => return,
                }
            }
            Ok(_) => {}
        }
        if *shutdown.borrow() {
            return;
        }
    }
}

/// Deliver what is due now; returns how many were attempted.
pub async fn deliver_due(app: &App) -> AppResult<usize> {
    let mut attempted = 0;
    if let Err(err) = app.clock.refresh(&app.db).await {
        tracing::warn!(error = %err, "clock refresh failed");
    }
    while let Some(row) = outbox::claim(&app.db, app.clock.unix(), LEASE_SECS).await.map_err(|e| {
        tracing::warn!(error = %e, "outbox claim failed");
        e
    })? {
        attempted += 1;
        let result = match open(app, &row.payload_enc) {
            Ok(message) => app.couriers.deliver(&message, row.id).await,
            Err(err) => Err(format!("unreadable payload: {}", err.code)),
        };
        let now = app.clock.unix();
        match result {
            Ok(()) => {
                if !outbox::mark_sent(&app.db, row.id, now).await? {
                    tracing::warn!(id = row.id, "outbox message was already marked");
                }
                tracing::info!(id = row.id, channel = %row.channel, attempts = row.attempts, "message delivered");
            }
            Err(error) => {
                // Exponential backoff: 5 s, 10 s, 20 s … capped at one hour.
                let delay = (5i64 << row.attempts.clamp(0, 10)).min(3600);
                tracing::warn!(id = row.id, channel = %row.channel, attempts = row.attempts, %error, "delivery failed");
                outbox::mark_failed(&app.db, row.id, &error, now + delay, app.config.outbox.max_attempts).await?;
            }
        }
    }
    Ok(attempted)
}
