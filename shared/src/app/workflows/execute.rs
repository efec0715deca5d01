//! The tasks that drive runs: an attempt of a step, a compensation, the resume of a
//! run whose approval request was decided, the cancel of a request a run no longer
//! waits on, and the fan-out of run events. Each is safe to run any number of times:
//! an attempt runs only while its step is `RUNNING` at that attempt, and its result is
//! committed under the run's compare-and-set, so a step that succeeded never runs
//! again and a result that arrives late changes nothing.

use serde_json::Value;

use super::Workflows;
use super::steps::{self, StepCall, StepResult};
use crate::app::AppError;
use crate::domain::workflow::step::approval_output;
use crate::domain::workflow::{Signal, StepStatus};
use crate::domain::{Actor, Command, Outcome, RunEventRef, Source, StepApprovalRef, StepRef};

const SYSTEM: &str = "system:workflows";

impl Workflows<'_> {
    /// One attempt of an I/O step.
    pub(crate) async fn run_step(&self, at: &StepRef) -> Result<Outcome, AppError> {
        let run = match self.stores.workflows.run(&at.tenant_id, &at.run_id).await? {
            Some(s) => s.run,
            None => return Ok(Outcome::Permanent(format!("run {} not found", at.run_id))),
        };
        let Some(step) = run.step(&at.key) else {
            return Ok(Outcome::Permanent(format!(
                "run {} has no step {}",
                at.run_id, at.key
            )));
        };
        // A result is already in (or the run ended, or moved to a later attempt).
        if run.status.is_terminal()
            || step.status != StepStatus::Running
            || step.attempts != at.attempt
        {
            return Ok(Outcome::Done);
        }
        let Some(executor) = steps::executor(step.kind) else {
            // A pure step the transition that started it had no room to end.
            let signal = Signal::Evaluate {
                key: at.key.clone(),
                attempt: at.attempt,
            };
            self.signal(&at.tenant_id, &at.run_id, signal, SYSTEM)
                .await?
                .ok();
            return Ok(Outcome::Done);
        };
        let config = step.config.clone().unwrap_or(Value::Null);
        let call = StepCall {
            tenant_id: &at.tenant_id,
            run: &run,
            key: &at.key,
            attempt: at.attempt,
            config: &config,
            compensation: false,
        };
        let result = executor.execute(self, &call).await?;
        let (key, attempt) = (at.key.clone(), at.attempt);
        let signal = match result.clone() {
            StepResult::Succeeded(output, branch) => Signal::Succeeded {
                key,
                attempt,
                output,
                branch,
            },
            StepResult::Failed { error, retryable } => Signal::Failed {
                key,
                attempt,
                error,
                retryable,
            },
            StepResult::Waiting { approval_id } => Signal::Waiting {
                key,
                attempt,
                approval_id,
            },
        };
        let committed = self
            .signal(&at.tenant_id, &at.run_id, signal, SYSTEM)
            .await?;
        if let (Err(_), StepResult::Waiting { approval_id }) = (committed, result) {
            // The run ended, or the step was resumed by another attempt's request, while
            // this one was being made: unless the step names it (a job delivered again,
            // or its decision already in), nobody will ever wait on it.
            let now = self.stored_run(&at.tenant_id, &at.run_id).await?.run;
            let named = now.step(&at.key).and_then(|s| s.approval_id.as_deref())
                == Some(approval_id.as_str());
            if !named {
                self.cancel_request(&at.tenant_id, &approval_id).await?;
            }
        }
        Ok(Outcome::Done)
    }

    /// The compensation of a step of a run that failed or was cancelled.
    pub(crate) async fn compensate(&self, at: &StepRef) -> Result<Outcome, AppError> {
        let run = match self.stores.workflows.run(&at.tenant_id, &at.run_id).await? {
            Some(s) => s.run,
            None => return Ok(Outcome::Permanent(format!("run {} not found", at.run_id))),
        };
        let Some(c) = run
            .compensation
            .as_ref()
            .and_then(|c| c.steps.iter().find(|s| s.key == at.key))
        else {
            return Ok(Outcome::Done);
        };
        if c.status != StepStatus::Running {
            return Ok(Outcome::Done);
        }
        let Some(executor) = steps::executor(c.kind) else {
            return Ok(Outcome::Permanent(format!(
                "{} compensations have no executor",
                c.kind
            )));
        };
        let config = c.config.clone().unwrap_or(Value::Null);
        let call = StepCall {
            tenant_id: &at.tenant_id,
            run: &run,
            key: &at.key,
            attempt: 1,
            config: &config,
            compensation: true,
        };
        let result = match executor.execute(self, &call).await? {
            StepResult::Succeeded(output, _) => Ok(output),
            StepResult::Failed { error, .. } => Err(error),
            StepResult::Waiting { .. } => Err("a compensation cannot wait on a person".into()),
        };
        let signal = Signal::Compensated {
            key: at.key.clone(),
            result,
        };
        if let Err(refused) = self
            .signal(&at.tenant_id, &at.run_id, signal, SYSTEM)
            .await?
        {
            tracing::debug!(run = %at.run_id, step = %at.key, %refused, "a compensation's result changed nothing");
        }
        Ok(Outcome::Done)
    }

    /// An approval step's request left `PENDING`: the step ends on the matching
    /// branch, whether its run had already recorded the wait or not. A resume delivered
    /// again, or one for a run that moved on, changes nothing.
    pub(crate) async fn resume(&self, at: &StepApprovalRef) -> Result<Outcome, AppError> {
        let approval = self.approvals().get(&at.tenant_id, &at.approval_id).await?;
        let Some(outcome) = approval_output(&approval) else {
            return Ok(Outcome::Permanent("the request is still pending".into()));
        };
        let signal = Signal::Resumed {
            key: at.step_key.clone(),
            approval_id: at.approval_id.clone(),
            outcome,
        };
        let actor = format!("approval:{}", at.approval_id);
        if let Err(refused) = self
            .signal(&at.tenant_id, &at.run_id, signal, &actor)
            .await?
        {
            tracing::debug!(run = %at.run_id, approval = %at.approval_id, %refused, "a resume changed nothing");
        }
        Ok(Outcome::Done)
    }

    /// Cancels the request of a step whose run ended.
    pub(crate) async fn cancel_step_approval(
        &self,
        at: &StepApprovalRef,
    ) -> Result<Outcome, AppError> {
        self.cancel_request(&at.tenant_id, &at.approval_id).await?;
        Ok(Outcome::Done)
    }

    async fn cancel_request(&self, tenant_id: &str, approval_id: &str) -> Result<(), AppError> {
        let actor = Actor {
            id: SYSTEM.into(),
            source: Source::System,
        };
        let cancel = Command::Cancel {
            reason: Some("its workflow run ended".into()),
        };
        match self
            .approvals()
            .run_command(tenant_id, approval_id, cancel, &actor)
            .await
        {
            // Decided first: the decision stands, and its resume finds the run ended.
            Ok(_) | Err(AppError::Conflict { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// A run event to the webhook endpoints that want it and, on AWS, the live stream.
    pub(crate) async fn fan_out(&self, at: &RunEventRef) -> Result<Outcome, AppError> {
        let Some(event) = self
            .stores
            .workflows
            .run_event(&at.tenant_id, &at.run_id, at.seq)
            .await?
        else {
            return Ok(Outcome::Permanent(format!(
                "event {} of run {} not found",
                at.seq, at.run_id
            )));
        };
        let message = event.message().to_string();
        let outgoing = crate::app::webhooks::Outgoing {
            event_id: &event.id,
            subject_id: &event.run_id,
            event_type: &event.event_type,
            seq: event.seq,
            body: &message,
        };
        self.webhooks()
            .deliver(&at.tenant_id, &outgoing, Vec::new())
            .await?;
        self.stream()
            .push_message(
                &at.tenant_id,
                &event.event_type,
                Some(&event.run_id),
                None,
                &message,
            )
            .await?;
        Ok(Outcome::Done)
    }
}
