//! Follow-up work: every kind of job the outbox carries, with its payload, as one typed
//! enum. A change's transaction writes tasks; a worker (locally) or a queue consumer (on
//! AWS) runs them. Adding a kind: a variant here, its `TaskKind` and string, and its arm
//! in `app::outbox::runner`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::timer::TimerFired;
use crate::domain::policy::TimerKind;

/// Which event of which request a task is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventRef {
    pub tenant_id: String,
    pub approval_id: String,
    pub seq: i64,
}

/// Which stored send a task is about: a webhook delivery or a message to an approver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryRef {
    pub tenant_id: String,
    /// The row's id (`deliveryId` in stored payloads, for both kinds of row).
    pub delivery_id: String,
}

/// One attempt of one step of a run (or, for a compensation, the step it undoes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StepRef {
    pub tenant_id: String,
    pub run_id: String,
    pub key: String,
    pub attempt: u32,
}

/// An approval request of a run's step that left `PENDING`, or that the run no longer
/// waits on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StepApprovalRef {
    pub tenant_id: String,
    pub run_id: String,
    pub step_key: String,
    pub approval_id: String,
}

/// Which event of which run a task is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunEventRef {
    pub tenant_id: String,
    pub run_id: String,
    pub seq: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Task {
    /// A deadline or reminder fell due (locally, as a delayed job).
    Timer(TimerFired),
    /// With an outside scheduler: hand a timer to it.
    SetTimer(TimerFired),
    /// With an outside scheduler: take back the timers a request no longer needs.
    ClearTimers(Vec<TimerFired>),
    /// Turn one event into webhook deliveries.
    FanOut(EventRef),
    /// One webhook delivery attempt.
    SendWebhook(DeliveryRef),
    /// Make the messages to approvers that an event calls for.
    PlanMessages(EventRef),
    /// Send one message to an approver.
    SendMessage(DeliveryRef),
    /// Update a sent Slack message once its request is answered.
    UpdateMessage(DeliveryRef),
    /// Run one attempt of a workflow step that does I/O.
    RunStep(StepRef),
    /// Run the compensation of a step of a failed or cancelled run.
    Compensate(StepRef),
    /// An approval step's request left `PENDING`: resume its run.
    ResumeRun(StepApprovalRef),
    /// Cancel the request of an approval step whose run ended.
    CancelStepApproval(StepApprovalRef),
    /// Turn one run event into webhook deliveries and stream pushes.
    FanOutRun(RunEventRef),
}

/// A task's kind: its stored name, and the lane and queue it runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "&'static str")]
pub enum TaskKind {
    Expire,
    Remind,
    SetTimer,
    ClearTimers,
    FanOut,
    SendWebhook,
    PlanMessages,
    SendMessage,
    UpdateMessage,
    RunStep,
    Compensate,
    ResumeRun,
    CancelStepApproval,
    FanOutRun,
}

impl TaskKind {
    /// Sends to outside receivers, which may be slow, run in their own lane so they
    /// never hold up timers and fan-out.
    pub fn lane(self) -> Lane {
        match self {
            TaskKind::SendWebhook | TaskKind::SendMessage | TaskKind::UpdateMessage => Lane::Sends,
            // Steps call out too, and a run's throughput must not wait behind webhooks.
            TaskKind::RunStep
            | TaskKind::Compensate
            | TaskKind::ResumeRun
            | TaskKind::CancelStepApproval => Lane::Steps,
            _ => Lane::Main,
        }
    }

    /// Messages to approvers: on AWS they have a queue and a function of their own.
    pub fn is_message(self) -> bool {
        matches!(
            self,
            TaskKind::PlanMessages | TaskKind::SendMessage | TaskKind::UpdateMessage
        )
    }
}

// The stored names: rows and queue messages already carry these, so they never change.
text_enum!(TaskKind {
    Expire = "approval.expire",
    Remind = "approval.remind",
    SetTimer = "timer.set",
    ClearTimers = "timer.clear",
    FanOut = "webhook.fanout",
    SendWebhook = "webhook.send",
    PlanMessages = "delivery.plan",
    SendMessage = "delivery.send",
    UpdateMessage = "delivery.update",
    RunStep = "workflow.step",
    Compensate = "workflow.compensate",
    ResumeRun = "workflow.resume",
    CancelStepApproval = "workflow.cancel_approval",
    FanOutRun = "workflow.fanout",
});

impl TryFrom<String> for TaskKind {
    type Error = String;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        TaskKind::parse(&s).ok_or_else(|| format!("unknown task kind {s:?}"))
    }
}

impl From<TaskKind> for &'static str {
    fn from(k: TaskKind) -> Self {
        k.as_str()
    }
}

impl std::fmt::Display for TaskKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which jobs a worker takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    All,
    Main,
    Sends,
    Steps,
}

impl Lane {
    /// The kinds a worker of this lane takes.
    pub fn kinds(self) -> Vec<TaskKind> {
        TaskKind::ALL
            .iter()
            .copied()
            .filter(|k| self == Lane::All || k.lane() == self)
            .collect()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error("unknown task kind {0:?}")]
    UnknownKind(String),
    #[error("payload of {kind} is unreadable: {error}")]
    Payload {
        kind: TaskKind,
        error: serde_json::Error,
    },
}

