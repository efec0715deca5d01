use async_trait::async_trait;

use crate::domain::TimerFired;

/// Timers kept outside the database (EventBridge Scheduler and an SQS delay queue on
/// AWS). Each delivers the `TimerFired` it was given to the timeout handler, at least
/// once, no earlier than the scheduler can promise; the handler re-checks everything.
#[async_trait]
pub trait Scheduler: Send + Sync {
    /// Arranges for `timer` to be handed back at its `due_at`. Setting the same timer
    /// twice (a retried job) leaves one timer.
    async fn set(&self, timer: &TimerFired) -> Result<(), SchedulerError>;

    /// Removes timers that are no longer wanted. Best effort: a timer already in flight
    /// still fires, and the handler refuses it as stale.
    async fn clear(&self, timers: &[TimerFired]) -> Result<(), SchedulerError>;
}

#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    /// Throttling, a network error, a 5xx: another attempt may succeed.
    #[error("the scheduler is unavailable: {0}")]
    Unavailable(String),
    /// The request itself was refused (bad configuration, permissions): retrying the
    /// same call cannot help.
    #[error("the scheduler refused the timer: {0}")]
    Refused(String),
}
