//! `/v1/webhooks`: a tenant's endpoints, their deliveries and redelivery; and the
//! callback secret.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::app::webhooks::{EndpointPatch, NewEndpoint, Rotation};
use crate::app::{App, AppError};
use crate::domain::{Attempt, Endpoint, WebhookDelivery};
use crate::http::Problem;
use crate::http::extract::{Authed, JsonBody, OptionalJsonBody};
use crate::http::problem::{ApiCall, BadBody, BadQuery, NotFound, RoleForbidden};

/// An endpoint as shown: never its secret, except once, in `EndpointWithSecret`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EndpointView {
    pub id: String,
    pub url: String,
    pub description: String,
    pub events: Vec<String>,
    pub active: bool,
    /// Why it was disabled, when it was for failing.
    pub disabled_reason: Option<String>,
    /// Since when every delivery has failed, if they do.
    pub failing_since: Option<DateTime<Utc>>,
    /// Until when the previous secret also signs, during a rotation.
    pub previous_secret_valid_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&Endpoint> for EndpointView {
    fn from(e: &Endpoint) -> Self {
        Self {
            id: e.id.clone(),
            url: e.url.clone(),
            description: e.description.clone(),
            events: e.events.clone(),
            active: e.active,
            disabled_reason: e.disabled_reason.clone(),
            failing_since: e.failing_since,
            previous_secret_valid_until: e.previous_secret.as_ref().map(|(_, until)| *until),
            created_at: e.created_at,
            updated_at: e.updated_at,
        }
    }
}

/// The answer to creation and rotation: the only time the secret is shown.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EndpointWithSecret {
    #[serde(flatten)]
    pub endpoint: EndpointView,
    /// `whsec_…`: verify each request's `webhook-signature` with it (Standard Webhooks).
    pub secret: String,
}

