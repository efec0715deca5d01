//! A run's log: one event per change, each with the run's state after it, chained by
//! the same scheme as a request's events (`domain::chain`).

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::run::{Illegal, Run, RunStatus, StepState, StepStatus};
use super::step::{Branch, Kind};
use crate::domain::chain::{self, ChainScheme, Link};
use crate::domain::event::{join_tagged, split_tagged};

/// What `run.started` records: everything the run's first state is made of.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunStarted {
    pub workflow_id: String,
    pub version: u32,
    pub input: Value,
    pub vars: Value,
    pub trigger: Value,
    /// The definition's steps, by key and kind, in order.
    pub steps: Vec<(String, Kind)>,
}

/// What happened to a run. Adjacently tagged: the event's `type` and `data`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum RunChange {
    #[serde(rename = "run.started")]
    Started(Box<RunStarted>),
    #[serde(rename = "step.started", rename_all = "camelCase")]
    StepStarted {
        key: String,
        attempt: u32,
        config: Value,
    },
    /// An attempt failed; attempt `attempt` follows at `retry_at`.
    #[serde(rename = "step.retrying", rename_all = "camelCase")]
    StepRetrying {
        key: String,
        attempt: u32,
        error: String,
        retry_at: DateTime<Utc>,
    },
    /// A step waits on a person: its approval request exists.
    #[serde(rename = "run.waiting", rename_all = "camelCase")]
    StepWaiting { key: String, approval_id: String },
    #[serde(rename = "step.succeeded", rename_all = "camelCase")]
    StepSucceeded {
        key: String,
        attempt: u32,
        output: Value,
        branch: Branch,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        approval_id: Option<String>,
    },
    /// Failed after its attempts; `handled` when an `error` edge takes the run on.
    #[serde(rename = "step.failed", rename_all = "camelCase")]
    StepFailed {
        key: String,
        attempt: u32,
        error: String,
        handled: bool,
    },
    #[serde(rename = "step.skipped", rename_all = "camelCase")]
    StepSkipped { key: String },
    #[serde(rename = "run.succeeded", rename_all = "camelCase")]
    Succeeded { output: Value },
    #[serde(rename = "run.failed", rename_all = "camelCase")]
    Failed {
        error: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        step: Option<String>,
    },
    #[serde(rename = "run.cancelled", rename_all = "camelCase")]
    Cancelled {
        reason: Option<String>,
        cancelled_by: String,
    },
    /// The steps to undo, by key and compensating kind, in the order they will run.
    #[serde(rename = "compensation.started", rename_all = "camelCase")]
    CompensationStarted { steps: Vec<(String, Kind)> },
    #[serde(rename = "compensation.step.started", rename_all = "camelCase")]
    CompensationStepStarted { key: String, config: Value },
    #[serde(rename = "compensation.step.ended", rename_all = "camelCase")]
    CompensationStepEnded {
        key: String,
        output: Option<Value>,
        error: Option<String>,
    },
    #[serde(rename = "compensation.completed")]
    CompensationCompleted,
    #[serde(rename = "compensation.failed", rename_all = "camelCase")]
    CompensationFailed { error: String },
}

impl RunChange {
    pub fn type_and_data(&self) -> (String, Value) {
        split_tagged(self)
    }

    pub fn from_type_and_data(kind: &str, data: &Value) -> Result<RunChange, serde_json::Error> {
        join_tagged(kind, data)
    }
}

impl Run {
    /// The state `run.started` makes.
    pub fn started(id: String, s: &RunStarted, at: DateTime<Utc>) -> Run {
        Run {
            id,
            workflow_id: s.workflow_id.clone(),
            version: s.version,
            status: RunStatus::Running,
            input: s.input.clone(),
            vars: s.vars.clone(),
            trigger: s.trigger.clone(),
            steps: s
                .steps
                .iter()
                .map(|(key, kind)| StepState {
                    key: key.clone(),
                    kind: *kind,
                    status: StepStatus::Pending,
                    attempts: 0,
                    started_at: None,
                    ended_at: None,
                    config: None,
                    output: None,
                    error: None,
                    branch: None,
                    approval_id: None,
                })
                .collect(),
            output: None,
            error: None,
            compensation: None,
            completed: Vec::new(),
            created_at: at,
            updated_at: at,
            ended_at: None,
            seq: 1,
        }
    }
}

