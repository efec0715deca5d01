//! Outbound webhooks: endpoints per tenant, one delivery per (event, receiver), every
//! attempt of each delivery, and the secret a tenant's callbacks are signed with.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use sqlx::{ColumnIndex, Database, Encode, Executor, Type};

use super::dialect::{Column, Conn, Dialect, Row, RowsAffected, SqlStore};
use super::{corrupt, db_err};
use crate::domain::webhook::Secret;
use crate::domain::{Attempt, Endpoint, WebhookDelivery, WebhookDeliveryStatus, WebhookPurpose};
use crate::ports::{NewJob, StoreError, WebhookStore};

const ENDPOINT_COLUMNS: &str = "tenant_id, id, url, description, events, active, secret, \
     previous_secret, previous_secret_until, failing_since, disabled_reason, created_at, updated_at";

const DELIVERY_COLUMNS: &str = "tenant_id, id, purpose, endpoint_id, url, approval_id, event_id, \
     event_type, event_seq, body, status, attempts, next_attempt_at, last_status, last_error, \
     created_at, delivered_at";

fn secret(s: &str) -> Result<Secret, StoreError> {
    Secret::parse(s).ok_or_else(|| corrupt("webhook secret", "not a whsec_ secret"))
}

#[derive(sqlx::FromRow)]
struct EndpointRow<D: Dialect> {
    tenant_id: String,
    id: String,
    url: String,
    description: String,
    /// The event types subscribed to, as a JSON array.
    events: String,
    active: bool,
    secret: String,
    previous_secret: Option<String>,
    previous_secret_until: Option<D::Ts>,
    failing_since: Option<D::Ts>,
    disabled_reason: Option<String>,
    created_at: D::Ts,
    updated_at: D::Ts,
}

impl<D: Dialect> TryFrom<EndpointRow<D>> for Endpoint {
    type Error = StoreError;

    fn try_from(r: EndpointRow<D>) -> Result<Self, StoreError> {
        Ok(Endpoint {
            events: serde_json::from_str(&r.events).map_err(|e| corrupt("endpoint events", e))?,
            secret: secret(&r.secret)?,
            previous_secret: match (r.previous_secret, r.previous_secret_until) {
                (Some(p), Some(u)) => Some((secret(&p)?, D::from_ts(u))),
                _ => None,
            },
            tenant_id: r.tenant_id,
            id: r.id,
            url: r.url,
            description: r.description,
            active: r.active,
            failing_since: r.failing_since.map(D::from_ts),
            disabled_reason: r.disabled_reason,
            created_at: D::from_ts(r.created_at),
            updated_at: D::from_ts(r.updated_at),
        })
    }
}

#[derive(sqlx::FromRow)]
struct DeliveryRow<D: Dialect> {
    tenant_id: String,
    id: String,
    purpose: String,
    endpoint_id: Option<String>,
    url: String,
    approval_id: String,
    event_id: String,
    event_type: String,
    event_seq: i64,
    body: String,
    status: String,
    attempts: i32,
    next_attempt_at: Option<D::Ts>,
    last_status: Option<i32>,
    last_error: Option<String>,
    created_at: D::Ts,
    delivered_at: Option<D::Ts>,
}

impl<D: Dialect> TryFrom<DeliveryRow<D>> for WebhookDelivery {
    type Error = StoreError;

    fn try_from(r: DeliveryRow<D>) -> Result<Self, StoreError> {
        Ok(WebhookDelivery {
            purpose: WebhookPurpose::parse(&r.purpose)
                .ok_or_else(|| corrupt("delivery purpose", &r.purpose))?,
            status: WebhookDeliveryStatus::parse(&r.status)
                .ok_or_else(|| corrupt("delivery status", &r.status))?,
            tenant_id: r.tenant_id,
            id: r.id,
            endpoint_id: r.endpoint_id,
            url: r.url,
            approval_id: r.approval_id,
            event_id: r.event_id,
            event_type: r.event_type,
            event_seq: r.event_seq,
            body: r.body,
            attempts: r.attempts,
            next_attempt_at: r.next_attempt_at.map(D::from_ts),
            last_status: r.last_status,
            last_error: r.last_error,
            created_at: D::from_ts(r.created_at),
            delivered_at: r.delivered_at.map(D::from_ts),
        })
    }
}

#[derive(sqlx::FromRow)]
struct AttemptRow<D: Dialect> {
    attempt: i32,
    at: D::Ts,
    status_code: Option<i32>,
    latency_ms: i64,
    response: Option<String>,
    error: Option<String>,
}

impl<D: Dialect> From<AttemptRow<D>> for Attempt {
    fn from(r: AttemptRow<D>) -> Self {
        Attempt {
            attempt: r.attempt,
            at: D::from_ts(r.at),
            status_code: r.status_code,
            latency_ms: r.latency_ms,
            response: r.response,
            error: r.error,
        }
    }
}