impl From<&Endpoint> for EndpointWithSecret {
    fn from(e: &Endpoint) -> Self {
        Self {
            endpoint: e.into(),
            secret: e.secret.expose().to_owned(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointList {
    pub items: Vec<EndpointView>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookDeliveryView {
    /// The `webhook-id` of every attempt.
    pub id: String,
    pub approval_id: String,
    pub event_id: String,
    pub event_type: String,
    /// The event's sequence number within its request.
    pub sequence: i64,
    /// pending, delivered or dead.
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

impl From<&WebhookDelivery> for WebhookDeliveryView {
    fn from(d: &WebhookDelivery) -> Self {
        Self {
            id: d.id.clone(),
            approval_id: d.approval_id.clone(),
            event_id: d.event_id.clone(),
            event_type: d.event_type.clone(),
            sequence: d.event_seq,
            status: d.status.as_str().to_owned(),
            attempts: d.attempts,
            next_attempt_at: d.next_attempt_at,
            last_status: d.last_status,
            last_error: d.last_error.clone(),
            created_at: d.created_at,
            delivered_at: d.delivered_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookAttemptView {
    pub attempt: i32,
    pub at: DateTime<Utc>,
    pub status_code: Option<i32>,
    pub latency_ms: i64,
    /// The first 512 bytes of the answer.
    pub response: Option<String>,
    pub error: Option<String>,
}

impl From<&Attempt> for WebhookAttemptView {
    fn from(a: &Attempt) -> Self {
        Self {
            attempt: a.attempt,
            at: a.at,
            status_code: a.status_code,
            latency_ms: a.latency_ms,
            response: a.response.clone(),
            error: a.error.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookDeliveryDetail {
    #[serde(flatten)]
    pub delivery: WebhookDeliveryView,
    /// The body as sent.
    #[schema(value_type = Object)]
    pub payload: Value,
    pub attempt_log: Vec<WebhookAttemptView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookDeliveryList {
    pub items: Vec<WebhookDeliveryView>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LimitParams {
    /// Default 50.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    limit: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedeliverSince {
    /// Every dead-lettered delivery made at or after this time is sent again.
    pub since: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Redelivered {
    pub redelivered: usize,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CallbackSecret {
    /// `whsec_…`: signs the requests sent to callbackUrl and executor URLs.
    pub secret: String,
}

#[utoipa::path(post, path = "/v1/webhooks", tag = "webhooks", request_body = NewEndpoint,
    responses((status = 201, body = EndpointWithSecret), BadBody, RoleForbidden, ApiCall),
    security(("bearer" = [])))]
pub async fn create(
    State(app): State<App>,
    Authed(caller): Authed,
    JsonBody(input): JsonBody<NewEndpoint>,
) -> Result<(StatusCode, Json<EndpointWithSecret>), Problem> {
    let e = app.webhooks().create_endpoint(&caller, input).await?;
    Ok((StatusCode::CREATED, Json((&e).into())))
}

#[utoipa::path(get, path = "/v1/webhooks", tag = "webhooks",
    responses((status = 200, body = EndpointList), RoleForbidden, ApiCall),
    security(("bearer" = [])))]
pub async fn list(
    State(app): State<App>,
    Authed(caller): Authed,
) -> Result<Json<EndpointList>, Problem> {
    let items = app
        .webhooks()
        .endpoints(&caller)
        .await?
        .iter()
        .map(Into::into)
        .collect();
    Ok(Json(EndpointList { items }))
}

#[utoipa::path(get, path = "/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 200, body = EndpointView), NotFound, RoleForbidden, ApiCall),
    security(("bearer" = [])))]
pub async fn get(
    State(app): State<App>,
    Authed(caller): Authed,
    Path(id): Path<String>,
) -> Result<Json<EndpointView>, Problem> {
    Ok(Json((&app.webhooks().endpoint(&caller, &id).await?).into()))
}

#[utoipa::path(patch, path = "/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)),
    request_body = EndpointPatch,
    responses((status = 200, body = EndpointView), BadBody, NotFound, RoleForbidden, ApiCall),
    security(("bearer" = [])))]
pub async fn update(
    State(app): State<App>,
    Authed(caller): Authed,
    Path(id): Path<String>,
    JsonBody(patch): JsonBody<EndpointPatch>,
) -> Result<Json<EndpointView>, Problem> {
    Ok(Json(
        (&app.webhooks().update_endpoint(&caller, &id, patch).await?).into(),
    ))
}

#[utoipa::path(delete, path = "/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 204, description = "Deleted"), NotFound, RoleForbidden, ApiCall),
    security(("bearer" = [])))]
pub async fn delete(
    State(app): State<App>,
    Authed(caller): Authed,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    app.webhooks().delete_endpoint(&caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/v1/webhooks/{id}/rotate-secret", tag = "webhooks",
    params(("id" = String, Path)),
    request_body(content = Option<Rotation>, description = "Optional: no body, or `null`, is the default overlap"),
    responses((status = 200, body = EndpointWithSecret), BadBody, NotFound, RoleForbidden, ApiCall),
    security(("bearer" = [])))]
pub async fn rotate(
    State(app): State<App>,
    Authed(caller): Authed,
    Path(id): Path<String>,
    OptionalJsonBody(rotation): OptionalJsonBody<Rotation>,
) -> Result<Json<EndpointWithSecret>, Problem> {
    Ok(Json(
        (&app
            .webhooks()
            .rotate_endpoint_secret(&caller, &id, rotation)
            .await?)
            .into(),
    ))
}

#[utoipa::path(get, path = "/v1/webhooks/{id}/deliveries", tag = "webhooks",
    params(("id" = String, Path), LimitParams),
    responses((status = 200, body = WebhookDeliveryList), BadQuery, NotFound, RoleForbidden, ApiCall),
    security(("bearer" = [])))]
pub async fn deliveries(
    State(app): State<App>,
    Authed(caller): Authed,
    Path(id): Path<String>,
    params: Result<Query<LimitParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<WebhookDeliveryList>, Problem> {
    let limit = super::approvals::query(params)?
        .limit
        .map(|l| match l.parse::<u32>() {
            Ok(n @ 1..=200) => Ok(n),
            _ => Err(AppError::invalid("limit", "a whole number from 1 to 200")),
        })
        .transpose()?
        .unwrap_or(50);
    let items = app
        .webhooks()
        .endpoint_deliveries(&caller, &id, limit)
        .await?
        .iter()
        .map(Into::into)
        .collect();
    Ok(Json(WebhookDeliveryList { items }))
}

#[utoipa::path(get, path = "/v1/webhooks/{id}/deliveries/{deliveryId}", tag = "webhooks",
    params(("id" = String, Path), ("deliveryId" = String, Path)),
    responses((status = 200, body = WebhookDeliveryDetail), NotFound, RoleForbidden, ApiCall),
    security(("bearer" = [])))]
pub async fn delivery(
    State(app): State<App>,
    Authed(caller): Authed,
    Path((id, delivery_id)): Path<(String, String)>,
) -> Result<Json<WebhookDeliveryDetail>, Problem> {
    let (d, attempts) = app.webhooks().delivery(&caller, &id, &delivery_id).await?;
    Ok(Json(WebhookDeliveryDetail {
        payload: serde_json::from_str(&d.body).unwrap_or(Value::Null),
        delivery: (&d).into(),
        attempt_log: attempts.iter().map(Into::into).collect(),
    }))
}

#[utoipa::path(post, path = "/v1/webhooks/{id}/deliveries/{deliveryId}/redeliver", tag = "webhooks",
    params(("id" = String, Path), ("deliveryId" = String, Path)),
    responses((status = 202, description = "Queued to be sent again", body = WebhookDeliveryView), NotFound, RoleForbidden, ApiCall),
    security(("bearer" = [])))]
pub async fn redeliver(
    State(app): State<App>,
    Authed(caller): Authed,
    Path((id, delivery_id)): Path<(String, String)>,
) -> Result<(StatusCode, Json<WebhookDeliveryView>), Problem> {
    let d = app.webhooks().redeliver(&caller, &id, &delivery_id).await?;
    Ok((StatusCode::ACCEPTED, Json((&d).into())))
}

#[utoipa::path(post, path = "/v1/webhooks/{id}/redeliver", tag = "webhooks",
    params(("id" = String, Path)), request_body = RedeliverSince,
    responses((status = 202, body = Redelivered), BadBody, NotFound, RoleForbidden, ApiCall),
    security(("bearer" = [])))]
pub async fn redeliver_since(
    State(app): State<App>,
    Authed(caller): Authed,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<RedeliverSince>,
) -> Result<(StatusCode, Json<Redelivered>), Problem> {
    let redelivered = app
        .webhooks()
        .redeliver_since(&caller, &id, input.since)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(Redelivered { redelivered })))
}

#[utoipa::path(post, path = "/v1/callback-secret/rotate", tag = "webhooks",
    responses((status = 200, body = CallbackSecret), RoleForbidden, ApiCall),
    security(("bearer" = [])))]
pub async fn rotate_callback_secret(
    State(app): State<App>,
    Authed(caller): Authed,
) -> Result<Json<CallbackSecret>, Problem> {
    let secret = app.webhooks().rotate_callback_secret(&caller).await?;
    Ok(Json(CallbackSecret {
        secret: secret.expose().to_owned(),
    }))
}
