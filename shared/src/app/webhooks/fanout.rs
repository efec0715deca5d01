//! The fan-out: one event becomes one delivery per receiver that wants it.

use super::*;
use crate::app::AppError;
use crate::domain::webhook::{self};
use crate::domain::{Approval, WebhookDelivery, WebhookDeliveryStatus, WebhookPurpose};

/// One event as webhooks carry it: a request's or a run's.
pub(crate) struct Outgoing<'a> {
    pub event_id: &'a str,
    /// The request or run the event is about.
    pub subject_id: &'a str,
    pub event_type: &'a str,
    pub seq: i64,
    /// The webhook body.
    pub body: &'a str,
}

/// A receiver of an event beside the endpoints: a request's callback or executor.
pub(crate) struct Receiver {
    purpose: WebhookPurpose,
    name: &'static str,
    url: String,
    body: String,
}

impl Webhooks<'_> {
    /// One event → one delivery per matching endpoint, the request's callbackUrl, and
    /// (once approved) its executor. Idempotent: a second run adds nothing.
    pub(crate) async fn fan_out(&self, tenant_id: &str, event: &Event) -> Result<usize, AppError> {
        let approval: Approval = serde_json::from_value(event.snapshot.clone())
            .map_err(|e| crate::ports::StoreError::Corrupt(format!("event snapshot: {e}")))?;
        let body = event.message().to_string();
        let mut receivers = Vec::new();
        if let Some(url) = &approval.spec.callback_url {
            receivers.push(Receiver {
                purpose: WebhookPurpose::Callback,
                name: "callback",
                url: url.clone(),
                body: body.clone(),
            });
        }
        let approved = matches!(
            event.event_type.as_str(),
            "approval.approved" | "approval.modified"
        );
        if let (true, Some(url)) = (approved, &approval.spec.executor) {
            receivers.push(Receiver {
                purpose: WebhookPurpose::Executor,
                name: "executor",
                url: url.clone(),
                body: executor_body(event, &approval),
            });
        }
        let outgoing = Outgoing {
            event_id: &event.id,
            subject_id: &event.approval_id,
            event_type: &event.event_type,
            seq: event.seq,
            body: &body,
        };
        self.deliver(tenant_id, &outgoing, receivers).await
    }

    /// One delivery of `event` per active endpoint that selects its type, and one per
    /// other receiver, each with its send job; idempotent.
    pub(crate) async fn deliver(
        &self,
        tenant_id: &str,
        event: &Outgoing<'_>,
        receivers: Vec<Receiver>,
    ) -> Result<usize, AppError> {
        let now = self.clock.now();
        let delivery = |purpose: WebhookPurpose,
                        receiver: &str,
                        endpoint_id: Option<String>,
                        url: &str,
                        body: &str| {
            let id = delivery_id(event.event_id, receiver);
            let job = send_job(tenant_id, &id, now, "1");
            let d = WebhookDelivery {
                tenant_id: tenant_id.to_owned(),
                id,
                purpose,
                endpoint_id,
                url: url.to_owned(),
                approval_id: event.subject_id.to_owned(),
                event_id: event.event_id.to_owned(),
                event_type: event.event_type.to_owned(),
                event_seq: event.seq,
                body: body.to_owned(),
                status: WebhookDeliveryStatus::Pending,
                attempts: 0,
                next_attempt_at: Some(now),
                last_status: None,
                last_error: None,
                created_at: now,
                delivered_at: None,
            };
            (d, job)
        };
        let mut deliveries: Vec<(WebhookDelivery, NewJob)> = self
            .stores
            .webhooks
            .endpoints(tenant_id)
            .await?
            .into_iter()
            .filter(|e| e.active && webhook::matches(&e.events, event.event_type))
            .map(|e| {
                delivery(
                    WebhookPurpose::Endpoint,
                    &e.id,
                    Some(e.id.clone()),
                    &e.url,
                    event.body,
                )
            })
            .collect();
        for r in &receivers {
            deliveries.push(delivery(r.purpose, r.name, None, &r.url, &r.body));
        }
        let n = deliveries.len();
        if n > 0 {
            self.stores.webhooks.add_deliveries(deliveries).await?;
            // Wakes the workers that send.
            self.changes.publish(crate::ports::Changed {
                tenant_id: tenant_id.to_owned(),
                subject_id: event.subject_id.to_owned(),
                version: event.seq,
                has_jobs: true,
            });
        }
        Ok(n)
    }
}
