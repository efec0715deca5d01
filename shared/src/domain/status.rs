use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Where a request is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Pending,
    Approved,
    Rejected,
    Timeout,
    Cancelled,
    Executing,
    Completed,
    Failed,
}

impl Status {
    /// No transition leaves a terminal status (messages may still be recorded).
    pub fn is_terminal(self) -> bool {
        Transition::ALL
            .iter()
            .filter(|t| **t != Transition::Notify)
            .all(|t| t.apply(self).is_none())
    }
}

text_enum!(Status {
    Pending = "PENDING",
    Approved = "APPROVED",
    Rejected = "REJECTED",
    Timeout = "TIMEOUT",
    Cancelled = "CANCELLED",
    Executing = "EXECUTING",
    Completed = "COMPLETED",
    Failed = "FAILED",
});

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Every legal move of the state machine has a name; anything not listed is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transition {
    Approve,
    ApproveWithChanges,
    Reject,
    TimeOut,
    AutoApprove,
    Cancel,
    /// One vote toward a quorum that is not met yet.
    Vote,
    /// The deadline passed; the next level of the ladder has the request now.
    Escalate,
    /// Pending approvers were reminded.
    Remind,
    StartExecution,
    CompleteExecution,
    FailExecution,
    /// A message to an approver went out or was lost: history, not a change of state.
    Notify,
}

impl Transition {
    /// The status this transition leads to from `from`, or `None` when it is illegal there.
    pub fn apply(self, from: Status) -> Option<Status> {
        use Status::*;
        use Transition::*;
        match (self, from) {
            (Approve | ApproveWithChanges | AutoApprove, Pending) => Some(Approved),
            (Reject, Pending) => Some(Rejected),
            (TimeOut, Pending) => Some(Timeout),
            (Cancel, Pending) => Some(Cancelled),
            (Vote | Escalate | Remind, Pending) => Some(Pending),
            (StartExecution, Approved) => Some(Executing),
            (CompleteExecution, Approved | Executing) => Some(Completed),
            (FailExecution, Approved | Executing) => Some(Failed),
            (Notify, s) => Some(s),
            _ => None,
        }
    }
}

text_enum!(Transition {
    Approve = "approve",
    ApproveWithChanges = "approve_with_changes",
    Reject = "reject",
    TimeOut = "time_out",
    AutoApprove = "auto_approve",
    Cancel = "cancel",
    Vote = "vote",
    Escalate = "escalate",
    Remind = "remind",
    StartExecution = "start_execution",
    CompleteExecution = "complete_execution",
    FailExecution = "fail_execution",
    Notify = "notify",
});

impl std::fmt::Display for Transition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_statuses_are_exactly_the_final_outcomes() {
        let terminal: Vec<Status> = Status::ALL
            .iter()
            .copied()
            .filter(|s| s.is_terminal())
            .collect();
        assert_eq!(
            terminal,
            vec![
                Status::Rejected,
                Status::Timeout,
                Status::Cancelled,
                Status::Completed,
                Status::Failed
            ]
        );
    }

    #[test]
    fn status_names_round_trip() {
        for &s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert_eq!(Status::parse("pending"), None);
    }
}
