use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{IdempotencyClaim, NewJob, StoreError};
use crate::domain::workflow::{Run, RunEvent, RunStatus, Workflow, WorkflowVersion};

/// A run's row as stored: its state, the hash of its last event and the head's seal.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRun {
    pub tenant_id: String,
    pub run: Run,
    pub last_event_hash: String,
    pub head_seal: String,
}

/// Everything starting a run writes, in one transaction.
#[derive(Debug, Clone)]
pub struct NewRunRecord {
    pub tenant_id: String,
    /// The state after the last of `events`.
    pub run: Run,
    pub events: Vec<RunEvent>,
    pub head_seal: String,
    pub jobs: Vec<NewJob>,
    pub idempotency: Option<IdempotencyClaim>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunCreateOutcome {
    Created,
    /// The key was used before with the same body: nothing was written.
    Replayed {
        run_id: String,
    },
    /// The key was used before with another body: nothing was written.
    KeyReused,
}

/// Everything one transition of a run writes, in one transaction, if the run is still
/// at `expected_seq`: a later DynamoDB adapter writes it as one `TransactWriteItems`.
/// A transition starts pure steps inline only up to
/// `domain::workflow::engine::MAX_INLINE_CHANGES` changes (each change is an event and
/// a fan-out job); a cascade of skipped steps can still add one event per step.
#[derive(Debug, Clone)]
pub struct RunTransition {
    pub tenant_id: String,
    pub expected_seq: i64,
    /// The state after the last of `events`.
    pub run: Run,
    /// One or more, in order, chained onto the run's head.
    pub events: Vec<RunEvent>,
    pub head_seal: String,
    pub jobs: Vec<NewJob>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunQuery {
    pub workflow_id: Option<String>,
    pub status: Option<RunStatus>,
    /// Keyset position: runs strictly older than this `(createdAt, id)`.
    pub after: Option<(DateTime<Utc>, String)>,
    pub limit: u32,
}

/// Workflows with their immutable versions, and runs with their event logs and the
/// idempotency keys that started them. Every call names the tenant.
#[async_trait]
pub trait WorkflowStore: Send + Sync {
    /// A new workflow with its first version.
    async fn create_workflow(
        &self,
        tenant_id: &str,
        workflow: &Workflow,
        first: &WorkflowVersion,
    ) -> Result<(), StoreError>;

    /// Writes the workflow's record if it is still as `expected_updated_at` says;
    /// `VersionConflict` otherwise.
    async fn update_workflow(
        &self,
        tenant_id: &str,
        workflow: &Workflow,
        expected_updated_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Adds `version` (number `workflow.latest_version`) and writes the workflow's
    /// record, if the record still has the latest version before it; `VersionConflict`
    /// when another version was added first.
    async fn add_version(
        &self,
        tenant_id: &str,
        workflow: &Workflow,
        version: &WorkflowVersion,
    ) -> Result<(), StoreError>;

    /// Deleted workflows too (their runs stay readable).
    async fn workflow(&self, tenant_id: &str, id: &str) -> Result<Option<Workflow>, StoreError>;

    /// Not deleted, newest first, strictly after `after` (`(createdAt, id)`).
    async fn workflows(
        &self,
        tenant_id: &str,
        after: Option<(DateTime<Utc>, String)>,
        limit: u32,
    ) -> Result<Vec<Workflow>, StoreError>;

    async fn version(
        &self,
        tenant_id: &str,
        workflow_id: &str,
        version: u32,
    ) -> Result<Option<WorkflowVersion>, StoreError>;

    async fn create_run(&self, record: NewRunRecord) -> Result<RunCreateOutcome, StoreError>;

    /// Compare-and-set on the run's `seq`; `VersionConflict` when another writer won.
    async fn transition_run(&self, record: RunTransition) -> Result<(), StoreError>;

    async fn run(&self, tenant_id: &str, id: &str) -> Result<Option<StoredRun>, StoreError>;

    /// The claim an `Idempotency-Key` of run starts was first used with, and its run.
    async fn run_idempotency_key(
        &self,
        tenant_id: &str,
        key: &str,
    ) -> Result<Option<(IdempotencyClaim, String)>, StoreError>;

    /// Newest first.
    async fn runs(&self, tenant_id: &str, query: &RunQuery) -> Result<Vec<Run>, StoreError>;

    /// In `seq` order.
    async fn run_events(&self, tenant_id: &str, run_id: &str) -> Result<Vec<RunEvent>, StoreError>;

    async fn run_event(
        &self,
        tenant_id: &str,
        run_id: &str,
        seq: i64,
    ) -> Result<Option<RunEvent>, StoreError>;

    /// The tenant's run events at feed positions in `(after, up_to]`, in feed order.
    /// Run events take their positions from the same order as requests' events
    /// (`ApprovalStore::feed`): the live stream merges the two.
    async fn run_feed(
        &self,
        tenant_id: &str,
        after: i64,
        up_to: i64,
        limit: u32,
    ) -> Result<Vec<(i64, RunEvent)>, StoreError>;

    /// The feed positions run events took after `after`, across all tenants, in order.
    async fn run_feed_positions(&self, after: i64, limit: u32) -> Result<Vec<i64>, StoreError>;

    /// The last feed position a run event took (0 when none).
    async fn run_feed_head(&self) -> Result<i64, StoreError>;
}
