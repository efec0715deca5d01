//! The outbox on AWS: committed jobs are claimed under a long lease and handed to a
//! queue, whose consumer runs each one and settles it under that lease. A job whose
//! lease runs out unsettled (a lost message, a crashed consumer) is claimed and handed
//! over again; so is a job whose retry falls due. The functions relay after each
//! invocation that commits, and the sweeper on its schedule.

use std::sync::Arc;
use std::time::Duration;

use super::JobRunner;
use crate::app::{App, AppError};
use crate::domain::TaskKind;
use crate::ports::{IdKind, JobStatus, Relay, Relayed};

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
            if let Err(e) = self.relay.publish(&messages).await {
                tracing::error!(error = %e, jobs = messages.len(), "relay failed; the jobs go again when their lease ends");
                return Ok(relayed);
            }
            relayed += messages.len();
        }
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
