use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use crate::domain::{ApiKey, Tenant};

#[async_trait]
pub trait TenantStore: Send + Sync {
    async fn create_tenant(&self, tenant: &Tenant) -> Result<(), StoreError>;
    async fn get_tenant(&self, id: &str) -> Result<Option<Tenant>, StoreError>;
    async fn create_api_key(&self, key: &ApiKey) -> Result<(), StoreError>;
    async fn find_api_key(&self, key_hash: &str) -> Result<Option<ApiKey>, StoreError>;
    async fn count_api_keys(&self, tenant_id: &str) -> Result<i64, StoreError>;
    /// A tenant's keys, revoked ones included, oldest first.
    async fn api_keys(&self, tenant_id: &str) -> Result<Vec<ApiKey>, StoreError>;
    /// Revokes it at `at`; `false` if there is no such live key.
    async fn revoke_api_key(
        &self,
        tenant_id: &str,
        id: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
}