impl Task {
    pub fn kind(&self) -> TaskKind {
        match self {
            Task::Timer(t) => match t.kind {
                TimerKind::Expire => TaskKind::Expire,
                TimerKind::Remind { .. } => TaskKind::Remind,
            },
            Task::SetTimer(_) => TaskKind::SetTimer,
            Task::ClearTimers(_) => TaskKind::ClearTimers,
            Task::FanOut(_) => TaskKind::FanOut,
            Task::SendWebhook(_) => TaskKind::SendWebhook,
            Task::PlanMessages(_) => TaskKind::PlanMessages,
            Task::SendMessage(_) => TaskKind::SendMessage,
            Task::UpdateMessage(_) => TaskKind::UpdateMessage,
            Task::RunStep(_) => TaskKind::RunStep,
            Task::Compensate(_) => TaskKind::Compensate,
            Task::ResumeRun(_) => TaskKind::ResumeRun,
            Task::CancelStepApproval(_) => TaskKind::CancelStepApproval,
            Task::FanOutRun(_) => TaskKind::FanOutRun,
        }
    }

    /// The payload as stored beside the kind.
    pub fn payload(&self) -> Value {
        let v = match self {
            Task::Timer(t) | Task::SetTimer(t) => serde_json::to_value(t),
            Task::ClearTimers(t) => serde_json::to_value(t),
            Task::FanOut(e) | Task::PlanMessages(e) => serde_json::to_value(e),
            Task::SendWebhook(d) | Task::SendMessage(d) | Task::UpdateMessage(d) => {
                serde_json::to_value(d)
            }
            Task::RunStep(s) | Task::Compensate(s) => serde_json::to_value(s),
            Task::ResumeRun(a) | Task::CancelStepApproval(a) => serde_json::to_value(a),
            Task::FanOutRun(e) => serde_json::to_value(e),
        };
        v.expect("task payloads are plain data and always serialize")
    }

    /// The task a stored kind and payload describe.
    pub fn from_parts(kind: &str, payload: Value) -> Result<Task, TaskError> {
        let kind = TaskKind::parse(kind).ok_or_else(|| TaskError::UnknownKind(kind.to_owned()))?;
        let error = |error| TaskError::Payload { kind, error };
        Ok(match kind {
            TaskKind::Expire | TaskKind::Remind => {
                Task::Timer(serde_json::from_value(payload).map_err(error)?)
            }
            TaskKind::SetTimer => Task::SetTimer(serde_json::from_value(payload).map_err(error)?),
            TaskKind::ClearTimers => {
                Task::ClearTimers(serde_json::from_value(payload).map_err(error)?)
            }
            TaskKind::FanOut => Task::FanOut(serde_json::from_value(payload).map_err(error)?),
            TaskKind::SendWebhook => {
                Task::SendWebhook(serde_json::from_value(payload).map_err(error)?)
            }
            TaskKind::PlanMessages => {
                Task::PlanMessages(serde_json::from_value(payload).map_err(error)?)
            }
            TaskKind::SendMessage => {
                Task::SendMessage(serde_json::from_value(payload).map_err(error)?)
            }
            TaskKind::UpdateMessage => {
                Task::UpdateMessage(serde_json::from_value(payload).map_err(error)?)
            }
            TaskKind::RunStep => Task::RunStep(serde_json::from_value(payload).map_err(error)?),
            TaskKind::Compensate => {
                Task::Compensate(serde_json::from_value(payload).map_err(error)?)
            }
            TaskKind::ResumeRun => Task::ResumeRun(serde_json::from_value(payload).map_err(error)?),
            TaskKind::CancelStepApproval => {
                Task::CancelStepApproval(serde_json::from_value(payload).map_err(error)?)
            }
            TaskKind::FanOutRun => Task::FanOutRun(serde_json::from_value(payload).map_err(error)?),
        })
    }
}

/// How one run of a task ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Done,
    /// Not yet: run again at this time.
    NotBefore(DateTime<Utc>),
    /// Failed; the task keeps its own schedule and runs again at this time.
    RetryAt(DateTime<Utc>, String),
    /// Failed in a way a later attempt may fix: again after the job's backoff.
    Retry(String),
    /// Failed for good.
    Permanent(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_one_name_and_round_trips() {
        let names: std::collections::HashSet<_> =
            TaskKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(names.len(), TaskKind::ALL.len());
        let d = DeliveryRef {
            tenant_id: "t".into(),
            delivery_id: "d".into(),
        };
        for task in [Task::SendWebhook(d.clone()), Task::UpdateMessage(d)] {
            let back = Task::from_parts(task.kind().as_str(), task.payload()).unwrap();
            assert_eq!(back, task);
        }
        assert!(matches!(
            Task::from_parts("nope", Value::Null),
            Err(TaskError::UnknownKind(_))
        ));
        assert!(matches!(
            Task::from_parts("webhook.send", Value::Null),
            Err(TaskError::Payload { .. })
        ));
    }

    #[test]
    fn sends_have_their_own_lane() {
        assert_eq!(
            Lane::Sends.kinds(),
            [
                TaskKind::SendWebhook,
                TaskKind::SendMessage,
                TaskKind::UpdateMessage
            ]
        );
        assert_eq!(Lane::All.kinds().len(), 14);
        assert_eq!(Lane::Steps.kinds().len(), 4);
    }
}
