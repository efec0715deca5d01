use rand::RngCore;
use sha2::{Digest, Sha256};

use super::Accounts;
use crate::app::AppError;
use crate::domain::policy::normalize;
use crate::domain::{Actor, Approval, Event, KeyRole, Source};
use crate::domain::{ApiKey, Role, Tenant, User};
use crate::ports::{IdKind, StoreError};

/// The tenant the local server creates on first start.
pub const DEFAULT_TENANT: &str = "default";
const MIN_KEY_LEN: usize = 16;
const MAX_KEY_NAME: usize = 100;

/// What a new key is: its name, its role, and for an approver key the identity.
#[derive(Debug, Clone, Copy)]
pub struct NewKey<'a> {
    pub name: &'a str,
    pub role: KeyRole,
    pub approver: Option<&'a str>,
}

impl<'a> NewKey<'a> {
    pub fn agent(name: &'a str) -> Self {
        Self {
            name,
            role: KeyRole::Agent,
            approver: None,
        }
    }
}

/// Who is calling: the tenant, the key (or dashboard person) it authenticated as, and
/// what that key may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub tenant_id: String,
    pub key_id: String,
    pub role: KeyRole,
    /// The identity an approver acts as.
    pub approver: Option<String>,
    /// Whether it reads every request of the tenant, as agents, admins and the
    /// dashboard's people do (the dashboard's inbox is the tenant's); an approver key
    /// reads only the requests that name it.
    pub reads_all: bool,
}

impl Caller {
    /// Who calls with this (live) key.
    pub fn of_key(key: ApiKey) -> Caller {
        Caller {
            tenant_id: key.tenant_id,
            key_id: key.id,
            reads_all: key.role != KeyRole::Approver,
            role: key.role,
            approver: key.approver,
        }
    }

    /// Who a dashboard person is to the use-cases shared with the API (see
    /// `Account::caller`).
    pub fn of_person(user: &User) -> Caller {
        let (role, approver) = match user.role {
            Role::Admin => (KeyRole::Admin, None),
            Role::Approver => (KeyRole::Approver, Some(user.email.clone())),
        };
        Caller {
            tenant_id: user.tenant_id.clone(),
            key_id: format!("user:{}", user.id),
            role,
            approver,
            reads_all: true,
        }
    }

    pub fn actor(&self) -> Actor {
        Actor {
            id: format!("api-key:{}", self.key_id),
            source: Source::Api,
        }
    }

    /// Refuses the call unless the caller's role is one of `roles`.
    pub fn require(&self, roles: &[KeyRole], doing: &str) -> Result<(), AppError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!(
                "{} keys may not {doing}",
                self.role.as_str()
            )))
        }
    }

    /// Agents and admins: the parts of the API an approver has no business with
    /// (creating requests, webhooks, the dev mailbox).
    pub fn require_agent_side(&self, doing: &str) -> Result<(), AppError> {
        self.require(&[KeyRole::Agent, KeyRole::Admin], doing)
    }

    /// Whether the caller may see this request: an approver only the ones naming it.
    pub fn may_read(&self, a: &Approval) -> bool {
        self.reads_all
            || self
                .approver
                .as_deref()
                .is_some_and(|who| a.identity_of(who).is_some())
    }

    /// `may_read` of the request as the event left it (its snapshot).
    pub fn may_read_event(&self, e: &Event) -> bool {
        self.reads_all
            || serde_json::from_value::<Approval>(e.snapshot.clone())
                .is_ok_and(|a| self.may_read(&a))
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
        Ok(Caller::of_key(key))
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

    /// Stores `secret` (or a fresh one) as a key of `tenant_id` with `role` (and, for an
    /// approver key, the identity it acts as); returns the secret, which is never stored
    /// and cannot be shown again.
    pub async fn create_api_key(
        &self,
        tenant_id: &str,
        new: NewKey<'_>,
        secret: Option<String>,
    ) -> Result<(ApiKey, String), AppError> {
        let name = new.name.trim();
        if name.is_empty() || name.chars().count() > MAX_KEY_NAME {
            return Err(AppError::invalid(
                "name",
                format!("must be 1 to {MAX_KEY_NAME} characters"),
            ));
        }
        let approver = match (new.role, new.approver.map(normalize)) {
            (KeyRole::Approver, Some(who)) if !who.is_empty() && who.chars().count() <= 200 => {
                Some(who)
            }
            (KeyRole::Approver, _) => {
                return Err(AppError::invalid(
                    "approver",
                    "an approver key names the approver identity it acts as (1 to 200 characters)",
                ));
            }
            (_, Some(_)) => {
                return Err(AppError::invalid(
                    "approver",
                    "only an approver key names an approver",
                ));
            }
            (_, None) => None,
        };
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
            role: new.role,
            approver,
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
                        NewKey::agent("GREENLIGHT_API_KEY"),
                        Some(secret.to_owned()),
                    )
                    .await?;
                    Ok(None)
                }
            };
        }
        if self.stores.tenants.count_api_keys(DEFAULT_TENANT).await? == 0 {
            let (_, secret) = self
                .create_api_key(DEFAULT_TENANT, NewKey::agent("first start"), None)
                .await?;
            return Ok(Some(secret));
        }
        Ok(None)
    }

    /// The tenant's keys, revoked ones included (admins only).
    pub async fn keys(&self, caller: &Caller) -> Result<Vec<ApiKey>, AppError> {
        caller.require(&[KeyRole::Admin], "manage keys")?;
        Ok(self.stores.tenants.api_keys(&caller.tenant_id).await?)
    }

    /// A new key of the caller's tenant (admins only); the secret is shown this once.
    pub async fn new_key(
        &self,
        caller: &Caller,
        new: NewKey<'_>,
    ) -> Result<(ApiKey, String), AppError> {
        caller.require(&[KeyRole::Admin], "manage keys")?;
        self.create_api_key(&caller.tenant_id, new, None).await
    }

    /// Revokes a key of the caller's tenant (admins only).
    pub async fn revoke_key(&self, caller: &Caller, id: &str) -> Result<(), AppError> {
        caller.require(&[KeyRole::Admin], "manage keys")?;
        if self
            .stores
            .tenants
            .revoke_api_key(&caller.tenant_id, id, self.clock.now())
            .await?
        {
            Ok(())
        } else {
            Err(AppError::NotFound("API key"))
        }
    }
}
