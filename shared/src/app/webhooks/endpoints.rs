//! Endpoints: create, read, change, delete, rotate secrets, read and redeliver their
//! deliveries.

use serde::Deserialize;
use utoipa::ToSchema;

use chrono::{DateTime, Utc};

use super::*;
use crate::app::{AppError, Caller};
use crate::domain::webhook::{self, Secret};
use crate::domain::{Attempt, Endpoint, FieldError, WebhookDelivery, WebhookDeliveryStatus};
use crate::ports::IdKind;

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

impl Webhooks<'_> {
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
        caller.require_agent_side("manage webhooks")?;
        let errors = Self::check_endpoint_fields(
            Some(&input.url),
            Some(&input.events),
            input.description.as_deref(),
        );
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        crate::app::check_receiver(self.sender.as_ref(), &input.url, "/url").await?;
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
        self.stores.webhooks.insert_endpoint(&endpoint).await?;
        Ok(endpoint)
    }

    pub async fn endpoints(&self, caller: &Caller) -> Result<Vec<Endpoint>, AppError> {
        caller.require_agent_side("manage webhooks")?;
        Ok(self.stores.webhooks.endpoints(&caller.tenant_id).await?)
    }

    pub async fn endpoint(&self, caller: &Caller, id: &str) -> Result<Endpoint, AppError> {
        caller.require_agent_side("manage webhooks")?;
        self.stores
            .webhooks
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
        caller.require_agent_side("manage webhooks")?;
        let errors = Self::check_endpoint_fields(
            patch.url.as_deref(),
            patch.events.as_deref(),
            patch.description.as_deref(),
        );
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        if let Some(url) = &patch.url {
            crate::app::check_receiver(self.sender.as_ref(), url, "/url").await?;
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
        if !self.stores.webhooks.update_endpoint(&e).await? {
            return Err(AppError::NotFound("webhook endpoint"));
        }
        Ok(e)
    }

    pub async fn delete_endpoint(&self, caller: &Caller, id: &str) -> Result<(), AppError> {
        caller.require_agent_side("manage webhooks")?;
        if self
            .stores
            .webhooks
            .delete_endpoint(&caller.tenant_id, id)
            .await?
        {
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
        caller.require_agent_side("manage webhooks")?;
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
        self.stores.webhooks.update_endpoint(&e).await?;
        Ok(e)
    }

    /// A new secret for the tenant's callbacks and executor calls (the first, if none).
    pub async fn rotate_callback_secret(&self, caller: &Caller) -> Result<Secret, AppError> {
        caller.require_agent_side("manage webhooks")?;
        let secret = new_secret();
        self.stores
            .webhooks
            .set_callback_secret(&caller.tenant_id, &secret)
            .await?;
        Ok(secret)
    }

    pub async fn endpoint_deliveries(
        &self,
        caller: &Caller,
        endpoint_id: &str,
        limit: u32,
    ) -> Result<Vec<WebhookDelivery>, AppError> {
        caller.require_agent_side("manage webhooks")?;
        self.endpoint(caller, endpoint_id).await?;
        Ok(self
            .stores
            .webhooks
            .deliveries(&caller.tenant_id, endpoint_id, None, limit)
            .await?)
    }

    pub async fn delivery(
        &self,
        caller: &Caller,
        endpoint_id: &str,
        delivery_id: &str,
    ) -> Result<(WebhookDelivery, Vec<Attempt>), AppError> {
        caller.require_agent_side("manage webhooks")?;
        let d = self
            .stores
            .webhooks
            .delivery(&caller.tenant_id, delivery_id)
            .await?
            .filter(|d| d.endpoint_id.as_deref() == Some(endpoint_id))
            .ok_or(AppError::NotFound("delivery"))?;
        let attempts = self
            .stores
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
    ) -> Result<WebhookDelivery, AppError> {
        caller.require_agent_side("manage webhooks")?;
        let (d, _) = self.delivery(caller, endpoint_id, delivery_id).await?;
        let job = send_job(
            &d.tenant_id,
            &d.id,
            self.clock.now(),
            &self.ids.next(IdKind::Job),
        );
        self.stores
            .webhooks
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
        caller.require_agent_side("manage webhooks")?;
        self.endpoint(caller, endpoint_id).await?;
        let now = self.clock.now();
        let jobs: Vec<(String, NewJob)> = self
            .stores
            .webhooks
            .deliveries(&caller.tenant_id, endpoint_id, Some(since), 10_000)
            .await?
            .into_iter()
            .filter(|d| d.status == WebhookDeliveryStatus::Dead)
            .map(|d| {
                let job = send_job(&d.tenant_id, &d.id, now, &self.ids.next(IdKind::Job));
                (d.id, job)
            })
            .collect();
        let n = jobs.len();
        self.stores
            .webhooks
            .redeliver(&caller.tenant_id, jobs)
            .await?;
        Ok(n)
    }
}
