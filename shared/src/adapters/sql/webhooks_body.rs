// The webhook store shared by both SQL backends; included after `store_body.rs`.

use crate::domain::webhook::Secret;
use crate::ports::{WebhookStore};
use crate::domain::{Attempt, WebhookDelivery, WebhookDeliveryStatus, Endpoint, WebhookPurpose};

const ENDPOINT_COLUMNS: &str = "tenant_id, id, url, description, events, active, secret, \
     previous_secret, previous_secret_until, failing_since, disabled_reason, created_at, updated_at";

const DELIVERY_COLUMNS: &str = "tenant_id, id, purpose, endpoint_id, url, approval_id, event_id, \
     event_type, event_seq, body, status, attempts, next_attempt_at, last_status, last_error, \
     created_at, delivered_at";

fn secret(s: &str) -> Result<Secret, StoreError> {
    Secret::parse(s).ok_or_else(|| corrupt("webhook secret", "not a whsec_ secret"))
}

fn decode_endpoint(row: &<Db as sqlx::Database>::Row) -> Result<Endpoint, StoreError> {
    let events: String = row.try_get("events").map_err(db_err)?;
    let previous: Option<String> = row.try_get("previous_secret").map_err(db_err)?;
    let until: Option<Ts> = row.try_get("previous_secret_until").map_err(db_err)?;
    let failing: Option<Ts> = row.try_get("failing_since").map_err(db_err)?;
    let current: String = row.try_get("secret").map_err(db_err)?;
    Ok(Endpoint {
        tenant_id: row.try_get("tenant_id").map_err(db_err)?,
        id: row.try_get("id").map_err(db_err)?,
        url: row.try_get("url").map_err(db_err)?,
        description: row.try_get("description").map_err(db_err)?,
        events: serde_json::from_str(&events).map_err(|e| corrupt("endpoint events", e))?,
        active: row.try_get("active").map_err(db_err)?,
        secret: secret(&current)?,
        previous_secret: match (previous, until) {
            (Some(p), Some(u)) => Some((secret(&p)?, from_ts(u))),
            _ => None,
        },
        failing_since: failing.map(from_ts),
        disabled_reason: row.try_get("disabled_reason").map_err(db_err)?,
        created_at: from_ts(row.try_get("created_at").map_err(db_err)?),
        updated_at: from_ts(row.try_get("updated_at").map_err(db_err)?),
    })
}

fn decode_delivery(row: &<Db as sqlx::Database>::Row) -> Result<WebhookDelivery, StoreError> {
    let purpose: String = row.try_get("purpose").map_err(db_err)?;
    let status: String = row.try_get("status").map_err(db_err)?;
    let next: Option<Ts> = row.try_get("next_attempt_at").map_err(db_err)?;
    let delivered: Option<Ts> = row.try_get("delivered_at").map_err(db_err)?;
    Ok(WebhookDelivery {
        tenant_id: row.try_get("tenant_id").map_err(db_err)?,
        id: row.try_get("id").map_err(db_err)?,
        purpose: WebhookPurpose::parse(&purpose).ok_or_else(|| corrupt("delivery purpose", &purpose))?,
        endpoint_id: row.try_get("endpoint_id").map_err(db_err)?,
        url: row.try_get("url").map_err(db_err)?,
        approval_id: row.try_get("approval_id").map_err(db_err)?,
        event_id: row.try_get("event_id").map_err(db_err)?,
        event_type: row.try_get("event_type").map_err(db_err)?,
        event_seq: row.try_get("event_seq").map_err(db_err)?,
        body: row.try_get("body").map_err(db_err)?,
        status: WebhookDeliveryStatus::parse(&status).ok_or_else(|| corrupt("delivery status", &status))?,
        attempts: row.try_get("attempts").map_err(db_err)?,
        next_attempt_at: next.map(from_ts),
        last_status: row.try_get("last_status").map_err(db_err)?,
        last_error: row.try_get("last_error").map_err(db_err)?,
        created_at: from_ts(row.try_get("created_at").map_err(db_err)?),
        delivered_at: delivered.map(from_ts),
    })
}

fn bind_endpoint<'q>(
    q: sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments<'q>>,
    e: &'q Endpoint,
) -> sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments<'q>> {
    q.bind(&e.tenant_id)
        .bind(&e.id)
        .bind(&e.url)
        .bind(&e.description)
        .bind(serde_json::to_string(&e.events).expect("strings serialize"))
        .bind(e.active)
        .bind(e.secret.expose())
        .bind(e.previous_secret.as_ref().map(|(s, _)| s.expose()))
        .bind(e.previous_secret.as_ref().map(|(_, u)| to_ts(*u)))
        .bind(e.failing_since.map(to_ts))
        .bind(&e.disabled_reason)
        .bind(to_ts(e.created_at))
        .bind(to_ts(e.updated_at))
}

