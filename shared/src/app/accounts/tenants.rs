use rand::RngCore;
use sha2::{Digest, Sha256};

use super::Accounts;
use crate::app::AppError;
use crate::domain::{Actor, Source};
use crate::domain::{ApiKey, Tenant};
use crate::ports::{IdKind, StoreError};

/// The tenant the local server creates on first start.
pub const DEFAULT_TENANT: &str = "default";
const MIN_KEY_LEN: usize = 16;

/// Who is calling: the tenant and the key it authenticated with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub tenant_id: String,
    pub key_id: String,
}

impl Caller {
    pub fn actor(&self) -> Actor {
        Actor {
            id: format!("api-key:{}", self.key_id),
            source: Source::Api,
        }
    }
}

/// API keys are long random secrets, so one SHA-256 is enough to store them safely
/// (no salt or slow hash: there is no dictionary to guess from).
pub fn hash_api_key(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn new_secret() -> String {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    format!("gl_{}", hex::encode(bytes))
}

fn key_prefix(secret: &str) -> String {
    secret.chars().take(10).collect()
}

impl Accounts<'_> {
    pub async fn authenticate(&self, bearer: &str) -> Result<Caller, AppError> {
        let key = self
            .stores
            .tenants
            .find_api_key(&hash_api_key(bearer))
            .await?
            .ok_or(AppError::Unauthorized)?;
        if key.revoked_at.is_some() {
            return Err(AppError::Unauthorized);
        }
        Ok(Caller {
            tenant_id: key.tenant_id,
            key_id: key.id,
        })
    }

    pub async fn create_tenant(&self, id: Option<String>, name: &str) -> Result<Tenant, AppError> {
        if name.trim().is_empty() {
            return Err(AppError::invalid("name", "must not be empty"));
        }
        let tenant = Tenant {
            id: id.unwrap_or_else(|| self.ids.next(IdKind::Tenant)),
            name: name.to_owned(),
            created_at: self.clock.now(),
        };
        self.stores.tenants.create_tenant(&tenant).await?;
        Ok(tenant)
    }

    /// Stores `secret` (or a fresh one) as a key of `tenant_id`; returns the secret, which
    /// is never stored and cannot be shown again.
    pub async fn create_api_key(
        &self,
        tenant_id: &str,
        name: &str,
        secret: Option<String>,
    ) -> Result<(ApiKey, String), AppError> {
        if self.stores.tenants.get_tenant(tenant_id).await?.is_none() {
            return Err(AppError::NotFound("tenant"));
        }
        let secret = secret.unwrap_or_else(new_secret);
        if secret.len() < MIN_KEY_LEN {
            return Err(AppError::invalid(
                "key",
                format!("must be at least {MIN_KEY_LEN} characters"),
            ));
        }
        let key = ApiKey {
            id: self.ids.next(IdKind::ApiKey),
            tenant_id: tenant_id.to_owned(),
            name: name.to_owned(),
            prefix: key_prefix(&secret),
            key_hash: hash_api_key(&secret),
            created_at: self.clock.now(),
            revoked_at: None,
        };
        self.stores.tenants.create_api_key(&key).await?;
        Ok((key, secret))
    }

    /// Makes sure the default tenant exists and can be reached: with `configured_key`
    /// that key works for it; without, a tenant with no key gets a fresh one, returned
    /// so that it can be shown once.
    pub async fn ensure_default_tenant(
        &self,
        configured_key: Option<&str>,
    ) -> Result<Option<String>, AppError> {
        if self
            .stores
            .tenants
            .get_tenant(DEFAULT_TENANT)
            .await?
            .is_none()
        {
            match self
                .create_tenant(Some(DEFAULT_TENANT.to_owned()), "Default")
                .await
            {
                Ok(_) | Err(AppError::Store(StoreError::Duplicate(_))) => {}
                Err(e) => return Err(e),
            }
        }
        if let Some(secret) = configured_key {
            return match self
                .stores
                .tenants
                .find_api_key(&hash_api_key(secret))
                .await?
            {
                Some(k) if k.tenant_id == DEFAULT_TENANT => Ok(None),
                Some(_) => Err(AppError::invalid(
                    "GREENLIGHT_API_KEY",
                    "belongs to another tenant",
                )),
                None => {
                    self.create_api_key(
                        DEFAULT_TENANT,
                        "GREENLIGHT_API_KEY",
                        Some(secret.to_owned()),
                    )
                    .await?;
                    Ok(None)
                }
            };
        }
        if self.stores.tenants.count_api_keys(DEFAULT_TENANT).await? == 0 {
            let (_, secret) = self
                .create_api_key(DEFAULT_TENANT, "first start", None)
                .await?;
            return Ok(Some(secret));
        }
        Ok(None)
    }
}
