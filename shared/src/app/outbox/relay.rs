//! The outbox on AWS: committed jobs are claimed under a long lease and handed to a
//! queue, whose consumer runs each one and settles it under that lease. A job whose
//! lease runs out unsettled (a lost message, a crashed consumer) is claimed and handed
//! over again. The functions relay after each invocation that commits, and the sweeper
//! on its schedule; on DynamoDB the table's stream also hands over each job as it is
//! written (`hand_over`). A job due later travels delayed, and one that failed for now
//! is handed over again by its consumer for its retry time.

use std::sync::Arc;
use std::time::Duration;

use super::JobRunner;
use crate::app::{App, AppError};
use crate::domain::TaskKind;
use crate::ports::{IdKind, JobStatus, MAX_RELAY_DELAY, Relay, Relayed};

/// How long a relayed job is left to its consumer before it is relayed again.
pub const RELAY_LEASE: Duration = Duration::from_secs(300);
const RELAY_BATCH: u32 = 100;

#[derive(Clone)]
pub struct OutboxRelay {
    app: App,
    relay: Arc<dyn Relay>,
}

impl OutboxRelay {
    pub fn new(app: App, relay: Arc<dyn Relay>) -> Self {
        Self { app, relay }
    }

    /// Hands every due job to the queue; returns how many. When the queue refuses, the
    /// jobs stay leased and are relayed again when the lease runs out.
    pub async fn relay_due(&self) -> Result<usize, AppError> {
        let mut relayed = 0;
        loop {
            let owner = format!("relay:{}", self.app.ids.next(IdKind::Job));
            let now = self.app.clock.now();
            let jobs = self
                .app
                .stores
                .jobs
                .claim(&owner, now, RELAY_LEASE, RELAY_BATCH)
                .await?;
            if jobs.is_empty() {
                return Ok(relayed);
            }
            let messages: Vec<Relayed> = jobs
                .iter()
                .map(|j| Relayed {
                    job_id: j.id.clone(),
                    owner: owner.clone(),
                    kind: TaskKind::parse(&j.kind),
                })
                .collect();
            if let Err(e) = self.relay.publish(&messages, Duration::ZERO).await {
                tracing::error!(error = %e, jobs = messages.len(), "relay failed; the jobs go again when their lease ends");
                return Ok(relayed);
            }
            relayed += messages.len();
        }
    }

    /// Hands the one job `job_id` over, leased from when it falls due and delayed until
    /// then (as long as the queue can hold it back); `false` if it is not to be handed
    /// over (settled, or leased already). When the queue refuses, the job stays leased and
    /// is relayed again when the lease runs out.
    pub async fn hand_over(&self, job_id: &str) -> Result<bool, AppError> {
        let owner = format!("relay:{}", self.app.ids.next(IdKind::Job));
        let now = self.app.clock.now();
        let Some(job) = self
            .app
            .stores
            .jobs
            .claim_job(job_id, &owner, now, RELAY_LEASE)
            .await?
        else {
            return Ok(false);
        };
        let message = Relayed {
            job_id: job.id.clone(),
            owner,
            kind: TaskKind::parse(&job.kind),
        };
        self.publish_for(&message, job.run_at).await?;
        Ok(true)
    }

    /// Runs a relayed job as `runner` does, except that one handed over ahead of its time
    /// goes back on its way under the same lease, and one that failed for now is handed
    /// over again for its retry time, rather than left to the sweeper.
    pub async fn run(&self, runner: &JobRunner, r: &Relayed) -> Result<(), AppError> {
        let Some(job) = self.app.stores.jobs.get_job(&r.job_id).await? else {
            return Ok(());
        };
        if job.status != JobStatus::Pending {
            return Ok(());
        }
        if job.run_at > self.app.clock.now() {
            return self.publish_for(r, job.run_at).await;
        }
        runner.run_relayed(r).await?;
        self.hand_over(&r.job_id).await?;
        Ok(())
    }

    /// Publishes `message` to arrive when its job is due (or as close to it as the
    /// queue's longest delay allows).
    async fn publish_for(
        &self,
        message: &Relayed,
        due: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), AppError> {
        let delay = (due - self.app.clock.now())
            .to_std()
            .unwrap_or_default()
            .min(MAX_RELAY_DELAY);
        Ok(self
            .relay
            .publish(std::slice::from_ref(message), delay)
            .await?)
    }
}

impl JobRunner {
    /// Runs a job handed over by the relay and settles it under the relay's lease. A job
    /// already settled (a duplicate message) is left alone.
    pub async fn run_relayed(&self, r: &Relayed) -> Result<(), AppError> {
        let Some(job) = self.app().stores.jobs.get_job(&r.job_id).await? else {
            return Ok(());
        };
        if job.status != JobStatus::Pending {
            return Ok(());
        }
        let outcome = self.run_guarded(&job).await;
        self.settle(&job, &r.owner, outcome).await
    }
}
