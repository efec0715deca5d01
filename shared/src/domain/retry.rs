//! The one retry schedule: exponential backoff between a first delay and a ceiling,
//! and a random part of up to as much again that the caller draws (the domain draws
//! no randomness), so retries of many failed items do not arrive together.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use chrono::{DateTime, Utc};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    pub first: Duration,
    pub factor: f32,
    pub max: Duration,
}

impl Backoff {
    /// Outbox jobs: 1 s doubling to an hour.
    pub const JOBS: Backoff = Backoff {
        first: Duration::from_secs(1),
        factor: 2.0,
        max: Duration::from_secs(3600),
    };
    /// Messages to approvers: 2 s doubling to 5 min; the eighth attempt comes 4 to 9
    /// minutes after the first, with jitter.
    pub const MESSAGES: Backoff = Backoff {
        first: Duration::from_secs(2),
        factor: 2.0,
        max: Duration::from_secs(300),
    };
    /// Webhooks: 5 s, then threefold each time (15 s, 45 s, … 9 h 7 min); the ten
    /// attempts span 14 to 27 hours.
    pub const WEBHOOKS: Backoff = Backoff {
        first: Duration::from_secs(5),
        factor: 3.0,
        max: Duration::from_secs(10 * 3600),
    };

    /// The wait after `failures` failed attempts (1-based), with `jitter` in `[0, 1)`
    /// of the delay added.
    pub fn delay(&self, failures: u32, jitter: f64) -> Duration {
        let n = usize::try_from(failures.max(1) - 1).unwrap_or(0);
        let base = ExponentialBuilder::new()
            .with_min_delay(self.first)
            .with_factor(self.factor)
            .with_max_delay(self.max)
            .without_max_times()
            .build()
            .nth(n)
            .unwrap_or(self.max);
        base + base.mul_f64(jitter.clamp(0.0, 1.0))
    }

    /// When to try again after `failures` failed attempts, from `now`.
    pub fn after(&self, failures: i32, now: DateTime<Utc>, jitter: f64) -> DateTime<Utc> {
        let delay = self.delay(failures.max(0).unsigned_abs(), jitter);
        now + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::hours(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_to_its_ceiling_and_jitter_adds_at_most_as_much_again() {
        let b = Backoff::WEBHOOKS;
        assert_eq!(b.delay(1, 0.0), Duration::from_secs(5));
        assert_eq!(b.delay(2, 0.0), Duration::from_secs(15));
        assert_eq!(b.delay(99, 0.0), Duration::from_secs(10 * 3600));
        assert_eq!(b.delay(1, 0.999_999).as_secs(), 9);
        assert_eq!(Backoff::JOBS.delay(0, 0.0), Duration::from_secs(1));
    }
}
