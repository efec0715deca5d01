//! Telling agents and systems: webhook endpoints, the fan-out of every event to them
//! and to the request's callbackUrl, the signed sends with their retries, and the
//! executor call of an approved action.

use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::{App, AppError, Caller};
use crate::domain::webhook::{self, ATTEMPT_TIMEOUT, DISABLE_AFTER, MAX_ATTEMPTS, Secret};
use crate::domain::{
    Actor, Approval, Command, Event, ExecutionReport, ExecutionStatus, FieldError, Source, Status,
};
use crate::ports::{
    Attempt, Delivery, DeliveryStatus, Endpoint, IdKind, NewJob, Post, Purpose, SEND_KIND,
    SendFailure,
};

/// The job that turns one event into deliveries.
pub const FANOUT: &str = "webhook.fanout";

/// What a fan-out job carries: which event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FanOut {
    pub tenant_id: String,
    pub approval_id: String,
    pub seq: i64,
}

/// What a send job carries: which delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Send {
    pub tenant_id: String,
    pub delivery_id: String,
}

/// The longest overlap a rotation may give the previous secret.
const MAX_OVERLAP_SECONDS: i64 = 7 * 24 * 3600;
const DEFAULT_OVERLAP_SECONDS: i64 = 24 * 3600;

/// The body of `POST /v1/webhooks`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewEndpoint {
    pub url: String,
    /// Event types, prefix patterns (`approval.*`) or `*`.
    pub events: Vec<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub active: Option<bool>,
}

/// The body of `PATCH /v1/webhooks/{id}`: what to change.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EndpointPatch {
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub events: Option<Vec<String>>,
    #[serde(default)]
    pub description: Option<String>,
    /// `true` re-enables an endpoint that was disabled for failing.
    #[serde(default)]
    pub active: Option<bool>,
}

/// The body of `POST /v1/webhooks/{id}/rotate-secret`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rotation {
    /// How long the previous secret still signs too (default one day, at most seven).
    #[serde(default)]
    pub overlap_seconds: Option<i64>,
}

/// What a send came to.
#[derive(Debug, Clone, PartialEq)]
pub enum SendOutcome {
    /// Delivered, dead, or nothing left to do.
    Settled,
    /// Failed; try again at this time.
    RetryAt(DateTime<Utc>, String),
}

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
        kind: SEND_KIND.to_owned(),
        // Not tied to the request's jobs: a slow receiver must not hold up its timers.
        approval_id: None,
        payload: serde_json::to_value(Send {
            tenant_id: tenant_id.to_owned(),
            delivery_id: delivery_id.to_owned(),
        })
        .expect("payloads serialize"),
        run_at: at,
        // The delivery counts its own attempts; these spare ones absorb store errors.
        max_attempts: i32::try_from(MAX_ATTEMPTS).unwrap_or(10) * 2,
    }
}

/// The outbox row that fans `event` out, written in the transaction that records it.
pub(super) fn fanout_job(app: &App, tenant_id: &str, event: &Event) -> NewJob {
    NewJob {
        id: app.ids.next(IdKind::Job),
        tenant_id: tenant_id.to_owned(),
        kind: FANOUT.to_owned(),
        approval_id: Some(event.approval_id.clone()),
        payload: serde_json::to_value(FanOut {
            tenant_id: tenant_id.to_owned(),
            approval_id: event.approval_id.clone(),
            seq: event.seq,
        })
        .expect("payloads serialize"),
        run_at: event.occurred_at,
        max_attempts: 20,
    }
}

