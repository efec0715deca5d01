//! Approval policy over time: escalation ladders, reminders, quorum votes, and the
//! timers a pending request needs.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::approval::{Approval, Approver};
use super::values::{DecisionKind, Source, TimeoutAction};
use super::{FieldError, limits};

/// One rung of an escalation ladder: who receives the request when the level before
/// it times out, how long they have, and what silence means after the last rung.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EscalationLevel {
    pub approvers: Vec<Approver>,
    pub timeout_seconds: i64,
    /// What the last level's silence means: `reject` (default) or `approve`. Levels
    /// below the last escalate to the next whatever this says.
    #[serde(default)]
    pub timeout_action: TimeoutAction,
}

/// When to re-notify the approvers who have not answered: a fixed time after the
/// current level started, or a fixed time before its deadline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Reminder {
    #[serde(default)]
    pub after_seconds: Option<i64>,
    #[serde(default)]
    pub before_expiry_seconds: Option<i64>,
}

/// One approver's answer under a quorum.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Vote {
    /// The approver's identity: its `id`, or its recipient.
    pub voter: String,
    pub decision: DecisionKind,
    pub feedback: Option<String>,
    pub source: Source,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Escalated {
    pub level: u32,
    pub due_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReminderSent {
    pub level: u32,
    pub index: u32,
    /// The approvers of the current level who had not answered.
    pub recipients: Vec<Approver>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum TimerKind {
    Expire,
    Remind { index: u32 },
}

/// Something that must happen at `due_at` if the request is still at `level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timer {
    pub kind: TimerKind,
    pub level: u32,
    pub due_at: DateTime<Utc>,
}

/// Every level's approvers, with the JSON Pointer of each list: the first approvers,
/// then each escalation level's.
pub(super) fn approver_lists<'a>(
    first: &'a [Approver],
    escalation: &'a [EscalationLevel],
) -> impl Iterator<Item = (String, &'a [Approver])> {
    std::iter::once(("/approvers".to_owned(), first)).chain(
        escalation
            .iter()
            .enumerate()
            .map(|(i, l)| (format!("/escalation/{i}/approvers"), l.approvers.as_slice())),
    )
}

/// An approver's identity: its `id`, else its recipient.
pub fn identity(a: &Approver) -> &str {
    a.id.as_deref().unwrap_or(&a.recipient)
}

/// An identity as it is compared: trimmed and case-folded, since emails are
/// case-insensitive and people type them as they like.
pub fn normalize(who: &str) -> String {
    who.trim().to_lowercase()
}

pub fn same_identity(a: &str, b: &str) -> bool {
    normalize(a) == normalize(b)
}

/// Whether `who` is this approver, by its `id` or its recipient.
fn is(a: &Approver, who: &str) -> bool {
    a.id.as_deref().is_some_and(|id| same_identity(id, who)) || same_identity(&a.recipient, who)
}

pub(super) fn check_timeout(errors: &mut Vec<FieldError>, field: &str, s: i64) {
    if !limits::is_timeout(s) {
        errors.push(FieldError::new(
            field,
            format!(
                "must be between {} and {} seconds",
                limits::MIN_TIMEOUT_SECONDS,
                limits::MAX_TIMEOUT_SECONDS
            ),
        ));
    }
}

