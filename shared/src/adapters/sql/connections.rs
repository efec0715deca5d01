//! Live-stream subscribers on AWS: the API Gateway WebSocket connections open now.

use async_trait::async_trait;
use sqlx::{ColumnIndex, Encode, Executor, Type};

use super::dialect::{Column, Conn, Dialect, Row, SqlStore};
use super::{corrupt, db_err};
use crate::domain::StreamConnection;
use crate::domain::StreamFilter;
use crate::ports::{ConnectionStore, StoreError};

#[derive(sqlx::FromRow)]
struct ConnectionRow<D: Dialect> {
    connection_id: String,
    tenant_id: String,
    approval_id: Option<String>,
    agent_id: Option<String>,
    /// The event types asked for, as a JSON array.
    types: Option<String>,
    connected_at: D::Ts,
}

impl<D: Dialect> TryFrom<ConnectionRow<D>> for StreamConnection {
    type Error = StoreError;

    fn try_from(r: ConnectionRow<D>) -> Result<Self, StoreError> {
        let types = r
            .types
            .map(|t| serde_json::from_str(&t))
            .transpose()
            .map_err(|e| corrupt("connection types", e))?;
        Ok(StreamConnection {
            connection_id: r.connection_id,
            tenant_id: r.tenant_id,
            filter: StreamFilter {
                approval_id: r.approval_id,
                agent_id: r.agent_id,
                types,
            },
            connected_at: D::from_ts(r.connected_at),
        })
    }
}

#[async_trait]
impl<D: Dialect> ConnectionStore for SqlStore<D>
where
    for<'c> &'c mut Conn<D>: Executor<'c, Database = D::Db>,
    for<'q> &'q str: Encode<'q, D::Db> + Type<D::Db> + ColumnIndex<Row<D>>,
    String: Column<D::Db>,
    Option<String>: Column<D::Db>,
{
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
        .bind(D::to_ts(c.connected_at))
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
        let rows: Vec<ConnectionRow<D>> = sqlx::query_as(
            "SELECT connection_id, tenant_id, approval_id, agent_id, types, connected_at \
             FROM stream_connections WHERE tenant_id = $1 ORDER BY connected_at, connection_id",
        )
        .bind(tenant_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.into_iter().map(StreamConnection::try_from).collect()
    }
}
