//! Tenants (`T#id`, `TENANT`) with their API keys in the same partition (`KEY#id`), each
//! key also under its hash (`KEYHASH#hash`) for the lookup every call makes; the live
//! stream's WebSocket connections; and the rate counters.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::ReturnValue;
use chrono::{DateTime, Utc};

use super::item::{self, Expr, Got, Item, Put, at_then, key};
use super::{DynamoStore, MAX_ITEMS, Refused, Write, corrupt, db_err};
use crate::domain::{ApiKey, KeyRole, Quota, StreamConnection, StreamFilter, Tenant, Verdict};
use crate::ports::{ConnectionStore, RateLimiter, StoreError, TenantStore};

/// API Gateway closes a WebSocket after two hours; a connection whose disconnect was
/// missed is forgotten a while after.
const CONNECTION_HOURS: i64 = 3;

pub(super) fn tenant_key(id: &str) -> Item {
    item::pk(key(&["T", id]), "TENANT")
}

fn api_key_sk(id: &str) -> String {
    key(&["KEY", id])
}

fn key_hash_key(hash: &str) -> Item {
    item::pk(key(&["KEYHASH", hash]), "KEY")
}

fn api_key_item(pk: String, sk: &str, k: &ApiKey) -> Item {
    Put::new(pk, sk, "api_key")
        .s("id", &k.id)
        .s("tenant_id", &k.tenant_id)
        .s("name", &k.name)
        .s("prefix", &k.prefix)
        .s("key_hash", &k.key_hash)
        .s("role", k.role.as_str())
        .opt_s("approver", k.approver.as_deref())
        .ts("created_at", k.created_at)
        .opt_ts("revoked_at", k.revoked_at)
        .item()
}

fn api_key(i: &Item) -> Result<ApiKey, StoreError> {
    let g = Got(i);
    let role = g.s("role")?;
    Ok(ApiKey {
        id: g.s("id")?,
        tenant_id: g.s("tenant_id")?,
        name: g.s("name")?,
        prefix: g.s("prefix")?,
        key_hash: g.s("key_hash")?,
        role: KeyRole::parse(&role).ok_or_else(|| corrupt("API key role", &role))?,
        approver: g.opt_s("approver")?,
        created_at: g.ts("created_at")?,
        revoked_at: g.opt_ts("revoked_at")?,
    })
}

impl DynamoStore {
    async fn tenant_keys(&self, tenant_id: &str) -> Result<Vec<ApiKey>, StoreError> {
        let q = self.partition(key(&["T", tenant_id]), "KEY#");
        self.query_all(q, MAX_ITEMS)
            .await?
            .iter()
            .map(api_key)
            .collect()
    }
}

#[async_trait]
impl TenantStore for DynamoStore {
    async fn create_tenant(&self, t: &Tenant) -> Result<(), StoreError> {
        let item = Put::new(key(&["T", &t.id]), "TENANT", "tenant")
            .s("id", &t.id)
            .s("name", &t.name)
            .ts("created_at", t.created_at)
            .item();
        if self.put_new(item).await? {
            Ok(())
        } else {
            Err(StoreError::Duplicate(format!("tenant {}", t.id)))
        }
    }

    async fn get_tenant(&self, id: &str) -> Result<Option<Tenant>, StoreError> {
        let Some(i) = self.get_item(tenant_key(id)).await? else {
            return Ok(None);
        };
        let g = Got(&i);
        Ok(Some(Tenant {
            id: g.s("id")?,
            name: g.s("name")?,
            created_at: g.ts("created_at")?,
        }))
    }

    async fn create_api_key(&self, k: &ApiKey) -> Result<(), StoreError> {
        let by_id = api_key_item(key(&["T", &k.tenant_id]), &api_key_sk(&k.id), k);
        let by_hash = api_key_item(key(&["KEYHASH", &k.key_hash]), "KEY", k);
        self.transact(vec![
            Write::new(self.put_new_write(by_id), Refused::Duplicate("API key")),
            Write::new(
                self.put_new_write(by_hash),
                Refused::Duplicate("API key hash"),
            ),
        ])
        .await?;
        Ok(())
    }

    async fn find_api_key(&self, key_hash: &str) -> Result<Option<ApiKey>, StoreError> {
        self.get_item(key_hash_key(key_hash))
            .await?
            .as_ref()
            .map(api_key)
            .transpose()
    }

    async fn count_api_keys(&self, tenant_id: &str) -> Result<i64, StoreError> {
        let live = self
            .tenant_keys(tenant_id)
            .await?
            .iter()
            .filter(|k| k.revoked_at.is_none())
            .count();
        i64::try_from(live).map_err(|e| corrupt("key count", e))
    }

    async fn api_keys(&self, tenant_id: &str) -> Result<Vec<ApiKey>, StoreError> {
        let mut keys = self.tenant_keys(tenant_id).await?;
        keys.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(keys)
    }

