//! The one path of every change to a run after its start: load, let the engine turn
//! the signal into changes, record one chained event per change, turn the effects into
//! outbox jobs, and write it all as one compare-and-set on the run's `seq`. Of
//! concurrent writers one wins; a loser's signal is applied again to the winner's
//! state, so it is refused only if that state refuses it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use super::Workflows;
use crate::app::AppError;
use crate::domain::workflow::engine::Outcome;
use crate::domain::workflow::{Compiled, Effect, Refused, Run, RunEvent, Signal};
use crate::domain::{RunEventRef, StepApprovalRef, StepRef, Task, chain};
use crate::ports::{Changed, IdKind, NewJob, RunTransition, StoreError};

/// Tries of a signal that keeps losing to concurrent changes of its run: each loss is
/// another writer's progress, and a run has about as many writers as steps in flight.
const COMMIT_TRIES: u32 = 64;
/// Attempts of a run's follow-up job before it is buried; store errors are what they
/// absorb (a step's own retries are attempts of the step, each a job of its own).
const JOB_ATTEMPTS: i32 = 20;

/// How many compiled versions a process keeps; past it, the cache starts over.
const COMPILED_KEPT: usize = 512;

/// Compiled workflow versions of this process, by tenant, workflow and version.
#[derive(Default)]
pub(crate) struct CompiledVersions(Mutex<HashMap<(String, String, u32), Arc<Compiled>>>);

impl CompiledVersions {
    fn get(&self, key: &(String, String, u32)) -> Option<Arc<Compiled>> {
        self.0.lock().ok()?.get(key).cloned()
    }

    fn keep(&self, key: (String, String, u32), compiled: Arc<Compiled>) {
        if let Ok(mut kept) = self.0.lock() {
            if kept.len() >= COMPILED_KEPT {
                kept.clear();
            }
            kept.insert(key, compiled);
        }
    }
}

