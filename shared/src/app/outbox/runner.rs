//! Follow-up work from the outbox: claim under a lease, run each task against its
//! feature, settle; retry on the one backoff schedule; bury what can never succeed.

use std::sync::Arc;
use std::time::Duration;

use super::Tasks;
use crate::app::{App, AppError, Timers};
use crate::domain::retry::Backoff;
use crate::domain::{EventRef, Lane, Outcome};
use crate::ports::{IdKind, Job, Scheduler, SchedulerError};

/// How a failed use-case settles its job.
pub(super) fn failed(e: AppError) -> Outcome {
    match e {
        AppError::NotFound(what) => Outcome::Permanent(format!("{what} not found")),
        AppError::Scheduler(SchedulerError::Refused(why)) => Outcome::Permanent(why),
        e => Outcome::Retry(crate::telemetry::error_chain(&e)),
    }
}

/// A use-case that ends its task whenever it succeeds.
pub(super) fn done<T>(result: Result<T, AppError>) -> Outcome {
    result.map_or_else(failed, |_| Outcome::Done)
}

#[derive(Debug, Clone, Copy)]
pub struct RunnerConfig {
    pub lease: Duration,
    pub batch: u32,
    pub backoff: Backoff,
    pub lane: Lane,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        Self {
            // Short, because the worker renews it while it runs: a worker that dies
            // leaves its jobs to the next claimant within seconds, not minutes.
            lease: Duration::from_secs(5),
            batch: 32,
            backoff: Backoff::JOBS,
            lane: Lane::All,
        }
    }
}

/// Runs due jobs against the use-cases. Used by the local worker loop, and by anything
/// else that wants to drain the outbox (the sweeper, tests).
#[derive(Clone)]
pub struct JobRunner {
    app: App,
    config: RunnerConfig,
    tasks: Tasks,
}

impl JobRunner {
    pub fn new(app: App, config: RunnerConfig, tasks: Tasks) -> Self {
        Self { app, config, tasks }
    }

    pub fn lane(&self) -> Lane {
        self.config.lane
    }

    pub fn app(&self) -> &App {
        &self.app
    }

    /// Claims one batch of due jobs, runs and settles each; returns the kinds of the
    /// jobs it claimed.
    pub async fn run_due(&self) -> Result<Vec<String>, AppError> {
        // A fresh lease owner per claim: settling is fenced by it, so a worker whose
        // lease ran out cannot settle a job someone else has since claimed.
        let owner = self.app.ids.next(IdKind::Job);
        let now = self.app.clock.now();
        let jobs = self
            .app
            .stores
            .jobs
            .claim_lane(
                &owner,
                now,
                self.config.lease,
                self.config.batch,
                self.config.lane,
            )
            .await?;
        let claimed: Vec<String> = jobs.iter().map(|j| j.kind.clone()).collect();
        // Jobs of different requests run side by side, so one slow job does not hold up
        // the deadlines behind it; a request's own jobs run one after another in due
        // order (a reminder before the deadline it precedes).
        let mut per_request: Vec<Vec<Job>> = Vec::new();
        for job in jobs {
            match per_request
                .iter_mut()
                .find(|group| job.approval_id.is_some() && group[0].approval_id == job.approval_id)
            {
                Some(group) => group.push(job),
                None => per_request.push(vec![job]),
            }
        }
        let mut running = tokio::task::JoinSet::new();
        for group in per_request {
            let (runner, owner) = (self.clone(), owner.clone());
            running.spawn(async move {
                for job in group {
                    let outcome = runner.run_guarded(&job).await;
                    runner.settle(&job, &owner, outcome).await?;
                }
                Ok::<(), AppError>(())
            });
        }
        let heartbeat = self.heartbeat(owner.clone());
        let mut first_error = None;
        while let Some(done) = running.join_next().await {
            match done {
                Ok(Ok(())) => {}
                Ok(Err(e)) => first_error = first_error.or(Some(e)),
                Err(e) => tracing::error!(error = %e, "a job group ended abnormally"),
            }
        }
        heartbeat.abort();
        match first_error {
            Some(e) => Err(e),
            None => Ok(claimed),
        }
    }

