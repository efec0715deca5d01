//! A run's state: what the store keeps as its row and each event carries as its
//! snapshot. `Run::apply` evolves it by one change; replaying a run's changes in order
//! rebuilds it exactly.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use super::event::RunChange;
use super::step::{Branch, Kind};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RunStatus {
    Running,
    /// Every step in flight waits on a person.
    Waiting,
    Succeeded,
    Failed,
    Cancelled,
}

text_enum!(RunStatus {
    Running = "RUNNING",
    Waiting = "WAITING",
    Succeeded = "SUCCEEDED",
    Failed = "FAILED",
    Cancelled = "CANCELLED",
});

impl RunStatus {
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            RunStatus::Succeeded | RunStatus::Failed | RunStatus::Cancelled
        )
    }
}

impl std::fmt::Display for RunStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StepStatus {
    Pending,
    Running,
    Waiting,
    Succeeded,
    Failed,
    Skipped,
    Cancelled,
}

text_enum!(StepStatus {
    Pending = "PENDING",
    Running = "RUNNING",
    Waiting = "WAITING",
    Succeeded = "SUCCEEDED",
    Failed = "FAILED",
    Skipped = "SKIPPED",
    Cancelled = "CANCELLED",
});

impl StepStatus {
    /// Whether the step's outgoing edges are decided.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            StepStatus::Succeeded
                | StepStatus::Failed
                | StepStatus::Skipped
                | StepStatus::Cancelled
        )
    }

    pub fn in_flight(self) -> bool {
        matches!(self, StepStatus::Running | StepStatus::Waiting)
    }
}

/// One step of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StepState {
    pub key: String,
    pub kind: Kind,
    pub status: StepStatus,
    /// Attempts started so far.
    pub attempts: u32,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    /// The config as rendered when the step started: what every attempt runs.
    #[schema(value_type = Option<Object>)]
    pub config: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub output: Option<Value>,
    pub error: Option<String>,
    /// The branch the step ended on; its edges with this branch are taken.
    pub branch: Option<Branch>,
    /// The approval request of an `approval` step.
    pub approval_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CompensationStatus {
    Running,
    Completed,
    Failed,
}

/// One compensation: the step it undoes, and how that went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CompensationStep {
    /// The key of the step it undoes.
    pub key: String,
    pub kind: Kind,
    pub status: StepStatus,
    pub attempts: u32,
    #[schema(value_type = Option<Object>)]
    pub config: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub output: Option<Value>,
    pub error: Option<String>,
}

/// The undoing of a failed or cancelled run: one step per step that had succeeded
/// with a `compensate`, in reverse order of completion, one after another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Compensation {
    pub status: CompensationStatus,
    pub steps: Vec<CompensationStep>,
}

/// A run of one version of a workflow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    pub id: String,
    pub workflow_id: String,
    /// The workflow version the run started on and finishes on.
    pub version: u32,
    pub status: RunStatus,
    #[schema(value_type = Object)]
    pub input: Value,
    #[schema(value_type = Object)]
    pub vars: Value,
    /// What started the run (`{type: "api", by}`).
    #[schema(value_type = Object)]
    pub trigger: Value,
    /// In definition order.
    pub steps: Vec<StepState>,
    /// The outputs of the steps that ended the run's paths, by key.
    #[schema(value_type = Option<Object>)]
    pub output: Option<Value>,
    pub error: Option<String>,
    pub compensation: Option<Compensation>,
    /// Keys of the steps that succeeded, in order of completion.
    pub completed: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    /// Number of events so far; every transition is a compare-and-set on it.
    pub seq: i64,
}

/// A change that does not fit the state it is applied to: a log out of order.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct Illegal(pub String);

impl Run {
    pub fn step(&self, key: &str) -> Option<&StepState> {
        self.steps.iter().find(|s| s.key == key)
    }

    fn step_mut(&mut self, key: &str) -> Result<&mut StepState, Illegal> {
        self.steps
            .iter_mut()
            .find(|s| s.key == key)
            .ok_or_else(|| Illegal(format!("no step {key}")))
    }

    /// What expressions read: `{input, steps, vars, run}`.
    pub fn scope(&self) -> Value {
        let steps: Map<String, Value> = self
            .steps
            .iter()
            .filter_map(|s| s.output.clone().map(|o| (s.key.clone(), o)))
            .collect();
        json!({
            "input": self.input,
            "steps": steps,
            "vars": self.vars,
            "run": {"id": self.id, "workflowId": self.workflow_id, "version": self.version},
        })
    }

