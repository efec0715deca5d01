//! `approval`: the config is an approval request body (`name`, `actionType`,
//! `actionData`, `approvers`, `timeoutSeconds`, `timeoutAction`, `uiSchema`, `quorum`,
//! escalation…); the request carries the run and the step, and its outcome resumes the
//! run on `approved` (approve-with-changes included), `rejected` or `timeout`.

use serde_json::{Value, json};

use super::{Branch, Kind, StepKind};
use crate::domain::{Approval, Status};

pub struct ApprovalStep;

impl StepKind for ApprovalStep {
    fn kind(&self) -> Kind {
        Kind::Approval
    }

    /// The shape only; the request's own validation runs when the step starts.
    fn schema(&self) -> Value {
        json!({
            "type": "object",
            "required": ["name", "actionType", "approvers"],
            "properties": {
                "name": {"type": "string"},
                "agentId": {"type": "string"},
                "actionType": {"type": "string"},
                "actionData": {"type": "object"},
                "approvers": {"type": "array", "minItems": 1},
                "expiresAt": {"type": "string"},
                "timeoutSeconds": {"type": "integer"},
                "timeoutAction": {"type": "string"},
                "uiSchema": {"type": "object"},
                "callbackUrl": {"type": "string"},
                "executor": {"type": "string"},
                "metadata": {"type": "object"},
                "requestedBy": {"type": "string"},
                "quorum": {"type": "integer"},
                "rejectQuorum": {"type": "integer"},
                "escalation": {"type": "array"},
                "reminders": {"type": "array"}
            },
            "additionalProperties": false
        })
    }

    fn branches(&self) -> &'static [Branch] {
        &[
            Branch::Approved,
            Branch::Rejected,
            Branch::Timeout,
            Branch::Error,
        ]
    }
}

/// The output and branch of a request that left `PENDING` (`None` while it is pending);
/// a request cancelled from outside the run fails its step.
pub fn approval_output(a: &Approval) -> Option<Result<(Value, Branch), String>> {
    let branch = match a.status {
        Status::Pending => return None,
        // An execution that started, ended or failed was approved first.
        Status::Approved | Status::Executing | Status::Completed | Status::Failed => {
            Branch::Approved
        }
        Status::Rejected => Branch::Rejected,
        Status::Timeout => Branch::Timeout,
        Status::Cancelled => return Some(Err(format!("approval request {} was cancelled", a.id))),
    };
    let decision = a.decision.as_ref();
    let output = json!({
        "approvalId": a.id,
        "status": a.status,
        "decision": decision.map(|d| d.decision),
        "approvedData": a.approved_data,
        "feedback": decision.and_then(|d| d.feedback.clone()),
        "respondedBy": decision.map(|d| d.responded_by.clone()),
    });
    Some(Ok((output, branch)))
}