impl Workflows<'_> {
    /// The definition a run runs on, compiled (once per process: versions never change).
    pub(crate) async fn compiled(
        &self,
        tenant_id: &str,
        workflow_id: &str,
        version: u32,
    ) -> Result<Arc<Compiled>, AppError> {
        let key = (tenant_id.to_owned(), workflow_id.to_owned(), version);
        if let Some(c) = self.0.compiled.get(&key) {
            return Ok(c);
        }
        let v = self.version_of(tenant_id, workflow_id, version).await?;
        let compiled = Arc::new(Compiled::new(&v.definition).map_err(|e| {
            let why = e
                .first()
                .map(|e| format!("{}: {}", e.field, e.message))
                .unwrap_or_default();
            AppError::Store(StoreError::Corrupt(format!(
                "version {version} of workflow {workflow_id} no longer compiles: {why}"
            )))
        })?);
        self.0.compiled.keep(key, compiled.clone());
        Ok(compiled)
    }

    /// Applies `signal` to the run and commits what it changes; `Ok(Err(_))` when it
    /// changes nothing (a stale or repeated signal, or a run that ended).
    pub(crate) async fn signal(
        &self,
        tenant_id: &str,
        run_id: &str,
        signal: Signal,
        actor: &str,
    ) -> Result<Result<Run, Refused>, AppError> {
        let stored = self.stored_run(tenant_id, run_id).await?;
        let compiled = self
            .compiled(tenant_id, &stored.run.workflow_id, stored.run.version)
            .await?;
        let mut stored = stored;
        for _ in 0..COMMIT_TRIES {
            let now = self.clock.now();
            let outcome = match compiled.on(&stored.run, signal.clone(), now) {
                Ok(o) => o,
                Err(Refused::Illegal(e)) => {
                    return Err(AppError::Store(StoreError::Corrupt(format!(
                        "run {run_id} does not fit its definition: {e}"
                    ))));
                }
                Err(refused) => return Ok(Err(refused)),
            };
            let Some(next) = outcome.run().cloned() else {
                return Ok(Ok(stored.run));
            };
            let (events, jobs, head_seal) =
                self.record(tenant_id, &stored.last_event_hash, &outcome, actor, now);
            let has_jobs = !jobs.is_empty();
            let record = RunTransition {
                tenant_id: tenant_id.to_owned(),
                expected_seq: stored.run.seq,
                run: next.clone(),
                events,
                head_seal,
                jobs,
            };
            match self.stores.workflows.transition_run(record).await {
                Ok(()) => {
                    self.announce(tenant_id, &next, has_jobs);
                    return Ok(Ok(next));
                }
                Err(StoreError::VersionConflict) => {
                    stored = self.stored_run(tenant_id, run_id).await?;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(AppError::RunConflict(format!(
            "run {run_id} kept changing under this change; it is retried"
        )))
    }

    /// The events of `outcome` chained onto `prev_hash`, the jobs of its effects and of
    /// its events' fan-out, and the seal of the new head.
    pub(crate) fn record(
        &self,
        tenant_id: &str,
        prev_hash: &str,
        outcome: &Outcome,
        actor: &str,
        now: DateTime<Utc>,
    ) -> (Vec<RunEvent>, Vec<NewJob>, String) {
        let mut prev = prev_hash.to_owned();
        let mut events = Vec::with_capacity(outcome.changes.len());
        let mut jobs = Vec::new();
        for (change, state) in &outcome.changes {
            let e = RunEvent::record(
                tenant_id,
                self.ids.next(IdKind::Event),
                state,
                change,
                actor,
                now,
                &prev,
            );
            prev = e.hash.clone();
            jobs.push(job(
                format!("job_runfan_{}", e.id),
                tenant_id,
                Task::FanOutRun(RunEventRef {
                    tenant_id: tenant_id.to_owned(),
                    run_id: e.run_id.clone(),
                    seq: e.seq,
                }),
                now,
            ));
            events.push(e);
        }
        let run_id = outcome.run().map(|r| r.id.clone()).unwrap_or_default();
        for effect in &outcome.effects {
            jobs.push(effect_job(tenant_id, &run_id, effect, now));
        }
        let head = events.last().expect("an outcome with changes has events");
        let seal = chain::seal(
            &self.audit_key,
            tenant_id,
            &head.run_id,
            head.seq,
            &head.hash,
        );
        (events, jobs, seal)
    }

    pub(crate) fn announce(&self, tenant_id: &str, run: &Run, has_jobs: bool) {
        self.changes.publish(Changed {
            tenant_id: tenant_id.to_owned(),
            subject_id: run.id.clone(),
            version: run.seq,
            has_jobs,
        });
    }
}

fn job(id: String, tenant_id: &str, task: Task, run_at: DateTime<Utc>) -> NewJob {
    NewJob {
        id,
        tenant_id: tenant_id.to_owned(),
        task,
        approval_id: None,
        run_at,
        max_attempts: JOB_ATTEMPTS,
    }
}

/// The job of an effect. Its id is made of what it does, so an effect recorded twice
/// (it cannot be, but a job inserted twice is harmless) is one job.
fn effect_job(tenant_id: &str, run_id: &str, effect: &Effect, now: DateTime<Utc>) -> NewJob {
    let step = |key: &str, attempt: u32| StepRef {
        tenant_id: tenant_id.to_owned(),
        run_id: run_id.to_owned(),
        key: key.to_owned(),
        attempt,
    };
    match effect {
        Effect::Execute { key, attempt, at } => job(
            format!("job_step_{run_id}_{key}_{attempt}"),
            tenant_id,
            Task::RunStep(step(key, *attempt)),
            *at,
        ),
        Effect::Compensate { key } => job(
            format!("job_undo_{run_id}_{key}"),
            tenant_id,
            Task::Compensate(step(key, 1)),
            now,
        ),
        Effect::CancelApproval { key, approval_id } => job(
            format!("job_unask_{approval_id}"),
            tenant_id,
            Task::CancelStepApproval(StepApprovalRef {
                tenant_id: tenant_id.to_owned(),
                run_id: run_id.to_owned(),
                step_key: key.clone(),
                approval_id: approval_id.clone(),
            }),
            now,
        ),
    }
}