#[async_trait]
impl WebhookStore for Store {
    async fn insert_endpoint(&self, e: &Endpoint) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO webhook_endpoints ({ENDPOINT_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        );
        bind_endpoint(sqlx::query(&sql), e)
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
        let done = bind_endpoint(sqlx::query(sql), e)
            .execute(&self.writer)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn endpoint_failing(&self, tenant_id: &str, id: &str, now: chrono::DateTime<chrono::Utc>) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE webhook_endpoints SET failing_since = $3 \
             WHERE tenant_id = $1 AND id = $2 AND failing_since IS NULL",
        )
        .bind(tenant_id)
        .bind(id)
        .bind(to_ts(now))
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
        cutoff: chrono::DateTime<chrono::Utc>,
        reason: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE webhook_endpoints SET active = $3, disabled_reason = $4, updated_at = $5 \
             WHERE tenant_id = $1 AND id = $2 AND active = $6 AND failing_since <= $7",
        )
        .bind(tenant_id)
        .bind(id)
        .bind(false)
        .bind(reason)
        .bind(to_ts(now))
        .bind(true)
        .bind(to_ts(cutoff))
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
        let row = sqlx::query(&format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(tenant_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.as_ref().map(decode_endpoint).transpose()
    }

    async fn endpoints(&self, tenant_id: &str) -> Result<Vec<Endpoint>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE tenant_id = $1 \
             ORDER BY created_at, id"
        ))
        .bind(tenant_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(decode_endpoint).collect()
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

    async fn add_deliveries(&self, deliveries: Vec<(WebhookDelivery, NewJob)>) -> Result<(), StoreError> {
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
            .bind(d.next_attempt_at.map(to_ts))
            .bind(d.last_status)
            .bind(&d.last_error)
            .bind(to_ts(d.created_at))
            .bind(d.delivered_at.map(to_ts))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            if inserted.rows_affected() == 1 {
                insert_jobs(&mut tx, std::slice::from_ref(job)).await?;
            }
        }
        tx.commit().await.map_err(db_err)?;
        Ok(())
    }

    async fn delivery(&self, tenant_id: &str, id: &str) -> Result<Option<WebhookDelivery>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(tenant_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.as_ref().map(decode_delivery).transpose()
    }

    async fn deliveries(
        &self,
        tenant_id: &str,
        endpoint_id: &str,
        since: Option<chrono::DateTime<chrono::Utc>>,
        limit: u32,
    ) -> Result<Vec<WebhookDelivery>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries \
             WHERE tenant_id = $1 AND endpoint_id = $2 AND ($3 IS NULL OR created_at >= $3) \
             ORDER BY created_at DESC, id DESC LIMIT $4"
        ))
        .bind(tenant_id)
        .bind(endpoint_id)
        .bind(since.map(to_ts))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(decode_delivery).collect()
    }

    async fn attempts(&self, tenant_id: &str, delivery_id: &str) -> Result<Vec<Attempt>, StoreError> {
        let rows = sqlx::query(
            "SELECT attempt, at, status_code, latency_ms, response, error FROM webhook_attempts \
             WHERE tenant_id = $1 AND delivery_id = $2 ORDER BY attempt",
        )
        .bind(tenant_id)
        .bind(delivery_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|row| {
                Ok(Attempt {
                    attempt: row.try_get("attempt").map_err(db_err)?,
                    at: from_ts(row.try_get("at").map_err(db_err)?),
                    status_code: row.try_get("status_code").map_err(db_err)?,
                    latency_ms: row.try_get("latency_ms").map_err(db_err)?,
                    response: row.try_get("response").map_err(db_err)?,
                    error: row.try_get("error").map_err(db_err)?,
                })
            })
            .collect()
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
        .bind(d.next_attempt_at.map(to_ts))
        .bind(d.last_status)
        .bind(&d.last_error)
        .bind(d.delivered_at.map(to_ts))
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
        .bind(to_ts(a.at))
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

    async fn redeliver(&self, tenant_id: &str, jobs: Vec<(String, NewJob)>) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        for (delivery_id, job) in &jobs {
            sqlx::query(
                "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $3 \
                 WHERE tenant_id = $1 AND id = $2",
            )
            .bind(tenant_id)
            .bind(delivery_id)
            .bind(to_ts(job.run_at))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            insert_jobs(&mut tx, std::slice::from_ref(job)).await?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(())
    }
}
