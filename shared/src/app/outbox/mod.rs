//! The outbox: the follow-up work each change wrote in its own transaction, run by a
//! worker (locally) or handed to a queue by the relay (on AWS), with the one retry
//! schedule.

mod relay;
mod runner;

pub use relay::{OutboxRelay, RELAY_LEASE};
pub use runner::{JobRunner, RunnerConfig};
