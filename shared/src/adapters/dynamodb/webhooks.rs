//! Outbound webhooks: a tenant's endpoints in one partition (`EP#tenant`), each
//! delivery in its own (`WD#tenant#id`) with its attempts (`ATTEMPT#n`), on `gsi1` under
//! its endpoint by creation; the callback secret on the tenant's item.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};

use super::item::{self, Expr, Got, Item, Put, at_then, key};
use super::{DynamoStore, MAX_ITEMS, Refused, Write, corrupt};
use crate::domain::webhook::Secret;
use crate::domain::{Attempt, Endpoint, WebhookDelivery, WebhookDeliveryStatus, WebhookPurpose};
use crate::ports::{NewJob, StoreError, WebhookStore};

const DELIVERY: &str = "DELIVERY";

fn secret(s: &str) -> Result<Secret, StoreError> {
    Secret::parse(s).ok_or_else(|| corrupt("webhook secret", "not a whsec_ secret"))
}

fn endpoint_key(tenant_id: &str, id: &str) -> Item {
    item::pk(key(&["EP", tenant_id]), &key(&[id]))
}

fn delivery_pk(tenant_id: &str, id: &str) -> String {
    key(&["WD", tenant_id, id])
}

fn endpoint_item(e: &Endpoint) -> Item {
    Put::new(key(&["EP", &e.tenant_id]), &key(&[&e.id]), "endpoint")
        .s("tenant_id", &e.tenant_id)
        .s("id", &e.id)
        .s("url", &e.url)
        .s("description", &e.description)
        .s(
            "events",
            serde_json::to_string(&e.events).expect("strings serialize"),
        )
        .bool("active", e.active)
        .s("secret", e.secret.expose())
        .opt_s(
            "previous_secret",
            e.previous_secret.as_ref().map(|(s, _)| s.expose()),
        )
        .opt_ts(
            "previous_secret_until",
            e.previous_secret.as_ref().map(|(_, u)| *u),
        )
        .opt_ts("failing_since", e.failing_since)
        .opt_s("disabled_reason", e.disabled_reason.as_deref())
        .ts("created_at", e.created_at)
        .ts("updated_at", e.updated_at)
        .item()
}

fn endpoint(i: &Item) -> Result<Endpoint, StoreError> {
    let g = Got(i);
    Ok(Endpoint {
        tenant_id: g.s("tenant_id")?,
        id: g.s("id")?,
        url: g.s("url")?,
        description: g.s("description")?,
        events: serde_json::from_str(&g.s("events")?).map_err(|e| corrupt("endpoint events", e))?,
        active: g.bool("active")?,
        secret: secret(&g.s("secret")?)?,
        previous_secret: match (
            g.opt_s("previous_secret")?,
            g.opt_ts("previous_secret_until")?,
        ) {
            (Some(p), Some(u)) => Some((secret(&p)?, u)),
            _ => None,
        },
        failing_since: g.opt_ts("failing_since")?,
        disabled_reason: g.opt_s("disabled_reason")?,
        created_at: g.ts("created_at")?,
        updated_at: g.ts("updated_at")?,
    })
}

fn delivery_item(d: &WebhookDelivery) -> Item {
    let mut put = Put::new(
        delivery_pk(&d.tenant_id, &d.id),
        DELIVERY,
        "webhook_delivery",
    )
    .s("tenant_id", &d.tenant_id)
    .s("id", &d.id)
    .s("purpose", d.purpose.as_str())
    .opt_s("endpoint_id", d.endpoint_id.as_deref())
    .s("url", &d.url)
    .s("approval_id", &d.approval_id)
    .s("event_id", &d.event_id)
    .s("event_type", &d.event_type)
    .n("event_seq", d.event_seq)
    .s("body", &d.body)
    .s("status", d.status.as_str())
    .n("attempts", d.attempts)
    .opt_ts("next_attempt_at", d.next_attempt_at)
    .opt_n("last_status", d.last_status)
    .opt_s("last_error", d.last_error.as_deref())
    .ts("created_at", d.created_at)
    .opt_ts("delivered_at", d.delivered_at);
    if let Some(endpoint) = &d.endpoint_id {
        put = put
            .s("gsi1pk", key(&["WDS", &d.tenant_id, endpoint]))
            .s("gsi1sk", at_then(d.created_at, &d.id));
    }
    put.item()
}

