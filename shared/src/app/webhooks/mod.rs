//! Telling agents and systems: webhook endpoints, the fan-out of every event to them
//! and to the request's callbackUrl, the signed sends with their retries, and the
//! executor call of an approved action.

mod endpoints;
mod fanout;
mod send;

pub use endpoints::{EndpointPatch, NewEndpoint, Rotation};
pub(crate) use fanout::Outgoing;

use chrono::{DateTime, Utc};
use rand::RngCore;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::domain::webhook::{MAX_ATTEMPTS, Secret};
use crate::domain::{Approval, Event};
use crate::domain::{DeliveryRef, Task};
use crate::ports::NewJob;

fn new_secret() -> Secret {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    Secret::from_bytes(&bytes)
}

/// The same delivery id however often the fan-out runs: the receiver's `webhook-id`.
fn delivery_id(event_id: &str, receiver: &str) -> String {
    let digest = Sha256::digest(format!("{event_id}|{receiver}").as_bytes());
    format!("msg_{}", &hex::encode(digest)[..32])
}

/// The job that sends a delivery now (or at `at`).
fn send_job(tenant_id: &str, delivery_id: &str, at: DateTime<Utc>, nonce: &str) -> NewJob {
    NewJob {
        id: format!("job_send_{}_{nonce}", &delivery_id[4..]),
        tenant_id: tenant_id.to_owned(),
        task: Task::SendWebhook(DeliveryRef {
            tenant_id: tenant_id.to_owned(),
            delivery_id: delivery_id.to_owned(),
        }),
        // Not tied to the request's jobs: a slow receiver must not hold up its timers.
        approval_id: None,
        run_at: at,
        // The delivery counts its own attempts; these spare ones absorb store errors.
        max_attempts: i32::try_from(MAX_ATTEMPTS).unwrap_or(10) * 2,
    }
}

/// The executor's body: the final action, `actionData` with the approver's changes.
fn executor_body(event: &Event, a: &Approval) -> String {
    json!({
        "type": "approval.execute",
        "timestamp": event.occurred_at,
        "data": {
            "approvalId": a.id,
            "actionType": a.spec.action_type,
            "action": a.approved_data.clone().unwrap_or_else(|| a.spec.action_data.clone()),
            "approval": event.snapshot,
        }
    })
    .to_string()
}

crate::app::feature_view!(
    /// Webhook endpoints, fan-out and sends: `app.webhooks()`.
    Webhooks
);
