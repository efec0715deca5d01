//! A fired timer: what a request's deadline or reminder carries when it falls due.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::policy::TimerKind;
use super::{Approval, Timer};

/// The input of the EventBridge Scheduler schedule and the body of the SQS delay-queue
/// message on AWS, and the payload of the delayed job locally.
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

    /// The request's timers at its current level.
    pub fn of(tenant_id: &str, a: &Approval) -> Vec<TimerFired> {
        a.timers()
            .into_iter()
            .map(|t: Timer| TimerFired {
                tenant_id: tenant_id.to_owned(),
                approval_id: a.id.clone(),
                kind: t.kind,
                level: t.level,
                due_at: t.due_at,
                expected_version: a.version,
            })
            .collect()
    }
}
