//! One signed send of a delivery, its record, and what its answer means for the
//! endpoint (failing, disabled) and the request (an executor's report).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::*;
use crate::app::AppError;
use crate::domain::retry::Backoff;
use crate::domain::webhook::{self, ATTEMPT_TIMEOUT, DISABLE_AFTER, MAX_ATTEMPTS, Secret};
use crate::domain::{
    Actor, Attempt, Command, DeliveryRef, Endpoint, ExecutionReport, ExecutionStatus, Outcome,
    Source, Status, WebhookDelivery, WebhookDeliveryStatus, WebhookPurpose,
};
use crate::ports::{Post, SendFailure};

impl Webhooks<'_> {
    /// One attempt at a delivery: sign, POST, record; then delivered, retry later, or
    /// dead after the last attempt (or at once, for a refused address).
    pub(crate) async fn send(&self, s: &DeliveryRef) -> Result<Outcome, AppError> {
        let Some(mut d) = self
            .stores
            .webhooks
            .delivery(&s.tenant_id, &s.delivery_id)
            .await?
        else {
            return Ok(Outcome::Done);
        };
        if d.status != WebhookDeliveryStatus::Pending {
            return Ok(Outcome::Done);
        }
        let now = self.clock.now();
        let endpoint = match &d.endpoint_id {
            Some(id) => match self.stores.webhooks.endpoint(&d.tenant_id, id).await? {
                Some(e) if e.active => Some(e),
                gone => {
                    let why = if gone.is_some() {
                        "the endpoint is disabled"
                    } else {
                        "the endpoint was deleted"
                    };
                    self.bury_delivery(&mut d, now, why).await?;
                    return Ok(Outcome::Done);
                }
            },
            None => None,
        };
        let secrets: Vec<Secret> = match &endpoint {
            Some(e) => std::iter::once(e.secret.clone())
                .chain(
                    e.previous_secret
                        .as_ref()
                        .filter(|(_, until)| *until > now)
                        .map(|(s, _)| s.clone()),
                )
                .collect(),
            None => vec![self.callback_secret(&d.tenant_id).await?],
        };
        let timestamp = now.timestamp();
        let signature = webhook::signature_header(
            &secrets.iter().collect::<Vec<_>>(),
            &d.id,
            timestamp,
            d.body.as_bytes(),
        );
        let (latency, answer) = self
            .sender
            .post(Post {
                method: "POST",
                url: d.url.clone(),
                headers: vec![
                    ("content-type".into(), "application/json".into()),
                    ("webhook-id".into(), d.id.clone()),
                    ("webhook-timestamp".into(), timestamp.to_string()),
                    ("webhook-signature".into(), signature),
                ],
                body: d.body.clone(),
                timeout: ATTEMPT_TIMEOUT,
                max_body: webhook::RESPONSE_EXCERPT,
            })
            .await;
        let latency_ms = i64::try_from(latency.as_millis()).unwrap_or(i64::MAX);
        let attempt = d.attempts + 1;
        let (status, excerpt, error, retry_after, refused) = match &answer {
            Ok(a) if (200..300).contains(&a.status) => {
                (Some(a.status), Some(a.excerpt.clone()), None, None, false)
            }
            Ok(a) => {
                let honoured = matches!(a.status, 429 | 503)
                    .then(|| {
                        a.retry_after
                            .as_deref()
                            .and_then(|v| webhook::parse_retry_after(v, now))
                    })
                    .flatten();
                (
                    Some(a.status),
                    Some(a.excerpt.clone()),
                    Some(format!("HTTP {}", a.status)),
                    honoured,
                    false,
                )
            }
            Err(SendFailure::Refused(why)) => {
                (None, None, Some(format!("refused: {why}")), None, true)
            }
            Err(SendFailure::Failed(why)) => (None, None, Some(why.clone()), None, false),
        };
        let last = refused || u32::try_from(attempt).unwrap_or(u32::MAX) >= MAX_ATTEMPTS;
        let next = (error.is_some() && !last).then(|| {
            let backoff = Backoff::WEBHOOKS.after(attempt, now, rand::random()) - now;
            now + retry_after.map_or(backoff, |r| r.max(backoff).min(chrono::Duration::hours(24)))
        });
        d.attempts = attempt;
        d.last_status = status.map(i32::from);
        let attempt_row = Attempt {
            attempt,
            at: now,
            status_code: status.map(i32::from),
            latency_ms,
            response: excerpt,
            error: error.clone(),
        };
        match (error, next) {
            (None, _) => {
                d.status = WebhookDeliveryStatus::Delivered;
                d.delivered_at = Some(now);
                d.next_attempt_at = None;
                d.last_error = None;
                self.stores
                    .webhooks
                    .record_attempt(&d, &attempt_row)
                    .await?;
                if let Some(e) = endpoint.filter(|e| e.failing_since.is_some()) {
                    self.stores
                        .webhooks
                        .endpoint_succeeding(&e.tenant_id, &e.id)
                        .await?;
                }
                if d.purpose == WebhookPurpose::Executor {
                    let result = serde_json::from_str::<Value>(
                        &attempt_row.response.clone().unwrap_or_default(),
                    )
                    .unwrap_or_else(|_| json!({"status": status, "body": attempt_row.response}));
                    self.executor_reported(&d, ExecutionStatus::Succeeded, Some(result), None)
                        .await?;
                }
                Ok(Outcome::Done)
            }
            (Some(error), Some(at)) => {
                d.next_attempt_at = Some(at);
                d.last_error = Some(error.clone());
                self.stores
                    .webhooks
                    .record_attempt(&d, &attempt_row)
                    .await?;
                if let Some(e) = &endpoint {
                    self.endpoint_failed(e, now, false).await?;
                }
                Ok(Outcome::RetryAt(at, error))
            }
            (Some(error), None) => {
                d.status = WebhookDeliveryStatus::Dead;
                d.next_attempt_at = None;
                d.last_error = Some(error.clone());
                self.stores
                    .webhooks
                    .record_attempt(&d, &attempt_row)
                    .await?;
                tracing::warn!(delivery = %d.id, host = host_of(&d.url), %error, "delivery dead-lettered");
                if let Some(e) = &endpoint {
                    self.endpoint_failed(e, now, true).await?;
                }
                if d.purpose == WebhookPurpose::Executor {
                    self.executor_reported(&d, ExecutionStatus::Failed, None, Some(error))
                        .await?;
                }
                Ok(Outcome::Done)
            }
        }
    }

    /// Dead without a send: its endpoint is gone or disabled. Recorded as an attempt,
    /// so the log says why.
    async fn bury_delivery(
        &self,
        d: &mut WebhookDelivery,
        now: DateTime<Utc>,
        why: &str,
    ) -> Result<(), AppError> {
        d.attempts += 1;
        d.status = WebhookDeliveryStatus::Dead;
        d.last_error = Some(why.to_owned());
        d.next_attempt_at = None;
        let a = Attempt {
            attempt: d.attempts,
            at: now,
            status_code: None,
            latency_ms: 0,
            response: None,
            error: Some(why.to_owned()),
        };
        self.stores.webhooks.record_attempt(d, &a).await?;
        Ok(())
    }

    pub(crate) async fn callback_secret(&self, tenant_id: &str) -> Result<Secret, AppError> {
        if let Some(s) = self.stores.webhooks.callback_secret(tenant_id).await? {
            return Ok(s);
        }
        // A callback is due before the tenant asked for a secret: make one, which the
        // tenant can read by rotating.
        let s = new_secret();
        self.stores
            .webhooks
            .set_callback_secret(tenant_id, &s)
            .await?;
        Ok(s)
    }

    /// Starts or continues the endpoint's run of failures; a delivery dead-lettered
    /// after failing for `DISABLE_AFTER` disables the endpoint. Each is one atomic
    /// update, so sends racing on one endpoint cannot undo each other.
    async fn endpoint_failed(
        &self,
        e: &Endpoint,
        now: DateTime<Utc>,
        dead: bool,
    ) -> Result<(), AppError> {
        self.stores
            .webhooks
            .endpoint_failing(&e.tenant_id, &e.id, now)
            .await?;
        if dead {
            let since = e.failing_since.unwrap_or(now);
            let reason = format!(
                "every delivery failed since {}; re-enable it with PATCH {{\"active\": true}}",
                since.to_rfc3339()
            );
            if self
                .stores
                .webhooks
                .disable_failing_endpoint(&e.tenant_id, &e.id, now - DISABLE_AFTER, &reason, now)
                .await?
            {
                tracing::warn!(endpoint = %e.id, host = host_of(&e.url), "webhook endpoint disabled after failing for days");
            }
        }
        Ok(())
    }

    async fn executor_reported(
        &self,
        d: &WebhookDelivery,
        status: ExecutionStatus,
        result: Option<Value>,
        error: Option<String>,
    ) -> Result<(), AppError> {
        let actor = Actor {
            id: "system:executor".into(),
            source: Source::System,
        };
        let report = ExecutionReport {
            status,
            result,
            error,
        };
        match self
            .approvals()
            .run_command(
                &d.tenant_id,
                &d.approval_id,
                Command::ReportExecution(report),
                &actor,
            )
            .await
        {
            Ok(_) => Ok(()),
            // The agent reported first, or the request moved on: its report stands.
            Err(AppError::Conflict { current, .. }) if current.status != Status::Approved => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// The host of a receiver URL, for logs: its path and query may hold a token the
/// receiver checks (many hooks carry one).
fn host_of(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default()
}