/// The webhook body of an event: `{type, timestamp, data: {event, approval}}`; also
/// the data of each live-stream message.
pub fn event_message(event: &Event) -> Value {
    json!({
        "type": event.event_type,
        "timestamp": event.occurred_at,
        "data": {
            "event": {
                "id": event.id,
                "approvalId": event.approval_id,
                "sequence": event.seq,
                "type": event.event_type,
                "data": event.data,
                "actor": event.actor,
                "source": event.source.as_str(),
                "occurredAt": event.occurred_at,
            },
            "approval": event.snapshot,
        }
    })
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

impl App {
    async fn check_receiver(&self, url: &str, field: &str) -> Result<(), AppError> {
        let parsed = webhook::check_url(url, field).map_err(|e| AppError::Invalid(vec![e]))?;
        self.sender
            .check(&parsed)
            .await
            .map_err(|e| AppError::invalid(field, e.to_string()))
    }

    /// Refuses a request whose callbackUrl or executor is not a receiver we may call.
    pub(super) async fn check_request_receivers(&self, a: &Approval) -> Result<(), AppError> {
        if let Some(u) = &a.spec.callback_url {
            self.check_receiver(u, "/callbackUrl").await?;
        }
        if let Some(u) = &a.spec.executor {
            self.check_receiver(u, "/executor").await?;
        }
        Ok(())
    }

    fn check_endpoint_fields(
        url: Option<&str>,
        events: Option<&[String]>,
        description: Option<&str>,
    ) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if let Some(Err(e)) = url.map(|u| webhook::check_url(u, "/url")) {
            errors.push(e);
        }
        if let Some(events) = events {
            errors.extend(webhook::check_patterns(events, "/events"));
        }
        if description.is_some_and(|d| d.chars().count() > webhook::MAX_DESCRIPTION) {
            errors.push(FieldError::new(
                "/description",
                format!("at most {} characters", webhook::MAX_DESCRIPTION),
            ));
        }
        errors
    }

    pub async fn create_endpoint(
        &self,
        caller: &Caller,
        input: NewEndpoint,
    ) -> Result<Endpoint, AppError> {
        let errors = Self::check_endpoint_fields(
            Some(&input.url),
            Some(&input.events),
            input.description.as_deref(),
        );
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        self.check_receiver(&input.url, "/url").await?;
        let now = self.clock.now();
        let endpoint = Endpoint {
            tenant_id: caller.tenant_id.clone(),
            id: self.ids.next(IdKind::Webhook),
            url: input.url,
            description: input.description.unwrap_or_default(),
            events: input.events,
            active: input.active.unwrap_or(true),
            secret: new_secret(),
            previous_secret: None,
            failing_since: None,
            disabled_reason: None,
            created_at: now,
            updated_at: now,
        };
        self.webhooks.insert_endpoint(&endpoint).await?;
        Ok(endpoint)
    }

    pub async fn endpoints(&self, caller: &Caller) -> Result<Vec<Endpoint>, AppError> {
        Ok(self.webhooks.endpoints(&caller.tenant_id).await?)
    }

    pub async fn endpoint(&self, caller: &Caller, id: &str) -> Result<Endpoint, AppError> {
        self.webhooks
            .endpoint(&caller.tenant_id, id)
            .await?
            .ok_or(AppError::NotFound("webhook endpoint"))
    }

    pub async fn update_endpoint(
        &self,
        caller: &Caller,
        id: &str,
        patch: EndpointPatch,
    ) -> Result<Endpoint, AppError> {
        let errors = Self::check_endpoint_fields(
            patch.url.as_deref(),
            patch.events.as_deref(),
            patch.description.as_deref(),
        );
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        if let Some(url) = &patch.url {
            self.check_receiver(url, "/url").await?;
        }
        let mut e = self.endpoint(caller, id).await?;
        if let Some(url) = patch.url {
            e.url = url;
        }
        if let Some(events) = patch.events {
            e.events = events;
        }
        if let Some(d) = patch.description {
            e.description = d;
        }
        if let Some(active) = patch.active {
            if active && !e.active {
                e.failing_since = None;
                e.disabled_reason = None;
            }
            e.active = active;
        }
        e.updated_at = self.clock.now();
        if !self.webhooks.update_endpoint(&e).await? {
            return Err(AppError::NotFound("webhook endpoint"));
        }
        Ok(e)
    }

    pub async fn delete_endpoint(&self, caller: &Caller, id: &str) -> Result<(), AppError> {
        if self.webhooks.delete_endpoint(&caller.tenant_id, id).await? {
            Ok(())
        } else {
            Err(AppError::NotFound("webhook endpoint"))
        }
    }

    /// A new secret; the previous one keeps signing alongside it for the overlap.
    pub async fn rotate_endpoint_secret(
        &self,
        caller: &Caller,
        id: &str,
        rotation: Rotation,
    ) -> Result<Endpoint, AppError> {
        let overlap = rotation.overlap_seconds.unwrap_or(DEFAULT_OVERLAP_SECONDS);
        if !(0..=MAX_OVERLAP_SECONDS).contains(&overlap) {
            return Err(AppError::invalid(
                "/overlapSeconds",
                format!("between 0 and {MAX_OVERLAP_SECONDS}"),
            ));
        }
        let mut e = self.endpoint(caller, id).await?;
        let now = self.clock.now();
        let previous = std::mem::replace(&mut e.secret, new_secret());
        e.previous_secret =
            (overlap > 0).then(|| (previous, now + chrono::Duration::seconds(overlap)));
        e.updated_at = now;
        self.webhooks.update_endpoint(&e).await?;
        Ok(e)
    }

    /// A new secret for the tenant's callbacks and executor calls (the first, if none).
    pub async fn rotate_callback_secret(&self, caller: &Caller) -> Result<Secret, AppError> {
        let secret = new_secret();
        self.webhooks
            .set_callback_secret(&caller.tenant_id, &secret)
            .await?;
        Ok(secret)
    }

    pub async fn endpoint_deliveries(
        &self,
        caller: &Caller,
        endpoint_id: &str,
        limit: u32,
    ) -> Result<Vec<Delivery>, AppError> {
        self.endpoint(caller, endpoint_id).await?;
        Ok(self
            .webhooks
            .deliveries(&caller.tenant_id, endpoint_id, None, limit)
            .await?)
    }

    pub async fn delivery(
        &self,
        caller: &Caller,
        endpoint_id: &str,
        delivery_id: &str,
    ) -> Result<(Delivery, Vec<Attempt>), AppError> {
        let d = self
            .webhooks
            .delivery(&caller.tenant_id, delivery_id)
            .await?
            .filter(|d| d.endpoint_id.as_deref() == Some(endpoint_id))
            .ok_or(AppError::NotFound("delivery"))?;
        let attempts = self
            .webhooks
            .attempts(&caller.tenant_id, delivery_id)
            .await?;
        Ok((d, attempts))
    }

    /// Sends a delivery again, under its same `webhook-id`.
    pub async fn redeliver(
        &self,
        caller: &Caller,
        endpoint_id: &str,
        delivery_id: &str,
    ) -> Result<Delivery, AppError> {
        let (d, _) = self.delivery(caller, endpoint_id, delivery_id).await?;
        let job = send_job(
            &d.tenant_id,
            &d.id,
            self.clock.now(),
            &self.ids.next(IdKind::Job),
        );
        self.webhooks
            .redeliver(&caller.tenant_id, vec![(d.id.clone(), job)])
            .await?;
        Ok(self.delivery(caller, endpoint_id, delivery_id).await?.0)
    }

    /// Sends again every delivery of an endpoint made since `since` that did not get
    /// through (dead-lettered); returns how many.
    pub async fn redeliver_since(
        &self,
        caller: &Caller,
        endpoint_id: &str,
        since: DateTime<Utc>,
    ) -> Result<usize, AppError> {
        self.endpoint(caller, endpoint_id).await?;
        let now = self.clock.now();
        let jobs: Vec<(String, NewJob)> = self
            .webhooks
            .deliveries(&caller.tenant_id, endpoint_id, Some(since), 10_000)
            .await?
            .into_iter()
            .filter(|d| d.status == DeliveryStatus::Dead)
            .map(|d| {
                let job = send_job(&d.tenant_id, &d.id, now, &self.ids.next(IdKind::Job));
                (d.id, job)
            })
            .collect();
        let n = jobs.len();
        self.webhooks.redeliver(&caller.tenant_id, jobs).await?;
        Ok(n)
    }

    /// One event → one delivery per matching endpoint, the request's callbackUrl, and
    /// (once approved) its executor. Idempotent: a second run adds nothing.
    pub(super) async fn fan_out(&self, f: &FanOut) -> Result<usize, AppError> {
        let event = self
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
        let delivery = |purpose: Purpose,
                        receiver: &str,
                        endpoint_id: Option<String>,
                        url: &str,
                        body: &str| {
            let id = delivery_id(&event.id, receiver);
            let job = send_job(&f.tenant_id, &id, now, "1");
            let d = Delivery {
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
                status: DeliveryStatus::Pending,
                attempts: 0,
                next_attempt_at: Some(now),
                last_status: None,
                last_error: None,
                created_at: now,
                delivered_at: None,
            };
            (d, job)
        };
        let mut deliveries: Vec<(Delivery, NewJob)> = self
            .webhooks
            .endpoints(&f.tenant_id)
            .await?
            .into_iter()
            .filter(|e| e.active && webhook::matches(&e.events, &event.event_type))
            .map(|e| delivery(Purpose::Endpoint, &e.id, Some(e.id.clone()), &e.url, &body))
            .collect();
        if let Some(url) = &approval.spec.callback_url {
            deliveries.push(delivery(Purpose::Callback, "callback", None, url, &body));
        }
        let approved = matches!(
            event.event_type.as_str(),
            "approval.approved" | "approval.modified"
        );
        if let (true, Some(url)) = (approved, &approval.spec.executor) {
            let body = executor_body(&event, &approval);
            deliveries.push(delivery(Purpose::Executor, "executor", None, url, &body));
        }
        self.push_to_connections(&f.tenant_id, &event).await?;
        let n = deliveries.len();
        if n > 0 {
            self.webhooks.add_deliveries(deliveries).await?;
            // Wakes the workers that send.
            self.announce(&f.tenant_id, &approval, true);
        }
        Ok(n)
    }

    /// One attempt at a delivery: sign, POST, record; then delivered, retry later, or
    /// dead after the last attempt (or at once, for a refused address).
    pub(super) async fn send(&self, s: &Send) -> Result<SendOutcome, AppError> {
        let Some(mut d) = self.webhooks.delivery(&s.tenant_id, &s.delivery_id).await? else {
            return Ok(SendOutcome::Settled);
        };
        if d.status != DeliveryStatus::Pending {
            return Ok(SendOutcome::Settled);
        }
        let now = self.clock.now();
        let endpoint = match &d.endpoint_id {
            Some(id) => match self.webhooks.endpoint(&d.tenant_id, id).await? {
                Some(e) if e.active => Some(e),
                gone => {
                    let why = if gone.is_some() {
                        "the endpoint is disabled"
                    } else {
                        "the endpoint was deleted"
                    };
                    self.bury_delivery(&mut d, now, why).await?;
                    return Ok(SendOutcome::Settled);
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
                url: d.url.clone(),
                headers: vec![
                    ("content-type".into(), "application/json".into()),
                    ("webhook-id".into(), d.id.clone()),
                    ("webhook-timestamp".into(), timestamp.to_string()),
                    ("webhook-signature".into(), signature),
                ],
                body: d.body.clone(),
                timeout: ATTEMPT_TIMEOUT,
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
            let backoff = chrono::Duration::from_std(webhook::retry_delay(attempt.unsigned_abs()))
                .unwrap_or(chrono::Duration::hours(10));
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
                d.status = DeliveryStatus::Delivered;
                d.delivered_at = Some(now);
                d.next_attempt_at = None;
                d.last_error = None;
                self.webhooks.record_attempt(&d, &attempt_row).await?;
                if let Some(e) = endpoint.filter(|e| e.failing_since.is_some()) {
                    self.webhooks
                        .endpoint_succeeding(&e.tenant_id, &e.id)
                        .await?;
                }
                if d.purpose == Purpose::Executor {
                    let result = serde_json::from_str::<Value>(
                        &attempt_row.response.clone().unwrap_or_default(),
                    )
                    .unwrap_or_else(|_| json!({"status": status, "body": attempt_row.response}));
                    self.executor_reported(&d, ExecutionStatus::Succeeded, Some(result), None)
                        .await?;
                }
                Ok(SendOutcome::Settled)
            }
            (Some(error), Some(at)) => {
                d.next_attempt_at = Some(at);
                d.last_error = Some(error.clone());
                self.webhooks.record_attempt(&d, &attempt_row).await?;
                if let Some(e) = &endpoint {
                    self.endpoint_failed(e, now, false).await?;
                }
                Ok(SendOutcome::RetryAt(at, error))
            }
            (Some(error), None) => {
                d.status = DeliveryStatus::Dead;
                d.next_attempt_at = None;
                d.last_error = Some(error.clone());
                self.webhooks.record_attempt(&d, &attempt_row).await?;
                tracing::warn!(delivery = %d.id, url = %d.url, %error, "delivery dead-lettered");
                if let Some(e) = &endpoint {
                    self.endpoint_failed(e, now, true).await?;
                }
                if d.purpose == Purpose::Executor {
                    self.executor_reported(&d, ExecutionStatus::Failed, None, Some(error))
                        .await?;
                }
                Ok(SendOutcome::Settled)
            }
        }
    }

    /// Dead without a send: its endpoint is gone or disabled. Recorded as an attempt,
    /// so the log says why.
    async fn bury_delivery(
        &self,
        d: &mut Delivery,
        now: DateTime<Utc>,
        why: &str,
    ) -> Result<(), AppError> {
        d.attempts += 1;
        d.status = DeliveryStatus::Dead;
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
        self.webhooks.record_attempt(d, &a).await?;
        Ok(())
    }

    async fn callback_secret(&self, tenant_id: &str) -> Result<Secret, AppError> {
        if let Some(s) = self.webhooks.callback_secret(tenant_id).await? {
            return Ok(s);
        }
        // A callback is due before the tenant asked for a secret: make one, which the
        // tenant can read by rotating.
        let s = new_secret();
        self.webhooks.set_callback_secret(tenant_id, &s).await?;
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
        self.webhooks
            .endpoint_failing(&e.tenant_id, &e.id, now)
            .await?;
        if dead {
            let since = e.failing_since.unwrap_or(now);
            let reason = format!(
                "every delivery failed since {}; re-enable it with PATCH {{\"active\": true}}",
                since.to_rfc3339()
            );
            if self
                .webhooks
                .disable_failing_endpoint(&e.tenant_id, &e.id, now - DISABLE_AFTER, &reason, now)
                .await?
            {
                tracing::warn!(endpoint = %e.id, url = %e.url, "webhook endpoint disabled after failing for days");
            }
        }
        Ok(())
    }

    async fn executor_reported(
        &self,
        d: &Delivery,
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