fn delivery(i: &Item) -> Result<WebhookDelivery, StoreError> {
    let g = Got(i);
    let purpose = g.s("purpose")?;
    let status = g.s("status")?;
    Ok(WebhookDelivery {
        tenant_id: g.s("tenant_id")?,
        id: g.s("id")?,
        purpose: WebhookPurpose::parse(&purpose)
            .ok_or_else(|| corrupt("delivery purpose", &purpose))?,
        endpoint_id: g.opt_s("endpoint_id")?,
        url: g.s("url")?,
        approval_id: g.s("approval_id")?,
        event_id: g.s("event_id")?,
        event_type: g.s("event_type")?,
        event_seq: g.i64("event_seq")?,
        body: g.s("body")?,
        status: WebhookDeliveryStatus::parse(&status)
            .ok_or_else(|| corrupt("delivery status", &status))?,
        attempts: g.i32("attempts")?,
        next_attempt_at: g.opt_ts("next_attempt_at")?,
        last_status: g.opt_i32("last_status")?,
        last_error: g.opt_s("last_error")?,
        created_at: g.ts("created_at")?,
        delivered_at: g.opt_ts("delivered_at")?,
    })
}

fn attempt(i: &Item) -> Result<Attempt, StoreError> {
    let g = Got(i);
    Ok(Attempt {
        attempt: g.i32("attempt")?,
        at: g.ts("at")?,
        status_code: g.opt_i32("status_code")?,
        latency_ms: g.i64("latency_ms")?,
        response: g.opt_s("response")?,
        error: g.opt_s("error")?,
    })
}

impl DynamoStore {
    /// Changes an existing endpoint as `e` says, under `condition` besides its existing;
    /// `false` when refused.
    async fn update_endpoint_if(
        &self,
        tenant_id: &str,
        id: &str,
        mut e: Expr,
        condition: Option<String>,
    ) -> Result<bool, StoreError> {
        let exists = e.exists("pk");
        let condition = match condition {
            Some(c) => format!("{exists} AND {c}"),
            None => exists,
        };
        self.update(endpoint_key(tenant_id, id), &e, &condition)
            .await
    }
}

#[async_trait]
impl WebhookStore for DynamoStore {
    async fn insert_endpoint(&self, e: &Endpoint) -> Result<(), StoreError> {
        if self.put_new(endpoint_item(e)).await? {
            Ok(())
        } else {
            Err(StoreError::Duplicate(format!("webhook endpoint {}", e.id)))
        }
    }

