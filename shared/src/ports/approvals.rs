use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{NewJob, StoreError};
use crate::domain::{Approval, Event, Message, Status, TaskKind};

/// The request's row as stored: its state and the hash of its last event.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredApproval {
    pub tenant_id: String,
    pub approval: Approval,
    pub last_event_hash: String,
    /// The head's seal under the server's audit key (`chain::seal`); `None` on requests
    /// last written before seals.
    pub head_seal: Option<String>,
}

/// An `Idempotency-Key` and the hash of the body it came with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyClaim {
    pub key: String,
    pub request_hash: String,
}

/// Everything creation writes, in one transaction.
#[derive(Debug, Clone)]
pub struct NewApprovalRecord {
    pub tenant_id: String,
    pub approval: Approval,
    pub event: Event,
    /// The seal of `event` as the request's head.
    pub head_seal: String,
    pub jobs: Vec<NewJob>,
    pub idempotency: Option<IdempotencyClaim>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateOutcome {
    Created,
    /// The key was used before with the same body: nothing was written.
    Replayed {
        approval_id: String,
    },
    /// The key was used before with another body: nothing was written.
    KeyReused,
}

/// Everything one transition writes, in one transaction, if the row is still at
/// `expected_version`.
#[derive(Debug, Clone)]
pub struct TransitionRecord {
    pub tenant_id: String,
    pub expected_version: i64,
    pub approval: Approval,
    pub event: Event,
    /// The seal of `event` as the request's new head.
    pub head_seal: String,
    pub jobs: Vec<NewJob>,
    /// Cancel the request's pending jobs of these kinds (its timers), in the same
    /// transaction, before adding `jobs`.
    pub cancel_job_kinds: Vec<TaskKind>,
    /// A message to an approver whose sending (or loss) this change records, saved in
    /// the same transaction.
    pub delivery: Option<Message>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListQuery {
    pub status: Option<Status>,
    pub agent_id: Option<String>,
    pub action_type: Option<String>,
    /// Keyset position: items strictly after (older than) this `(createdAt, id)`.
    pub after: Option<(DateTime<Utc>, String)>,
    pub limit: u32,
}

/// The approval aggregate: its row, its event log and the outbox rows a change writes.
#[async_trait]
pub trait ApprovalStore: Send + Sync {
    async fn create(&self, record: NewApprovalRecord) -> Result<CreateOutcome, StoreError>;

    /// Compare-and-set on the version; `StoreError::VersionConflict` when another writer won.
    async fn transition(&self, record: TransitionRecord) -> Result<(), StoreError>;

    async fn get(&self, tenant_id: &str, id: &str) -> Result<Option<StoredApproval>, StoreError>;

    /// The claim an `Idempotency-Key` was first used with, and the request it created.
    async fn idempotency_key(
        &self,
        tenant_id: &str,
        key: &str,
    ) -> Result<Option<(IdempotencyClaim, String)>, StoreError>;

    /// Newest first.
    async fn list(&self, tenant_id: &str, query: &ListQuery) -> Result<Vec<Approval>, StoreError>;

    /// In `seq` order.
    async fn events(&self, tenant_id: &str, approval_id: &str) -> Result<Vec<Event>, StoreError>;

    /// The tenant's events at feed positions in `(after, up_to]`, in feed order, with
    /// their positions: the live stream's source and its `Last-Event-ID`.
    async fn feed(
        &self,
        tenant_id: &str,
        after: i64,
        up_to: i64,
        limit: u32,
    ) -> Result<Vec<(i64, Event)>, StoreError>;

    /// The feed positions taken after `after`, across all tenants, in order.
    async fn feed_positions(&self, after: i64, limit: u32) -> Result<Vec<i64>, StoreError>;

    /// The feed's last position, across all tenants (0 when empty).
    async fn feed_head(&self) -> Result<i64, StoreError>;

    /// Pending requests whose current deadline is at or before `before`, oldest first.
    async fn overdue(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(String, String)>, StoreError>;

    /// Checks the database answers.
    async fn ping(&self) -> Result<(), StoreError>;
}