    /// Runs due jobs until none is left at the clock's current time; returns the kinds
    /// of the jobs it ran.
    pub async fn drain(&self) -> Result<Vec<String>, AppError> {
        let mut ran = Vec::new();
        loop {
            let kinds = self.run_due().await?;
            if kinds.is_empty() {
                return Ok(ran);
            }
            ran.extend(kinds);
        }
    }

    /// Renews `owner`'s leases while its jobs run, so that only a dead or frozen worker
    /// loses them. A renewal that fails is retried at the next beat; the lease is long
    /// enough to miss a few.
    fn heartbeat(&self, owner: String) -> tokio::task::JoinHandle<()> {
        let (app, lease) = (self.app.clone(), self.config.lease);
        tokio::spawn(async move {
            let beat = lease / 4;
            let lease = chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::minutes(1));
            loop {
                tokio::time::sleep(beat).await;
                let until = app.clock.now() + lease;
                if let Err(e) = app.stores.jobs.renew(&owner, until).await {
                    tracing::warn!(error = %e, "could not renew the leases of running jobs");
                }
            }
        })
    }

    /// `run`, with a panic turned into a failed attempt: the job is retried on its
    /// backoff and buried after its last attempt like any other failure.
    pub(super) async fn run_guarded(&self, job: &Job) -> Outcome {
        let (runner, owned) = (self.clone(), job.clone());
        match tokio::spawn(async move { runner.run(&owned).await }).await {
            Ok(outcome) => outcome,
            Err(e) => Outcome::Retry(format!("the job panicked: {e}")),
        }
    }

    /// Runs one job's task against the feature it belongs to, if it is one of the
    /// tasks this runner runs.
    pub(super) async fn run(&self, job: &Job) -> Outcome {
        match job.task() {
            Ok(task) => (self.tasks.0)(self, task).await,
            Err(e) => Outcome::Permanent(e.to_string()),
        }
    }

    /// An event goes to its webhook receivers and, on AWS, to the live stream's
    /// connections; both are idempotent enough to run again after a failure.
    pub(super) async fn fan_out_event(&self, at: &EventRef) -> Result<(), AppError> {
        let event = self.app.approvals().event(at).await?;
        self.app.webhooks().fan_out(&at.tenant_id, &event).await?;
        self.app.stream().push(&at.tenant_id, &event).await?;
        Ok(())
    }

    /// A task for the outside scheduler, which only the AWS composition has.
    pub(super) async fn scheduled<F, Fut>(&self, call: F) -> Outcome
    where
        F: FnOnce(Arc<dyn Scheduler>) -> Fut,
        Fut: Future<Output = Result<(), SchedulerError>>,
    {
        let Timers::External(Some(scheduler)) = &self.app.timers else {
            return Outcome::Permanent("this process has no outside scheduler".into());
        };
        match call(scheduler.clone()).await {
            Ok(()) => Outcome::Done,
            Err(e) => failed(e.into()),
        }
    }

    pub(super) async fn settle(
        &self,
        job: &Job,
        owner: &str,
        outcome: Outcome,
    ) -> Result<(), AppError> {
        let jobs = &self.app.stores.jobs;
        let settled = match outcome {
            Outcome::Done => jobs.complete(&job.id, owner).await?,
            Outcome::NotBefore(at) => jobs.retry(&job.id, owner, at, "not yet due").await?,
            Outcome::RetryAt(at, error) => jobs.retry(&job.id, owner, at, &error).await?,
            Outcome::Retry(error) => {
                let at =
                    self.config
                        .backoff
                        .after(job.attempts, self.app.clock.now(), rand::random());
                // The queue buries a job retried after its last attempt.
                if job.attempts >= job.max_attempts {
                    tracing::error!(job = %job.id, kind = %job.kind, attempts = job.attempts, %error, "job failed its last attempt; buried");
                } else {
                    tracing::warn!(job = %job.id, kind = %job.kind, attempts = job.attempts, %error, "job failed; will retry");
                }
                jobs.retry(&job.id, owner, at, &error).await?
            }
            Outcome::Permanent(error) => {
                tracing::error!(job = %job.id, kind = %job.kind, %error, "job failed for good");
                jobs.bury(&job.id, owner, &error).await?
            }
        };
        if !settled {
            tracing::warn!(job = %job.id, "lease lost before the job was settled; another worker has it");
        }
        Ok(())
    }
}