    async fn update_endpoint(&self, e: &Endpoint) -> Result<bool, StoreError> {
        let sent = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(endpoint_item(e)))
            .condition_expression("attribute_exists(pk)")
            .send()
            .await;
        super::conditional(sent)
    }

    async fn endpoint_failing(
        &self,
        tenant_id: &str,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut e = Expr::default();
        e.set("failing_since", item::s(item::ts(now)));
        let unset = e.missing("failing_since");
        self.update_endpoint_if(tenant_id, id, e, Some(unset))
            .await?;
        Ok(())
    }

    async fn endpoint_succeeding(&self, tenant_id: &str, id: &str) -> Result<(), StoreError> {
        let mut e = Expr::default();
        e.remove("failing_since");
        self.update_endpoint_if(tenant_id, id, e, None).await?;
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
        let mut e = Expr::default();
        e.set("active", AttributeValue::Bool(false))
            .set("disabled_reason", item::s(reason))
            .set("updated_at", item::s(item::ts(now)));
        let condition = format!(
            "{} = {} AND {} <= {}",
            e.name("active"),
            e.value(AttributeValue::Bool(true)),
            e.name("failing_since"),
            e.value(item::s(item::ts(cutoff)))
        );
        self.update_endpoint_if(tenant_id, id, e, Some(condition))
            .await
    }

    async fn delete_endpoint(&self, tenant_id: &str, id: &str) -> Result<bool, StoreError> {
        let sent = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(endpoint_key(tenant_id, id)))
            .condition_expression("attribute_exists(pk)")
            .send()
            .await;
        super::conditional(sent)
    }

    async fn endpoint(&self, tenant_id: &str, id: &str) -> Result<Option<Endpoint>, StoreError> {
        self.get_item(endpoint_key(tenant_id, id))
            .await?
            .as_ref()
            .map(endpoint)
            .transpose()
    }

    async fn endpoints(&self, tenant_id: &str) -> Result<Vec<Endpoint>, StoreError> {
        let q = self.partition(key(&["EP", tenant_id]), "");
        let mut all = self
            .query_all(q, MAX_ITEMS)
            .await?
            .iter()
            .map(endpoint)
            .collect::<Result<Vec<_>, _>>()?;
        all.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(all)
    }

    async fn callback_secret(&self, tenant_id: &str) -> Result<Option<Secret>, StoreError> {
        let Some(t) = self.get_item(super::tenants::tenant_key(tenant_id)).await? else {
            return Ok(None);
        };
        Got(&t)
            .opt_s("callback_secret")?
            .map(|s| secret(&s))
            .transpose()
    }

    async fn set_callback_secret(&self, tenant_id: &str, s: &Secret) -> Result<(), StoreError> {
        let mut e = Expr::default();
        e.set("callback_secret", item::s(s.expose()));
        let condition = e.exists("pk");
        self.update(super::tenants::tenant_key(tenant_id), &e, &condition)
            .await?;
        Ok(())
    }

    /// One transaction per delivery with its job: a delivery already there is left as
    /// it is.
    async fn add_deliveries(
        &self,
        deliveries: Vec<(WebhookDelivery, NewJob)>,
    ) -> Result<(), StoreError> {
        for (d, job) in &deliveries {
            let mut writes = vec![Write::new(
                self.put_new_write(delivery_item(d)),
                Refused::Report,
            )];
            writes.extend(self.job_writes(std::slice::from_ref(job)));
            self.transact(writes).await?;
        }
        Ok(())
    }

    async fn delivery(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<Option<WebhookDelivery>, StoreError> {
        self.get_item(item::pk(delivery_pk(tenant_id, id), DELIVERY))
            .await?
            .as_ref()
            .map(delivery)
            .transpose()
    }

    async fn deliveries(
        &self,
        tenant_id: &str,
        endpoint_id: &str,
        since: Option<DateTime<Utc>>,
        limit: u32,
    ) -> Result<Vec<WebhookDelivery>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let pk = key(&["WDS", tenant_id, endpoint_id]);
        let q = match since {
            Some(t) => self
                .index("gsi1", pk, Some(">= :since"))
                .expression_attribute_values(":since", item::s(item::ts(t))),
            None => self.index("gsi1", pk, None),
        }
        .scan_index_forward(false)
        .limit(i32::try_from(limit).unwrap_or(i32::MAX));
        self.query_all(q, limit as usize)
            .await?
            .iter()
            .map(delivery)
            .collect()
    }

    async fn attempts(
        &self,
        tenant_id: &str,
        delivery_id: &str,
    ) -> Result<Vec<Attempt>, StoreError> {
        let q = self.partition(delivery_pk(tenant_id, delivery_id), "ATTEMPT#");
        self.query_all(q, MAX_ITEMS)
            .await?
            .iter()
            .map(attempt)
            .collect()
    }

    async fn record_attempt(&self, d: &WebhookDelivery, a: &Attempt) -> Result<(), StoreError> {
        let mut e = Expr::default();
        e.set("status", item::s(d.status.as_str()))
            .set("attempts", item::n(d.attempts))
            .set_opt(
                "next_attempt_at",
                d.next_attempt_at.map(|t| item::s(item::ts(t))),
            )
            .set_opt("last_status", d.last_status.map(item::n))
            .set_opt("last_error", d.last_error.clone().map(item::s))
            .set_opt("delivered_at", d.delivered_at.map(|t| item::s(item::ts(t))));
        let condition = e.exists("pk");
        let pk = delivery_pk(&d.tenant_id, &d.id);
        let attempt = Put::new(pk.clone(), &format!("ATTEMPT#{:010}", a.attempt), "attempt")
            .n("attempt", a.attempt)
            .ts("at", a.at)
            .opt_n("status_code", a.status_code)
            .n("latency_ms", a.latency_ms)
            .opt_s("response", a.response.as_deref())
            .opt_s("error", a.error.as_deref())
            .item();
        self.transact(vec![
            Write::new(
                self.update_write(item::pk(pk, DELIVERY), &e, &condition),
                Refused::Skip,
            ),
            Write::new(self.put_new_write(attempt), Refused::Skip),
        ])
        .await?;
        Ok(())
    }

    /// In transactions of up to 50 deliveries with their jobs.
    async fn redeliver(
        &self,
        tenant_id: &str,
        jobs: Vec<(String, NewJob)>,
    ) -> Result<(), StoreError> {
        for chunk in jobs.chunks(50) {
            let mut writes = Vec::new();
            for (delivery_id, job) in chunk {
                let mut e = Expr::default();
                e.set("status", item::s(WebhookDeliveryStatus::Pending.as_str()))
                    .set("next_attempt_at", item::s(item::ts(job.run_at)));
                let condition = e.exists("pk");
                writes.push(Write::new(
                    self.update_write(
                        item::pk(delivery_pk(tenant_id, delivery_id), DELIVERY),
                        &e,
                        &condition,
                    ),
                    Refused::Skip,
                ));
                writes.extend(self.job_writes(std::slice::from_ref(job)));
            }
            self.transact(writes).await?;
        }
        Ok(())
    }
}