    /// The state after `change`, made at `at`.
    pub fn apply(&self, change: &RunChange, at: DateTime<Utc>) -> Result<Run, Illegal> {
        let mut next = self.clone();
        next.seq += 1;
        next.updated_at = at;
        match change {
            RunChange::Started(_) => return Err(Illegal("a run starts once".into())),
            RunChange::StepStarted {
                key,
                attempt,
                config,
            } => {
                let s = next.step_mut(key)?;
                s.status = StepStatus::Running;
                s.attempts = *attempt;
                s.started_at.get_or_insert(at);
                s.config = Some(config.clone());
            }
            RunChange::StepRetrying { key, attempt, .. } => {
                let s = next.step_mut(key)?;
                s.attempts = *attempt;
            }
            RunChange::StepWaiting { key, approval_id } => {
                let s = next.step_mut(key)?;
                s.status = StepStatus::Waiting;
                s.approval_id = Some(approval_id.clone());
            }
            RunChange::StepSucceeded {
                key,
                output,
                branch,
                approval_id,
                ..
            } => {
                let s = next.step_mut(key)?;
                s.status = StepStatus::Succeeded;
                s.ended_at = Some(at);
                s.output = Some(output.clone());
                s.error = None;
                s.branch = Some(*branch);
                if approval_id.is_some() {
                    s.approval_id.clone_from(approval_id);
                }
                next.completed.push(key.clone());
            }
            RunChange::StepFailed {
                key,
                error,
                handled,
                ..
            } => {
                let s = next.step_mut(key)?;
                s.status = StepStatus::Failed;
                s.ended_at = Some(at);
                s.error = Some(error.clone());
                s.branch = handled.then_some(Branch::Error);
            }
            RunChange::StepSkipped { key } => {
                let s = next.step_mut(key)?;
                s.status = StepStatus::Skipped;
            }
            RunChange::Succeeded { output } => {
                next.status = RunStatus::Succeeded;
                next.output = Some(output.clone());
                next.ended_at = Some(at);
            }
            RunChange::Failed { error, .. } => {
                next.end(RunStatus::Failed, at);
                next.error = Some(error.clone());
            }
            RunChange::Cancelled { reason, .. } => {
                next.end(RunStatus::Cancelled, at);
                next.error = Some(reason.clone().unwrap_or_else(|| "cancelled".into()));
            }
            RunChange::CompensationStarted { steps } => {
                next.compensation = Some(Compensation {
                    status: CompensationStatus::Running,
                    steps: steps
                        .iter()
                        .map(|(key, kind)| CompensationStep {
                            key: key.clone(),
                            kind: *kind,
                            status: StepStatus::Pending,
                            attempts: 0,
                            config: None,
                            output: None,
                            error: None,
                        })
                        .collect(),
                });
            }
            RunChange::CompensationStepStarted { key, config } => {
                let c = next.compensation_step(key)?;
                c.status = StepStatus::Running;
                c.attempts += 1;
                c.config = Some(config.clone());
            }
            RunChange::CompensationStepEnded { key, output, error } => {
                let c = next.compensation_step(key)?;
                c.status = if error.is_some() {
                    StepStatus::Failed
                } else {
                    StepStatus::Succeeded
                };
                c.output.clone_from(output);
                c.error.clone_from(error);
            }
            RunChange::CompensationCompleted => {
                next.compensation_status(CompensationStatus::Completed)?
            }
            RunChange::CompensationFailed { .. } => {
                next.compensation_status(CompensationStatus::Failed)?
            }
        }
        if !next.status.is_terminal() {
            let running = next.steps.iter().any(|s| s.status == StepStatus::Running);
            let waiting = next.steps.iter().any(|s| s.status == StepStatus::Waiting);
            next.status = if waiting && !running {
                RunStatus::Waiting
            } else {
                RunStatus::Running
            };
        }
        Ok(next)
    }

    /// Ends the run: what had not finished is cancelled.
    fn end(&mut self, status: RunStatus, at: DateTime<Utc>) {
        self.status = status;
        self.ended_at = Some(at);
        for s in &mut self.steps {
            if !s.status.is_final() {
                s.status = StepStatus::Cancelled;
                if s.started_at.is_some() {
                    s.ended_at = Some(at);
                }
            }
        }
    }

    fn compensation_step(&mut self, key: &str) -> Result<&mut CompensationStep, Illegal> {
        self.compensation
            .as_mut()
            .and_then(|c| c.steps.iter_mut().find(|s| s.key == key))
            .ok_or_else(|| Illegal(format!("no compensation of {key}")))
    }

    fn compensation_status(&mut self, status: CompensationStatus) -> Result<(), Illegal> {
        let c = self
            .compensation
            .as_mut()
            .ok_or_else(|| Illegal("no compensation under way".into()))?;
        c.status = status;
        Ok(())
    }
}
