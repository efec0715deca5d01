//! Tenants and their API keys.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{ColumnIndex, Encode, Executor, Type};

use super::db_err;
use super::dialect::{Column, Conn, Dialect, Row, RowsAffected, SqlStore};
use crate::domain::{ApiKey, KeyRole, Tenant};
use crate::ports::{StoreError, TenantStore};

const API_KEY_COLUMNS: &str =
    "id, tenant_id, name, prefix, key_hash, role, approver, created_at, revoked_at";

#[derive(sqlx::FromRow)]
struct TenantRow<D: Dialect> {
    id: String,
    name: String,
    created_at: D::Ts,
}

impl<D: Dialect> From<TenantRow<D>> for Tenant {
    fn from(r: TenantRow<D>) -> Self {
        Tenant {
            id: r.id,
            name: r.name,
            created_at: D::from_ts(r.created_at),
        }
    }
}

#[derive(sqlx::FromRow)]
struct ApiKeyRow<D: Dialect> {
    id: String,
    tenant_id: String,
    name: String,
    prefix: String,
    key_hash: String,
    role: String,
    approver: Option<String>,
    created_at: D::Ts,
    revoked_at: Option<D::Ts>,
}

impl<D: Dialect> TryFrom<ApiKeyRow<D>> for ApiKey {
    type Error = StoreError;

    fn try_from(r: ApiKeyRow<D>) -> Result<Self, StoreError> {
        Ok(ApiKey {
            role: KeyRole::parse(&r.role)
                .ok_or_else(|| StoreError::Corrupt(format!("API key role {:?}", r.role)))?,
            id: r.id,
            tenant_id: r.tenant_id,
            name: r.name,
            prefix: r.prefix,
            key_hash: r.key_hash,
            approver: r.approver,
            created_at: D::from_ts(r.created_at),
            revoked_at: r.revoked_at.map(D::from_ts),
        })
    }
}

#[async_trait]
impl<D: Dialect> TenantStore for SqlStore<D>
where
    for<'c> &'c mut Conn<D>: Executor<'c, Database = D::Db>,
    for<'q> &'q str: Encode<'q, D::Db> + Type<D::Db> + ColumnIndex<Row<D>>,
    usize: ColumnIndex<Row<D>>,
    String: Column<D::Db>,
    i64: Column<D::Db>,
    Option<D::Ts>: Column<D::Db>,
    Option<String>: Column<D::Db>,
{
    async fn create_tenant(&self, t: &Tenant) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3)")
            .bind(&t.id)
            .bind(&t.name)
            .bind(D::to_ts(t.created_at))
            .execute(&self.writer)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn get_tenant(&self, id: &str) -> Result<Option<Tenant>, StoreError> {
        let row: Option<TenantRow<D>> =
            sqlx::query_as("SELECT id, name, created_at FROM tenants WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?;
        Ok(row.map(Tenant::from))
    }

    async fn create_api_key(&self, k: &ApiKey) -> Result<(), StoreError> {
        sqlx::query(&format!(
            "INSERT INTO api_keys ({API_KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        ))
        .bind(&k.id)
        .bind(&k.tenant_id)
        .bind(&k.name)
        .bind(&k.prefix)
        .bind(&k.key_hash)
        .bind(k.role.as_str())
        .bind(&k.approver)
        .bind(D::to_ts(k.created_at))
        .bind(k.revoked_at.map(D::to_ts))
        .execute(&self.writer)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn find_api_key(&self, key_hash: &str) -> Result<Option<ApiKey>, StoreError> {
        let row: Option<ApiKeyRow<D>> = sqlx::query_as(&format!(
            "SELECT {API_KEY_COLUMNS} FROM api_keys WHERE key_hash = $1"
        ))
        .bind(key_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.map(ApiKey::try_from).transpose()
    }

    async fn api_keys(&self, tenant_id: &str) -> Result<Vec<ApiKey>, StoreError> {
        let rows: Vec<ApiKeyRow<D>> = sqlx::query_as(&format!(
            "SELECT {API_KEY_COLUMNS} FROM api_keys WHERE tenant_id = $1 ORDER BY created_at, id"
        ))
        .bind(tenant_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.into_iter().map(ApiKey::try_from).collect()
    }

    async fn revoke_api_key(
        &self,
        tenant_id: &str,
        id: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE api_keys SET revoked_at = $1 \
             WHERE tenant_id = $2 AND id = $3 AND revoked_at IS NULL",
        )
        .bind(D::to_ts(at))
        .bind(tenant_id)
        .bind(id)
        .execute(&self.writer)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn count_api_keys(&self, tenant_id: &str) -> Result<i64, StoreError> {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM api_keys WHERE tenant_id = $1 AND revoked_at IS NULL",
        )
        .bind(tenant_id)
        .fetch_one(&self.pool)
        .await
        .map_err(db_err)
    }
}