/// Checks the policy fields of a new request; `all` is every approver on every level.
pub(super) fn check_policy(
    errors: &mut Vec<FieldError>,
    timeout_action: TimeoutAction,
    escalation: &[EscalationLevel],
    reminders: &[Reminder],
    quorum: u32,
    reject_quorum: u32,
    distinct_identities: usize,
) {
    if !escalation.is_empty() && timeout_action != TimeoutAction::Escalate {
        errors.push(FieldError::new(
            "/escalation",
            "a ladder needs timeoutAction \"escalate\"",
        ));
    }
    if escalation.len() > limits::MAX_LEVELS {
        errors.push(FieldError::new(
            "/escalation",
            format!("at most {} levels", limits::MAX_LEVELS),
        ));
    }
    for (i, level) in escalation.iter().enumerate() {
        if level.approvers.is_empty() {
            errors.push(FieldError::new(
                format!("/escalation/{i}/approvers"),
                "must name at least one approver",
            ));
        } else if level.approvers.len() > limits::MAX_APPROVERS {
            errors.push(FieldError::new(
                format!("/escalation/{i}/approvers"),
                format!("must name at most {} approvers", limits::MAX_APPROVERS),
            ));
        }
        check_timeout(
            errors,
            &format!("/escalation/{i}/timeoutSeconds"),
            level.timeout_seconds,
        );
        if level.timeout_action == TimeoutAction::Escalate {
            errors.push(FieldError::new(
                format!("/escalation/{i}/timeoutAction"),
                "a level ends in \"reject\" or \"approve\"; the ladder itself is the escalation",
            ));
        }
    }
    if reminders.len() > limits::MAX_REMINDERS {
        errors.push(FieldError::new(
            "/reminders",
            format!("at most {} reminders", limits::MAX_REMINDERS),
        ));
    }
    for (i, r) in reminders.iter().enumerate() {
        match (r.after_seconds, r.before_expiry_seconds) {
            // No deadline is further than the longest timeout, so a longer offset could
            // never fire; refusing it also keeps the timer arithmetic in range.
            (Some(s), None) => check_timeout(errors, &format!("/reminders/{i}/afterSeconds"), s),
            (None, Some(s)) => {
                check_timeout(errors, &format!("/reminders/{i}/beforeExpirySeconds"), s)
            }
            _ => errors.push(FieldError::new(
                format!("/reminders/{i}"),
                "give exactly one of afterSeconds or beforeExpirySeconds",
            )),
        }
    }
    for (field, n) in [("/quorum", quorum), ("/rejectQuorum", reject_quorum)] {
        if n == 0 || n as usize > distinct_identities {
            errors.push(FieldError::new(
                field,
                format!(
                    "must be between 1 and the number of distinct approvers ({distinct_identities})"
                ),
            ));
        }
    }
}

impl Approval {
    /// The approvers of the current level.
    pub fn current_approvers(&self) -> &[Approver] {
        match self.level {
            0 => &self.spec.approvers,
            n => &self.spec.escalation[n as usize - 1].approvers,
        }
    }

    /// What silence means at the current level when no higher level is left.
    pub fn current_timeout_action(&self) -> TimeoutAction {
        match self.level {
            0 => self.spec.timeout_action,
            n => self.spec.escalation[n as usize - 1].timeout_action,
        }
    }

    /// The identity behind `who` (an approver `id` or recipient on any level).
    pub fn identity_of(&self, who: &str) -> Option<String> {
        approver_lists(&self.spec.approvers, &self.spec.escalation)
            .flat_map(|(_, list)| list)
            .find(|a| is(a, who))
            .map(|a| identity(a).to_owned())
    }

    /// The identity behind `who` if it is an approver of the current level: the only
    /// people whose answer counts now.
    pub fn current_identity_of(&self, who: &str) -> Option<String> {
        self.current_approvers()
            .iter()
            .find(|a| is(a, who))
            .map(|a| identity(a).to_owned())
    }

    pub fn has_quorum_rules(&self) -> bool {
        self.spec.quorum > 1 || self.spec.reject_quorum > 1
    }

    /// Approvers of the current level who have not voted.
    pub fn pending_recipients(&self) -> Vec<Approver> {
        self.current_approvers()
            .iter()
            .filter(|a| {
                !self
                    .votes
                    .iter()
                    .any(|v| same_identity(&v.voter, identity(a)))
            })
            .cloned()
            .collect()
    }

    /// The timers this state needs: its deadline and its reminders, for its current
    /// level. None once it has left `PENDING`.
    pub fn timers(&self) -> Vec<Timer> {
        if self.status != super::Status::Pending {
            return Vec::new();
        }
        let mut timers = vec![Timer {
            kind: TimerKind::Expire,
            level: self.level,
            due_at: self.due_at,
        }];
        for (i, r) in self.spec.reminders.iter().enumerate() {
            let at = match (r.after_seconds, r.before_expiry_seconds) {
                (Some(s), _) => limits::after(self.level_started_at, s),
                (_, Some(s)) => limits::before(self.due_at, s),
                _ => continue,
            };
            if at > self.level_started_at && at < self.due_at {
                timers.push(Timer {
                    kind: TimerKind::Remind { index: i as u32 },
                    level: self.level,
                    due_at: at,
                });
            }
        }
        timers
    }
}
