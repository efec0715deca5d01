// The live-stream connection store shared by both SQL backends; included after
// `store_body.rs`.

use crate::domain::StreamFilter;
use crate::ports::{ConnectionStore};
use crate::domain::{StreamConnection};

#[async_trait]
impl ConnectionStore for Store {
    async fn add_connection(&self, c: &StreamConnection) -> Result<(), StoreError> {
        let types = c
            .filter
            .types
            .as_ref()
            .map(|t| serde_json::to_string(t).expect("strings serialize"));
        sqlx::query(
            "INSERT INTO stream_connections (connection_id, tenant_id, approval_id, agent_id, \
             types, connected_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (connection_id) DO NOTHING",
        )
        .bind(&c.connection_id)
        .bind(&c.tenant_id)
        .bind(&c.filter.approval_id)
        .bind(&c.filter.agent_id)
        .bind(types)
        .bind(to_ts(c.connected_at))
        .execute(&self.writer)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn remove_connection(&self, connection_id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM stream_connections WHERE connection_id = $1")
            .bind(connection_id)
            .execute(&self.writer)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn connections(&self, tenant_id: &str) -> Result<Vec<StreamConnection>, StoreError> {
        let rows = sqlx::query(
            "SELECT connection_id, tenant_id, approval_id, agent_id, types, connected_at \
             FROM stream_connections WHERE tenant_id = $1 ORDER BY connected_at, connection_id",
        )
        .bind(tenant_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|row| {
                let types: Option<String> = row.try_get("types").map_err(db_err)?;
                Ok(StreamConnection {
                    connection_id: row.try_get("connection_id").map_err(db_err)?,
                    tenant_id: row.try_get("tenant_id").map_err(db_err)?,
                    filter: StreamFilter {
                        approval_id: row.try_get("approval_id").map_err(db_err)?,
                        agent_id: row.try_get("agent_id").map_err(db_err)?,
                        types: types
                            .map(|t| serde_json::from_str(&t))
                            .transpose()
                            .map_err(|e| corrupt("connection types", e))?,
                    },
                    connected_at: from_ts(row.try_get("connected_at").map_err(db_err)?),
                })
            })
            .collect()
    }
}