type Query<'q, D> =
    sqlx::query::Query<'q, <D as Dialect>::Db, <<D as Dialect>::Db as Database>::Arguments<'q>>;

/// Binds an endpoint's columns in `ENDPOINT_COLUMNS` order, as $1 to $13.
fn bind_endpoint<'q, D: Dialect>(q: Query<'q, D>, e: &'q Endpoint) -> Query<'q, D>
where
    for<'a> &'a str: Encode<'a, D::Db> + Type<D::Db>,
    String: Column<D::Db>,
    Option<String>: Column<D::Db>,
    bool: Column<D::Db>,
    Option<D::Ts>: Column<D::Db>,
{
    q.bind(&e.tenant_id)
        .bind(&e.id)
        .bind(&e.url)
        .bind(&e.description)
        .bind(serde_json::to_string(&e.events).expect("strings serialize"))
        .bind(e.active)
        .bind(e.secret.expose())
        .bind(
            e.previous_secret
                .as_ref()
                .map(|(s, _)| s.expose().to_owned()),
        )
        .bind(e.previous_secret.as_ref().map(|(_, u)| D::to_ts(*u)))
        .bind(e.failing_since.map(D::to_ts))
        .bind(&e.disabled_reason)
        .bind(D::to_ts(e.created_at))
        .bind(D::to_ts(e.updated_at))
}

