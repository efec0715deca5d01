use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use crate::domain::{Quota, Verdict};

/// Counts takes against quotas. In one process a token bucket in memory does; where
/// many containers serve one deployment (AWS) the count lives in the store, so the
/// limit holds across them.
#[async_trait]
pub trait RateLimiter: Send + Sync {
    /// Takes one from `key`'s allowance under `quota` at `now`.
    async fn take(
        &self,
        quota: &Quota,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Verdict, StoreError>;

    /// Forgets the counts of windows that ended before `before`; how many went.
    async fn forget_before(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;
}
