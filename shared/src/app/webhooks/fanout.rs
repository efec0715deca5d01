//! The fan-out: one event becomes one delivery per receiver that wants it.

use super::*;
use crate::app::AppError;
use crate::domain::webhook::{self};
use crate::domain::{Approval, EventRef, WebhookDelivery, WebhookDeliveryStatus, WebhookPurpose};

impl Webhooks<'_> {
    /// One event → one delivery per matching endpoint, the request's callbackUrl, and
    /// (once approved) its executor. Idempotent: a second run adds nothing.
    pub(crate) async fn fan_out(&self, f: &EventRef) -> Result<usize, AppError> {
        let event = self
            .stores
            .approvals
            .events(&f.tenant_id, &f.approval_id)
            .await?
            .into_iter()
            .find(|e| e.seq == f.seq)
            .ok_or(AppError::NotFound("event"))?;
        let approval: Approval = serde_json::from_value(event.snapshot.clone())
            .map_err(|e| crate::ports::StoreError::Corrupt(format!("event snapshot: {e}")))?;
        let now = self.clock.now();
        let body = event_message(&event).to_string();
        let delivery = |purpose: WebhookPurpose,
                        receiver: &str,
                        endpoint_id: Option<String>,
                        url: &str,
                        body: &str| {
            let id = delivery_id(&event.id, receiver);
            let job = send_job(&f.tenant_id, &id, now, "1");
            let d = WebhookDelivery {
                tenant_id: f.tenant_id.clone(),
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
            .endpoints(&f.tenant_id)
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
            let body = executor_body(&event, &approval);
            deliveries.push(delivery(
                WebhookPurpose::Executor,
                "executor",
                None,
                url,
                &body,
            ));
        }
        self.stream().push(&f.tenant_id, &event).await?;
        let n = deliveries.len();
        if n > 0 {
            self.stores.webhooks.add_deliveries(deliveries).await?;
            // Wakes the workers that send.
            self.approvals().announce(&f.tenant_id, &approval, true);
        }
        Ok(n)
    }
}
