//! Follow-up work from the outbox: claim under a lease, run, settle; retry with
//! exponential backoff and jitter; bury what can never succeed.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use serde_json::Value;

use super::{App, AppError, TimerOutcome, Timers, deliveries, webhooks};
use crate::domain::{Approval, Status, TimerKind};
use crate::ports::{
    ChannelError, DELIVERY_SEND_KIND, DELIVERY_UPDATE_KIND, IdKind, Job, Lane, NewJob, SEND_KIND,
    SchedulerError,
};

/// A request's deadline: apply its timeout action (or escalate).
pub const EXPIRE: &str = "approval.expire";
/// A request's reminder: re-notify the approvers who have not answered.
pub const REMIND: &str = "approval.remind";
/// With an outside scheduler: hand a timer to it.
pub const TIMER_SET: &str = "timer.set";
/// With an outside scheduler: take back the timers a request no longer needs.
pub const TIMER_CLEAR: &str = "timer.clear";

/// What a timer carries: the input of the EventBridge Scheduler schedule and the body
/// of the SQS delay-queue message on AWS, and the payload of the delayed job locally.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TimerFired {
    pub tenant_id: String,
    pub approval_id: String,
    #[serde(flatten)]
    pub kind: TimerKind,
    /// The ladder level the timer was set for; a timer of an earlier level is stale.
    pub level: u32,
    pub due_at: DateTime<Utc>,
    /// The request's version when the timer was set (for logs: the handler re-reads).
    pub expected_version: i64,
}

impl TimerFired {
    /// A name unique to this timer of this request, so setting it twice leaves one.
    pub fn name(&self) -> String {
        match self.kind {
            TimerKind::Expire => format!("{}-expire-l{}", self.approval_id, self.level),
            TimerKind::Remind { index } => {
                format!("{}-remind{index}-l{}", self.approval_id, self.level)
            }
        }
    }
}

fn to_json<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).expect("job payloads serialize")
}

/// The request's timers as `TimerFired`s.
fn timers_of(tenant_id: &str, a: &Approval) -> Vec<TimerFired> {
    a.timers()
        .into_iter()
        .map(|t| TimerFired {
            tenant_id: tenant_id.to_owned(),
            approval_id: a.id.clone(),
            kind: t.kind,
            level: t.level,
            due_at: t.due_at,
            expected_version: a.version,
        })
        .collect()
}

/// The outbox rows a change writes for its timers, and the job kinds it cancels.
#[derive(Debug, Default)]
pub(super) struct TimerJobs {
    pub jobs: Vec<NewJob>,
    pub cancel_kinds: Vec<String>,
}

/// The timer work of moving from `before` (none when the request is new) to `after`.
/// Leaving `PENDING` ends a request's timers; an escalation replaces them with the new
/// level's; any other change leaves them be.
pub(super) fn timer_jobs(
    app: &App,
    tenant_id: &str,
    before: Option<&Approval>,
    after: &Approval,
) -> TimerJobs {
    if before.is_some_and(|b| after.status == Status::Pending && after.level == b.level) {
        return TimerJobs::default();
    }
    let job = |kind: &str, payload: Value, run_at: DateTime<Utc>| NewJob {
        id: app.ids.next(IdKind::Job),
        tenant_id: tenant_id.to_owned(),
        kind: kind.to_owned(),
        approval_id: Some(after.id.clone()),
        payload,
        run_at,
        max_attempts: 20,
    };
    let now = app.clock.now();
    let set = timers_of(tenant_id, after);
    match &app.timers {
        Timers::Outbox => TimerJobs {
            jobs: set
                .into_iter()
                .map(|t| {
                    let kind = match t.kind {
                        TimerKind::Expire => EXPIRE,
                        TimerKind::Remind { .. } => REMIND,
                    };
                    job(kind, to_json(&t), t.due_at)
                })
                .collect(),
            cancel_kinds: vec![EXPIRE.to_owned(), REMIND.to_owned()],
        },
        Timers::External(_) => {
            let mut jobs: Vec<NewJob> = set
                .iter()
                .map(|t| job(TIMER_SET, to_json(t), now))
                .collect();
            if let Some(old) = before
                .map(|b| timers_of(tenant_id, b))
                .filter(|o| !o.is_empty())
            {
                jobs.push(job(TIMER_CLEAR, to_json(&old), now));
            }
            TimerJobs {
                jobs,
                // A timer not yet handed over need not be.
                cancel_kinds: vec![TIMER_SET.to_owned()],
            }
        }
    }
}

fn payload<T: serde::de::DeserializeOwned>(job: &Job) -> Result<T, Outcome> {
    serde_json::from_value(job.payload.clone())
        .map_err(|e| Outcome::Permanent(format!("payload of {} is unreadable: {e}", job.kind)))
}

/// How a failed use-case settles its job.
fn failed(e: AppError) -> Outcome {
    match e {
        AppError::NotFound(what) => Outcome::Permanent(format!("{what} not found")),
        AppError::Scheduler(SchedulerError::Refused(why)) => Outcome::Permanent(why),
        e => Outcome::Retry(crate::telemetry::error_chain(&e)),
    }
}

/// How one run of a job ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Done,
    /// Not yet: run again at this time.
    NotBefore(DateTime<Utc>),
    /// Failed; the job keeps its own schedule and runs again at this time.
    RetryAt(DateTime<Utc>, String),
    /// Failed in a way a later attempt may fix.
    Retry(String),
    /// Failed for good.
    Permanent(String),
}

#[derive(Debug, Clone, Copy)]
pub struct RunnerConfig {
    pub lease: Duration,
    pub batch: u32,
    pub min_backoff: Duration,
    pub max_backoff: Duration,
    pub lane: Lane,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(60),
            batch: 32,
            min_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(3600),
            lane: Lane::All,
        }
    }
}