#[async_trait]
impl<D: Dialect> WebhookStore for SqlStore<D>
where
    for<'c> &'c mut Conn<D>: Executor<'c, Database = D::Db>,
    for<'q> &'q str: Encode<'q, D::Db> + Type<D::Db> + ColumnIndex<Row<D>>,
    usize: ColumnIndex<Row<D>>,
    String: Column<D::Db>,
    Option<String>: Column<D::Db>,
    i64: Column<D::Db>,
    i32: Column<D::Db>,
    Option<i32>: Column<D::Db>,
    bool: Column<D::Db>,
    Option<D::Ts>: Column<D::Db>,
    Json<Value>: Column<D::Db>,
{
    async fn insert_endpoint(&self, e: &Endpoint) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO webhook_endpoints ({ENDPOINT_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        );
        bind_endpoint::<D>(sqlx::query(&sql), e)
            .execute(&self.writer)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn update_endpoint(&self, e: &Endpoint) -> Result<bool, StoreError> {
        let sql = "UPDATE webhook_endpoints SET url = $3, description = $4, events = $5, \
                   active = $6, secret = $7, previous_secret = $8, previous_secret_until = $9, \
                   failing_since = $10, disabled_reason = $11, created_at = $12, updated_at = $13 \
                   WHERE tenant_id = $1 AND id = $2";
        let done = bind_endpoint::<D>(sqlx::query(sql), e)
            .execute(&self.writer)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn endpoint_failing(
        &self,
        tenant_id: &str,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE webhook_endpoints SET failing_since = $3 \
             WHERE tenant_id = $1 AND id = $2 AND failing_since IS NULL",
        )
        .bind(tenant_id)
        .bind(id)
        .bind(D::to_ts(now))
        .execute(&self.writer)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn endpoint_succeeding(&self, tenant_id: &str, id: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE webhook_endpoints SET failing_since = NULL \
             WHERE tenant_id = $1 AND id = $2 AND failing_since IS NOT NULL",
        )
        .bind(tenant_id)
        .bind(id)
        .execute(&self.writer)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn disable_failing_endpoint(
        &self,
        tenant_id: &str,
        id: &str,
        cutoff: DateTime<Utc>,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE webhook_endpoints SET active = $3, disabled_reason = $4, updated_at = $5 \
             WHERE tenant_id = $1 AND id = $2 AND active = $6 AND failing_since <= $7",
        )
        .bind(tenant_id)
        .bind(id)
        .bind(false)
        .bind(reason)
        .bind(D::to_ts(now))
        .bind(true)
        .bind(D::to_ts(cutoff))
        .execute(&self.writer)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn delete_endpoint(&self, tenant_id: &str, id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2")
            .bind(tenant_id)
            .bind(id)
            .execute(&self.writer)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn endpoint(&self, tenant_id: &str, id: &str) -> Result<Option<Endpoint>, StoreError> {
        let row: Option<EndpointRow<D>> = sqlx::query_as(&format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(tenant_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.map(Endpoint::try_from).transpose()
    }

    async fn endpoints(&self, tenant_id: &str) -> Result<Vec<Endpoint>, StoreError> {
        let rows: Vec<EndpointRow<D>> = sqlx::query_as(&format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE tenant_id = $1 \
             ORDER BY created_at, id"
        ))
        .bind(tenant_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.into_iter().map(Endpoint::try_from).collect()
    }

    async fn callback_secret(&self, tenant_id: &str) -> Result<Option<Secret>, StoreError> {
        let s: Option<Option<String>> =
            sqlx::query_scalar("SELECT callback_secret FROM tenants WHERE id = $1")
                .bind(tenant_id)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?;
        s.flatten().map(|s| secret(&s)).transpose()
    }

    async fn set_callback_secret(&self, tenant_id: &str, s: &Secret) -> Result<(), StoreError> {
        sqlx::query("UPDATE tenants SET callback_secret = $2 WHERE id = $1")
            .bind(tenant_id)
            .bind(s.expose())
            .execute(&self.writer)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn add_deliveries(
        &self,
        deliveries: Vec<(WebhookDelivery, NewJob)>,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        for (d, job) in &deliveries {
            let inserted = sqlx::query(&format!(
                "INSERT INTO webhook_deliveries ({DELIVERY_COLUMNS}) VALUES \
                 ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
                 ON CONFLICT (tenant_id, id) DO NOTHING"
            ))
            .bind(&d.tenant_id)
            .bind(&d.id)
            .bind(d.purpose.as_str())
            .bind(&d.endpoint_id)
            .bind(&d.url)
            .bind(&d.approval_id)
            .bind(&d.event_id)
            .bind(&d.event_type)
            .bind(d.event_seq)
            .bind(&d.body)
            .bind(d.status.as_str())
            .bind(d.attempts)
            .bind(d.next_attempt_at.map(D::to_ts))
            .bind(d.last_status)
            .bind(&d.last_error)
            .bind(D::to_ts(d.created_at))
            .bind(d.delivered_at.map(D::to_ts))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            if inserted.rows_affected() == 1 {
                Self::insert_jobs(&mut tx, std::slice::from_ref(job)).await?;
            }
        }
        tx.commit().await.map_err(db_err)?;
        Ok(())
    }

    async fn delivery(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<Option<WebhookDelivery>, StoreError> {
        let row: Option<DeliveryRow<D>> = sqlx::query_as(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(tenant_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.map(WebhookDelivery::try_from).transpose()
    }

    async fn deliveries(
        &self,
        tenant_id: &str,
        endpoint_id: &str,
        since: Option<DateTime<Utc>>,
        limit: u32,
    ) -> Result<Vec<WebhookDelivery>, StoreError> {
        let rows: Vec<DeliveryRow<D>> = sqlx::query_as(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries \
             WHERE tenant_id = $1 AND endpoint_id = $2 AND ($3 IS NULL OR created_at >= $3) \
             ORDER BY created_at DESC, id DESC LIMIT $4"
        ))
        .bind(tenant_id)
        .bind(endpoint_id)
        .bind(since.map(D::to_ts))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.into_iter().map(WebhookDelivery::try_from).collect()
    }

    async fn attempts(
        &self,
        tenant_id: &str,
        delivery_id: &str,
    ) -> Result<Vec<Attempt>, StoreError> {
        let rows: Vec<AttemptRow<D>> = sqlx::query_as(
            "SELECT attempt, at, status_code, latency_ms, response, error FROM webhook_attempts \
             WHERE tenant_id = $1 AND delivery_id = $2 ORDER BY attempt",
        )
        .bind(tenant_id)
        .bind(delivery_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(rows.into_iter().map(Attempt::from).collect())
    }

    async fn record_attempt(&self, d: &WebhookDelivery, a: &Attempt) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        sqlx::query(
            "UPDATE webhook_deliveries SET status = $3, attempts = $4, next_attempt_at = $5, \
             last_status = $6, last_error = $7, delivered_at = $8 WHERE tenant_id = $1 AND id = $2",
        )
        .bind(&d.tenant_id)
        .bind(&d.id)
        .bind(d.status.as_str())
        .bind(d.attempts)
        .bind(d.next_attempt_at.map(D::to_ts))
        .bind(d.last_status)
        .bind(&d.last_error)
        .bind(d.delivered_at.map(D::to_ts))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        sqlx::query(
            "INSERT INTO webhook_attempts (tenant_id, delivery_id, attempt, at, status_code, \
             latency_ms, response, error) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (tenant_id, delivery_id, attempt) DO NOTHING",
        )
        .bind(&d.tenant_id)
        .bind(&d.id)
        .bind(a.attempt)
        .bind(D::to_ts(a.at))
        .bind(a.status_code)
        .bind(a.latency_ms)
        .bind(&a.response)
        .bind(&a.error)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(())
    }

    async fn redeliver(
        &self,
        tenant_id: &str,
        jobs: Vec<(String, NewJob)>,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        for (delivery_id, job) in &jobs {
            sqlx::query(
                "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $3 \
                 WHERE tenant_id = $1 AND id = $2",
            )
            .bind(tenant_id)
            .bind(delivery_id)
            .bind(D::to_ts(job.run_at))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            Self::insert_jobs(&mut tx, std::slice::from_ref(job)).await?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(())
    }
}
