use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::StoreError;
use crate::domain::{Lane, Task, TaskError};

/// Follow-up work written in the same transaction as the change that needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    pub id: String,
    pub tenant_id: String,
    pub task: Task,
    /// The request a job belongs to, if any: its timers are cancelled with it.
    pub approval_id: Option<String>,
    /// Not before this time: delayed jobs are how timers work locally.
    pub run_at: DateTime<Utc>,
    pub max_attempts: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    Pending,
    Done,
    /// Out of attempts; kept for inspection.
    Dead,
    /// A timer whose request was decided before it fell due.
    Cancelled,
}

text_enum!(JobStatus {
    Pending = "pending",
    Done = "done",
    Dead = "dead",
    Cancelled = "cancelled",
});

/// A stored job, as claimed: its task still in stored form, so that one whose payload
/// no longer reads is buried with the reason rather than failing the whole claim.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: String,
    pub tenant_id: String,
    pub kind: String,
    pub approval_id: Option<String>,
    pub payload: Value,
    pub run_at: DateTime<Utc>,
    /// Including the claim that returned this job.
    pub attempts: i32,
    pub max_attempts: i32,
    pub status: JobStatus,
    pub last_error: Option<String>,
}

impl Job {
    pub fn task(&self) -> Result<Task, TaskError> {
        Task::from_parts(&self.kind, self.payload.clone())
    }

    /// Whether a relayed job may be claimed by id: still pending, with attempts left.
    pub fn claimable(&self) -> bool {
        self.status == JobStatus::Pending && self.attempts < self.max_attempts
    }
}

/// The outbox, used as a queue: claims hand out leases, and only the lease holder may
/// settle a job. A lease that runs out makes the job claimable again, unless that claim
/// was its last attempt: then it is buried, so a job that kills its worker every time
/// (a panic, a crash, a hang) stops at its attempts.
#[async_trait]
pub trait JobQueue: Send + Sync {
    async fn enqueue(&self, jobs: Vec<NewJob>) -> Result<(), StoreError>;

    /// Leases up to `limit` due jobs to `owner` until `now + lease`.
    async fn claim(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<Job>, StoreError> {
        self.claim_lane(owner, now, lease, limit, Lane::All).await
    }

    /// `claim`, of one lane's jobs only.
    async fn claim_lane(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
        lane: Lane,
    ) -> Result<Vec<Job>, StoreError>;

    /// Leases the one job `job_id` to `owner`, as a relay does with each job it hands
    /// over alone: from when it falls due (`now` if it is due) for `lease`, if it is
    /// pending, not under a live lease at `now`, and has attempts left. The claim counts
    /// as an attempt, as `claim`'s do.
    async fn claim_job(
        &self,
        job_id: &str,
        owner: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Option<Job>, StoreError>;

    /// Extends every lease `owner` still holds to `until` (the heartbeat of a worker that
    /// is alive); returns how many.
    async fn renew(&self, owner: &str, until: DateTime<Utc>) -> Result<u64, StoreError>;

    /// A tenant's buried jobs, newest first, for the admin page.
    async fn buried(&self, tenant_id: &str, limit: u32) -> Result<Vec<Job>, StoreError>;

    /// Marks done; `false` if `owner` no longer holds the lease.
    async fn complete(&self, job_id: &str, owner: &str) -> Result<bool, StoreError>;

    /// Releases for another attempt at `run_at`, or buries it when out of attempts.
    async fn retry(
        &self,
        job_id: &str,
        owner: &str,
        run_at: DateTime<Utc>,
        error: &str,
    ) -> Result<bool, StoreError>;

    /// Marks dead at once (an error no retry can fix).
    async fn bury(&self, job_id: &str, owner: &str, error: &str) -> Result<bool, StoreError>;

    /// When the next pending job falls due, if any.
    async fn next_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.next_due_in(Lane::All).await
    }

    /// `next_due`, of one lane's jobs only.
    async fn next_due_in(&self, lane: Lane) -> Result<Option<DateTime<Utc>>, StoreError>;

    async fn get_job(&self, job_id: &str) -> Result<Option<Job>, StoreError>;
}
