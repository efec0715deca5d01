//! Limits on bursts from callers: per API key and per tenant on every authenticated
//! call, per email and per client address on sign-in.

use super::{Accounts, Caller};
use crate::app::AppError;
use crate::domain::Quota;

impl Accounts<'_> {
    /// Counts one call against its key's and its tenant's quotas; past either, the call
    /// is refused with when to come back.
    pub async fn admit(&self, caller: &Caller) -> Result<(), AppError> {
        self.take(&self.limits.per_key, &caller.key_id).await?;
        self.take(&self.limits.per_tenant, &caller.tenant_id).await
    }

    /// Counts one sign-in attempt against its email's and its address's quotas.
    pub(super) async fn admit_sign_in(
        &self,
        email: &str,
        address: Option<&str>,
    ) -> Result<(), AppError> {
        self.take(&self.limits.sign_in_per_email, &email.trim().to_lowercase())
            .await?;
        match address {
            Some(a) => self.take(&self.limits.sign_in_per_address, a).await,
            None => Ok(()),
        }
    }

    async fn take(&self, quota: &Quota, key: &str) -> Result<(), AppError> {
        let verdict = self.limiter.take(quota, key, self.clock.now()).await?;
        if verdict.allowed {
            Ok(())
        } else {
            tracing::warn!(quota = quota.name, "a caller is past a rate limit");
            Err(AppError::RateLimited {
                quota: *quota,
                verdict,
            })
        }
    }
}