    async fn revoke_api_key(
        &self,
        tenant_id: &str,
        id: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let Some(i) = self
            .get_item(item::pk(key(&["T", tenant_id]), &api_key_sk(id)))
            .await?
        else {
            return Ok(false);
        };
        let k = api_key(&i)?;
        let revoke = || {
            let mut e = Expr::default();
            e.set("revoked_at", item::s(item::ts(at)));
            let condition = format!("{} AND {}", e.exists("pk"), e.missing("revoked_at"));
            (e, condition)
        };
        let (by_id, by_id_condition) = revoke();
        let (by_hash, by_hash_condition) = revoke();
        let refused = self
            .transact(vec![
                Write::new(
                    self.update_write(
                        item::pk(key(&["T", tenant_id]), &api_key_sk(id)),
                        &by_id,
                        &by_id_condition,
                    ),
                    Refused::Report,
                ),
                Write::new(
                    self.update_write(key_hash_key(&k.key_hash), &by_hash, &by_hash_condition),
                    Refused::Skip,
                ),
            ])
            .await?;
        Ok(refused.is_none())
    }
}

fn connection_item(c: &StreamConnection) -> Item {
    let types = c
        .filter
        .types
        .as_ref()
        .map(|t| serde_json::to_string(t).expect("strings serialize"));
    Put::new(key(&["CONN", &c.connection_id]), "CONN", "connection")
        .s("connection_id", &c.connection_id)
        .s("tenant_id", &c.tenant_id)
        .opt_s("approval_id", c.filter.approval_id.as_deref())
        .opt_s("agent_id", c.filter.agent_id.as_deref())
        .opt_s("types", types)
        .ts("connected_at", c.connected_at)
        .s("gsi1pk", key(&["CONNS", &c.tenant_id]))
        .s("gsi1sk", at_then(c.connected_at, &c.connection_id))
        .set(
            "ttl",
            item::epoch(c.connected_at + chrono::Duration::hours(CONNECTION_HOURS)),
        )
        .item()
}

fn connection(i: &Item) -> Result<StreamConnection, StoreError> {
    let g = Got(i);
    let types = g
        .opt_s("types")?
        .map(|t| serde_json::from_str(&t))
        .transpose()
        .map_err(|e| corrupt("connection types", e))?;
    Ok(StreamConnection {
        connection_id: g.s("connection_id")?,
        tenant_id: g.s("tenant_id")?,
        filter: StreamFilter {
            approval_id: g.opt_s("approval_id")?,
            agent_id: g.opt_s("agent_id")?,
            types,
        },
        connected_at: g.ts("connected_at")?,
    })
}

#[async_trait]
impl ConnectionStore for DynamoStore {
    async fn add_connection(&self, c: &StreamConnection) -> Result<(), StoreError> {
        self.put_new(connection_item(c)).await?;
        Ok(())
    }

    async fn remove_connection(&self, connection_id: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(item::pk(key(&["CONN", connection_id]), "CONN")))
            .send()
            .await
            .map_err(db_err)?;
        Ok(())
    }

    /// On `gsi1`: a connection opened a moment ago may miss an event pushed meanwhile.
    async fn connections(&self, tenant_id: &str) -> Result<Vec<StreamConnection>, StoreError> {
        let q = self.index("gsi1", key(&["CONNS", tenant_id]), None);
        self.query_all(q, MAX_ITEMS)
            .await?
            .iter()
            .map(connection)
            .collect()
    }
}

/// One counter item per key and fixed window, incremented atomically; as on SQL, a
/// fixed window lets a client spend up to twice its quota across a window's edge.
#[async_trait]
impl RateLimiter for DynamoStore {
    async fn take(
        &self,
        quota: &Quota,
        rate_key: &str,
        now: DateTime<Utc>,
    ) -> Result<Verdict, StoreError> {
        let (start, window) = quota.window_at(now.timestamp());
        let mut e = Expr::default();
        e.add("count", item::n(1))
            // Gone once the window is: TTL forgets old counts.
            .set("ttl", item::n(start + window));
        let got = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item::pk(
                key(&["RATE", quota.name, rate_key]),
                &start.to_string(),
            )))
            .update_expression(e.update())
            .set_expression_attribute_names(e.names())
            .set_expression_attribute_values(e.values())
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(db_err)?;
        let count = Got(&got.attributes.unwrap_or_default()).i64("count")?;
        Ok(quota.verdict(count, start, now.timestamp()))
    }

    /// Nothing to do: each counter carries its window's end as its TTL, and DynamoDB
    /// removes it after. A window's counter is never read once it has ended, so one not
    /// yet removed counts for nothing.
    async fn forget_before(&self, _before: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(0)
    }
}
