use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub id: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// An API key as stored: only the SHA-256 of the secret, and its first characters so
/// that people can tell keys apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub prefix: String,
    pub key_hash: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

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
