use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::domain::TaskKind;

/// An outbox job handed to a queue: which job, and the lease its runner settles under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Relayed {
    pub job_id: String,
    pub owner: String,
    /// The job's kind, which decides the queue it goes to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<TaskKind>,
}

/// Where committed outbox jobs go to be run elsewhere (an SQS queue on AWS). Publishing
/// twice is harmless: the runner finds the job settled, or settles it under the lease.
#[async_trait]
pub trait Relay: Send + Sync {
    /// Hands the jobs over to arrive after `delay` (at most `MAX_RELAY_DELAY`; zero for
    /// at once).
    async fn publish(&self, jobs: &[Relayed], delay: Duration) -> Result<(), RelayError>;
}

/// The longest a relayed job can be held back on its way (SQS's longest delay); a job
/// due later is handed over again when it arrives early.
pub const MAX_RELAY_DELAY: Duration = Duration::from_secs(900);

#[derive(Debug, thiserror::Error)]
#[error("the outbox queue refused the jobs: {0}")]
pub struct RelayError(pub String);

/// Where a message no retry can help goes at once, with the reason (the queue's
/// dead-letter queue on AWS), so it is neither lost nor retried.
#[async_trait]
pub trait DeadLetters: Send + Sync {
    async fn bury(&self, body: &str, reason: &str) -> Result<(), RelayError>;
}