/// One entry of a run's log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunEvent {
    pub id: String,
    pub run_id: String,
    /// 1 for `run.started`, then +1 per change; equals the run's `seq`.
    pub seq: i64,
    #[serde(rename = "type")]
    pub event_type: String,
    #[schema(value_type = Object)]
    pub data: Value,
    /// The run's full state after this event.
    #[schema(value_type = Object)]
    pub snapshot: Value,
    pub actor: String,
    pub occurred_at: DateTime<Utc>,
    pub prev_hash: String,
    pub hash: String,
}

impl Link for RunEvent {
    fn content(&self) -> Value {
        json!({
            "id": self.id,
            "runId": self.run_id,
            "seq": self.seq,
            "type": self.event_type,
            "data": self.data,
            "snapshot": self.snapshot,
            "actor": self.actor,
            "occurredAt": self.occurred_at.to_rfc3339_opts(SecondsFormat::Micros, true),
            "prevHash": self.prev_hash,
        })
    }

    fn scheme(&self) -> ChainScheme {
        ChainScheme::Tenanted
    }

    fn subject(&self) -> &str {
        &self.run_id
    }

    fn seq(&self) -> i64 {
        self.seq
    }

    fn prev_hash(&self) -> &str {
        &self.prev_hash
    }

    fn hash(&self) -> &str {
        &self.hash
    }
}

impl RunEvent {
    /// Records `change`, which made tenant `tenant_id`'s run into `after`, chained onto
    /// `prev_hash`.
    pub fn record(
        tenant_id: &str,
        id: String,
        after: &Run,
        change: &RunChange,
        actor: &str,
        at: DateTime<Utc>,
        prev_hash: &str,
    ) -> RunEvent {
        let (event_type, data) = change.type_and_data();
        let mut e = RunEvent {
            id,
            run_id: after.id.clone(),
            seq: after.seq,
            event_type,
            data,
            snapshot: serde_json::to_value(after).expect("state always serializes"),
            actor: actor.to_owned(),
            occurred_at: at,
            prev_hash: prev_hash.to_owned(),
            hash: String::new(),
        };
        e.hash = chain::hash_event(tenant_id, &e);
        e
    }

    pub fn change(&self) -> Result<RunChange, serde_json::Error> {
        RunChange::from_type_and_data(&self.event_type, &self.data)
    }

    /// The webhook body and live-stream message: `{type, timestamp, data: {event, run}}`.
    pub fn message(&self) -> Value {
        json!({
            "type": self.event_type,
            "timestamp": self.occurred_at,
            "data": {
                "event": {
                    "id": self.id,
                    "runId": self.run_id,
                    "sequence": self.seq,
                    "type": self.event_type,
                    "data": self.data,
                    "actor": self.actor,
                    "occurredAt": self.occurred_at,
                },
                "run": self.snapshot,
            }
        })
    }
}

/// Rebuilds a run from its events alone (snapshots are not read).
pub fn replay(events: &[RunEvent]) -> Result<Run, Illegal> {
    let (first, rest) = events
        .split_first()
        .ok_or_else(|| Illegal("the log is empty".into()))?;
    let unreadable = |seq: i64| move |err| Illegal(format!("event {seq} does not parse: {err}"));
    let mut run = match first.change().map_err(unreadable(first.seq))? {
        RunChange::Started(s) if first.seq == 1 => {
            Run::started(first.run_id.clone(), &s, first.occurred_at)
        }
        _ => return Err(Illegal("the log does not begin with run.started".into())),
    };
    for e in rest {
        if e.seq != run.seq + 1 {
            return Err(Illegal(format!("event {} is out of order", e.seq)));
        }
        run = run.apply(&e.change().map_err(unreadable(e.seq))?, e.occurred_at)?;
    }
    Ok(run)
}