/// The delay before attempt `attempts + 1`, after `attempts` failures.
pub fn backoff(config: &RunnerConfig, attempts: i32) -> Duration {
    let n = usize::try_from(attempts.max(1) - 1).unwrap_or(0);
    ExponentialBuilder::new()
        .with_min_delay(config.min_backoff)
        .with_max_delay(config.max_backoff)
        .with_jitter()
        .without_max_times()
        .build()
        .nth(n)
        .unwrap_or(config.max_backoff)
}

/// Runs due jobs against the use-cases. Used by the local worker loop, and by anything
/// else that wants to drain the outbox (the sweeper, tests).
#[derive(Clone)]
pub struct JobRunner {
    app: App,
    config: RunnerConfig,
}

impl JobRunner {
    pub fn new(app: App, config: RunnerConfig) -> Self {
        Self { app, config }
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
                    let outcome = runner.run(&job).await;
                    runner.settle(&job, &owner, outcome).await?;
                }
                Ok::<(), AppError>(())
            });
        }
        let mut first_error = None;
        while let Some(done) = running.join_next().await {
            match done {
                Ok(Ok(())) => {}
                Ok(Err(e)) => first_error = first_error.or(Some(e)),
                Err(panic) => {
                    tracing::error!(error = %panic, "a job panicked; its lease will expire and it will run again")
                }
            }
        }
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

    pub(super) async fn run(&self, job: &Job) -> Outcome {
        match job.kind.as_str() {
            EXPIRE | REMIND => match payload::<TimerFired>(job) {
                Ok(timer) => match self.app.fire_timer(&timer).await {
                    Ok(TimerOutcome::NotBefore { at }) => Outcome::NotBefore(at),
                    Ok(_) => Outcome::Done,
                    Err(e) => failed(e),
                },
                Err(bad) => bad,
            },
            TIMER_SET | TIMER_CLEAR => {
                let Timers::External(scheduler) = &self.app.timers else {
                    return Outcome::Permanent("no outside scheduler is configured".into());
                };
                let done = if job.kind == TIMER_SET {
                    match payload::<TimerFired>(job) {
                        Ok(timer) => scheduler.set(&timer).await,
                        Err(bad) => return bad,
                    }
                } else {
                    match payload::<Vec<TimerFired>>(job) {
                        Ok(timers) => scheduler.clear(&timers).await,
                        Err(bad) => return bad,
                    }
                };
                match done {
                    Ok(()) => Outcome::Done,
                    Err(e) => failed(e.into()),
                }
            }
            webhooks::FANOUT => match payload::<webhooks::FanOut>(job) {
                Ok(f) => match self.app.fan_out(&f).await {
                    Ok(_) => Outcome::Done,
                    Err(e) => failed(e),
                },
                Err(bad) => bad,
            },
            SEND_KIND => match payload::<webhooks::Send>(job) {
                Ok(s) => match self.app.send(&s).await {
                    Ok(webhooks::SendOutcome::Settled) => Outcome::Done,
                    Ok(webhooks::SendOutcome::RetryAt(at, why)) => Outcome::RetryAt(at, why),
                    Err(e) => failed(e),
                },
                Err(bad) => bad,
            },
            deliveries::PLAN => match payload::<deliveries::Plan>(job) {
                Ok(p) => match self.app.plan_deliveries(&p).await {
                    Ok(_) => Outcome::Done,
                    Err(e) => failed(e),
                },
                Err(bad) => bad,
            },
            DELIVERY_SEND_KIND => match payload::<deliveries::DeliveryJob>(job) {
                Ok(d) => match self.app.send_delivery(&d).await {
                    Ok(deliveries::SendOutcome::Settled) => Outcome::Done,
                    Ok(deliveries::SendOutcome::RetryAt(at, why)) => Outcome::RetryAt(at, why),
                    Err(e) => failed(e),
                },
                Err(bad) => bad,
            },
            DELIVERY_UPDATE_KIND => match payload::<deliveries::DeliveryJob>(job) {
                Ok(d) => match self.app.update_slack_message(&d).await {
                    Ok(()) => Outcome::Done,
                    Err(deliveries::UpdateError::App(e)) => failed(e),
                    Err(deliveries::UpdateError::Channel(ChannelError::Refused(why))) => {
                        Outcome::Permanent(why)
                    }
                    Err(deliveries::UpdateError::Channel(ChannelError::Throttled {
                        retry_after_seconds,
                        reason,
                    })) => Outcome::RetryAt(
                        self.app.clock.now()
                            + chrono::Duration::seconds(
                                i64::try_from(retry_after_seconds).unwrap_or(3600),
                            ),
                        reason,
                    ),
                    Err(deliveries::UpdateError::Channel(e)) => Outcome::Retry(e.to_string()),
                },
                Err(bad) => bad,
            },
            other => Outcome::Permanent(format!("no handler for job kind {other:?}")),
        }
    }

    pub(super) async fn settle(
        &self,
        job: &Job,
        owner: &str,
        outcome: Outcome,
    ) -> Result<(), AppError> {
        let jobs = &self.app.jobs;
        let settled = match outcome {
            Outcome::Done => jobs.complete(&job.id, owner).await?,
            Outcome::NotBefore(at) => jobs.retry(&job.id, owner, at, "not yet due").await?,
            Outcome::RetryAt(at, error) => jobs.retry(&job.id, owner, at, &error).await?,
            Outcome::Retry(error) => {
                let delay = backoff(&self.config, job.attempts);
                let at = self.app.clock.now()
                    + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::hours(1));
                tracing::warn!(job = %job.id, kind = %job.kind, attempts = job.attempts, %error, "job failed; will retry");
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
