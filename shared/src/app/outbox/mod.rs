//! The outbox: the follow-up work each change wrote in its own transaction, run by a
//! worker (locally) or handed to a queue by the relay (on AWS), with the one retry
//! schedule.

mod relay;
mod runner;

use chrono::{DateTime, Utc};

pub use relay::{OutboxRelay, RELAY_LEASE};
pub use runner::{JobRunner, RunnerConfig};

use crate::domain::retry::Backoff;

/// When to try again after `failures` failed attempts: the schedule's delay, plus a
/// random part so that many items failed together do not retry together.
pub fn retry_at(backoff: Backoff, failures: i32, now: DateTime<Utc>) -> DateTime<Utc> {
    let delay = backoff.delay(failures.max(0).unsigned_abs(), rand::random::<f64>());
    now + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::hours(1))
}
