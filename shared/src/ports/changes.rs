use tokio::sync::broadcast;

/// A committed change to one request or workflow run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changed {
    pub tenant_id: String,
    /// The request's or run's id.
    pub subject_id: String,
    pub version: i64,
    /// The change wrote outbox rows that workers should look at.
    pub has_jobs: bool,
}

/// Announces committed changes inside one process: long-polls wake on them and workers
/// look for new jobs. Best effort; anything that must not be missed is in the store.
pub trait ChangeFeed: Send + Sync {
    fn publish(&self, change: Changed);
    fn subscribe(&self) -> broadcast::Receiver<Changed>;
}
