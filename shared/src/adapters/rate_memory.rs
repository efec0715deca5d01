//! Rate limits of one process: a token bucket (GCRA, `governor`) per quota and key, in
//! memory. Right for the local server, where one process serves every call; on AWS
//! the store counts (`adapters::sql`), so the limits hold across containers.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;

use crate::domain::{Quota, Verdict};
use crate::ports::{RateLimiter, StoreError};

type Buckets = governor::RateLimiter<
    String,
    DefaultKeyedStateStore<String>,
    DefaultClock,
    StateInformationMiddleware,
>;

/// One set of buckets per quota, made on first use.
#[derive(Default)]
pub struct MemoryRateLimiter {
    quotas: Mutex<HashMap<&'static str, Arc<Buckets>>>,
}

impl MemoryRateLimiter {
    fn buckets(&self, quota: &Quota) -> Arc<Buckets> {
        let mut quotas = self.quotas.lock().expect("rate limiter lock");
        quotas
            .entry(quota.name)
            .or_insert_with(|| {
                let burst = NonZeroU32::new(quota.limit.max(1)).expect("at least one");
                let period =
                    Duration::from_secs(u64::from(quota.window_seconds.max(1))) / burst.get();
                let gcra = governor::Quota::with_period(period.max(Duration::from_nanos(1)))
                    .expect("a positive period")
                    .allow_burst(burst);
                Arc::new(governor::RateLimiter::dashmap(gcra).with_middleware())
            })
            .clone()
    }
}

#[async_trait]
impl RateLimiter for MemoryRateLimiter {
    async fn take(
        &self,
        quota: &Quota,
        key: &str,
        _now: DateTime<Utc>,
    ) -> Result<Verdict, StoreError> {
        let buckets = self.buckets(quota);
        Ok(match buckets.check_key(&key.to_owned()) {
            Ok(state) => Verdict {
                allowed: true,
                remaining: state.remaining_burst_capacity(),
                reset_seconds: 0,
            },
            Err(not_until) => Verdict {
                allowed: false,
                remaining: 0,
                reset_seconds: not_until
                    .wait_time_from(DefaultClock::default().now())
                    .as_secs()
                    .max(1),
            },
        })
    }

    async fn forget_before(&self, _before: DateTime<Utc>) -> Result<u64, StoreError> {
        let quotas = self.quotas.lock().expect("rate limiter lock").clone();
        for buckets in quotas.values() {
            // Buckets that have refilled say nothing a new bucket would not.
            buckets.retain_recent();
        }
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_burst_past_the_quota_is_refused_per_key() {
        let limiter = MemoryRateLimiter::default();
        let q = Quota::per_minute("test", 3);
        let now = Utc::now();
        for left in [2, 1, 0] {
            let v = limiter.take(&q, "a", now).await.unwrap();
            assert_eq!((v.allowed, v.remaining), (true, left));
        }
        let refused = limiter.take(&q, "a", now).await.unwrap();
        assert!(!refused.allowed);
        assert!((1..=20).contains(&refused.reset_seconds), "{refused:?}");
        assert!(limiter.take(&q, "b", now).await.unwrap().allowed);
    }
}
