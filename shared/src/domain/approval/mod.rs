//! The approval request and its decider: `Approval::decide` turns a command into a
//! `Change` (or refuses it); `Approval::apply` evolves the state by a change. Replaying
//! the changes of a request's events rebuilds its state exactly.

mod apply;
mod decide;
mod validate;

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::Status;
use super::policy::{EscalationLevel, Reminder, Vote};
use super::values::{Channel, DecisionKind, Source, TimeoutAction};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Approver {
    pub channel: Channel,
    /// Slack user or channel id, email address, E.164 phone number, or dashboard user.
    pub recipient: String,
    /// Who this is across channels (the same person on Slack and email counts once in
    /// a quorum); defaults to the recipient.
    #[serde(default)]
    pub id: Option<String>,
}

/// The body of `POST /v1/approvals`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewApproval {
    pub name: String,
    pub agent_id: String,
    pub action_type: String,
    /// The action the agent wants to take, as a JSON object.
    #[schema(value_type = Object)]
    pub action_data: Value,
    pub approvers: Vec<Approver>,
    /// Absolute deadline; give this or `timeoutSeconds`, not both. Default: 24 hours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_action: Option<TimeoutAction>,
    /// JSON Schema (object) of the fields an approver may change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub ui_schema: Option<Value>,
    /// Receives every event of this request as a signed webhook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
    /// Once approved, the final action is POSTed here, signed; a 2xx answer completes
    /// the request, failure after the retries fails it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
    /// The person or system on whose behalf the agent asks: they may not approve.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_by: Option<String>,
    /// Approvals needed (default 1). Each approver counts once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quorum: Option<u32>,
    /// Rejections needed to reject (default 1: one rejection rejects).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reject_quorum: Option<u32>,
    /// With `timeoutAction: escalate`: who receives the request, level by level, as each
    /// deadline passes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalation: Option<Vec<EscalationLevel>>,
    /// Re-notify the approvers who have not answered, per level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reminders: Option<Vec<Reminder>>,
}

/// A validated request: what was asked, of whom, until when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalSpec {
    pub name: String,
    pub agent_id: String,
    pub action_type: String,
    #[schema(value_type = Object)]
    pub action_data: Value,
    pub approvers: Vec<Approver>,
    pub expires_at: DateTime<Utc>,
    pub timeout_action: TimeoutAction,
    #[schema(value_type = Option<Object>)]
    pub ui_schema: Option<Value>,
    pub callback_url: Option<String>,
    #[serde(default)]
    pub executor: Option<String>,
    #[schema(value_type = Object)]
    pub metadata: Value,
    pub requested_by: Option<String>,
    pub quorum: u32,
    pub reject_quorum: u32,
    pub escalation: Vec<EscalationLevel>,
    pub reminders: Vec<Reminder>,
    /// The workflow run whose step this request is, if any: its outcome resumes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_run_id: Option<String>,
    /// That step's key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    pub decision: DecisionKind,
    #[schema(value_type = Option<Object>)]
    pub response_data: Option<Value>,
    pub feedback: Option<String>,
    pub responded_by: String,
    pub responded_at: DateTime<Utc>,
    pub source: Source,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Cancellation {
    pub reason: Option<String>,
    pub cancelled_by: String,
    pub cancelled_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExecutionStatus {
    Started,
    Succeeded,
    Failed,
}

/// What the agent reports about carrying out an approved action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExecutionReport {
    pub status: ExecutionStatus,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub result: Option<Value>,
    #[serde(default)]
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Execution {
    pub status: ExecutionStatus,
    #[schema(value_type = Option<Object>)]
    pub result: Option<Value>,
    pub error: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// The state of one approval request: what the store keeps as a row, and what every
/// event carries as its snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Approval {
    pub id: String,
    #[serde(flatten)]
    pub spec: ApprovalSpec,
    pub status: Status,
    pub decision: Option<Decision>,
    /// `actionData` with the approver's `responseData` applied (RFC 7396 merge patch):
    /// the action as approved.
    #[schema(value_type = Option<Object>)]
    pub approved_data: Option<Value>,
    pub cancellation: Option<Cancellation>,
    pub execution: Option<Execution>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Number of events so far; every transition is a compare-and-set on it.
    pub version: i64,
    /// 0 while the first approvers have it; n after the n-th escalation.
    pub level: u32,
    pub level_started_at: DateTime<Utc>,
    /// The current deadline: `expiresAt` at first, moved by each escalation.
    pub due_at: DateTime<Utc>,
    /// Every human decision so far, in order; under a quorum, the votes.
    pub votes: Vec<Vote>,
    /// The reminders sent so far, as `[level, index]`: a reminder fires once per level
    /// even when its timer fires twice.
    #[serde(default)]
    pub reminders_sent: Vec<[u32; 2]>,
}

/// What an actor asks of a request.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Decide {
        decision: DecisionKind,
        response_data: Option<Value>,
        feedback: Option<String>,
        /// The person who decided, when the actor decides on someone's behalf (an
        /// integration relaying a click); otherwise the actor.
        responded_by: Option<String>,
    },
    /// Apply the timeout action (or escalate). A timer names the ladder level it was
    /// set for; one of another level is stale.
    Expire {
        level: Option<u32>,
    },
    /// Re-notify pending approvers per reminder `index` of the request.
    Remind {
        index: u32,
        level: Option<u32>,
    },
    Cancel {
        reason: Option<String>,
    },
    ReportExecution(ExecutionReport),
}

/// Timestamps are kept to the microsecond: that is what PostgreSQL stores, and the
/// Timestamps are kept to the microsecond: that is what PostgreSQL stores, and the
/// hash chain needs a stored event to serialize exactly as it was hashed.
pub fn normalize_time(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(6)
}
