//! The fan-out: one event becomes one delivery per receiver that wants it.

use super::*;
use crate::app::AppError;
use crate::domain::webhook::{self};
use crate::domain::{Approval, WebhookDelivery, WebhookDeliveryStatus, WebhookPurpose};

impl Webhooks<'_> {
    /// One event → one delivery per matching endpoint, the request's callbackUrl, and
    /// (once approved) its executor. Idempotent: a second run adds nothing.
    pub(crate) async fn fan_out(&self, tenant_id: &str, event: &Event) -> Result<usize, AppError> {
        let approval: Approval = serde_json::from_value(event.snapshot.clone())
            .map_err(|e| crate::ports::StoreError::Corrupt(format!("event snapshot: {e}")))?;
        let now = self.clock.now();
        let body = event.message().to_string();
        let delivery = |purpose: WebhookPurpose,
                        receiver: &str,
                        endpoint_id: Option<String>,
                        url: &str,
                        body: &str| {
            let id = delivery_id(&event.id, receiver);
            let job = send_job(tenant_id, &id, now, "1");
            let d = WebhookDelivery {
                tenant_id: tenant_id.to_owned(),
                id,
                purpose,
                endpoint_id,
                url: url.to_owned(),
                approval_id: event.approval_id.clone(),
                event_id: event.id.clone(),
                event_type: event.event_type.clone(),
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
            .filter(|e| e.active && webhook::matches(&e.events, &event.event_type))
            .map(|e| {
                delivery(
                    WebhookPurpose::Endpoint,
                    &e.id,
                    Some(e.id.clone()),
                    &e.url,
                    &body,
                )
            })
            .collect();
        if let Some(url) = &approval.spec.callback_url {
            deliveries.push(delivery(
                WebhookPurpose::Callback,
                "callback",
                None,
                url,
                &body,
            ));
        }
        let approved = matches!(
            event.event_type.as_str(),
            "approval.approved" | "approval.modified"
        );
        if let (true, Some(url)) = (approved, &approval.spec.executor) {
            let body = executor_body(event, &approval);
            deliveries.push(delivery(
                WebhookPurpose::Executor,
                "executor",
                None,
                url,
                &body,
            ));
        }
        let n = deliveries.len();
        if n > 0 {
            self.stores.webhooks.add_deliveries(deliveries).await?;
            // Wakes the workers that send.
            self.approvals().announce(tenant_id, &approval, true);
        }
        Ok(n)
    }
}
