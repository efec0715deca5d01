//! Small value types that the approval, its policy, its events and its messages all
//! speak of: kept apart so those modules depend on them, not on each other.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Slack,
    Email,
    Sms,
    Web,
}

/// What happens when nobody decides before `expiresAt`. Fail-closed by default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TimeoutAction {
    #[default]
    Reject,
    Approve,
    /// Hands the request to the next level of an escalation ladder; with no ladder
    /// configured it fails closed like `reject`.
    Escalate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DecisionKind {
    Approved,
    Rejected,
    /// Approved with the approver's edits in `responseData`.
    Modified,
}

/// Where an event came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Api,
    Slack,
    Email,
    Sms,
    Web,
    Timeout,
    System,
}

text_enum!(Source {
    Api = "api",
    Slack = "slack",
    Email = "email",
    Sms = "sms",
    Web = "web",
    Timeout = "timeout",
    System = "system",
});

/// Who causes a change, and through which door.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub id: String,
    pub source: Source,
}

impl Actor {
    pub fn timeout() -> Self {
        Actor {
            id: "system:timeout".into(),
            source: Source::Timeout,
        }
    }
}
