//! How a change evolves a request's state.

use chrono::{DateTime, Utc};

use super::{Approval, Decision, Execution, ExecutionStatus};
use crate::domain::DomainError;
use crate::domain::event::Change;
use crate::domain::policy::Vote;
use crate::domain::values::Source;

impl Approval {
    /// The state after `change` happened at `at`. Refuses a change the state machine does
    /// not allow, so replaying a doctored log fails rather than inventing a state.
    pub fn apply(&self, change: &Change, at: DateTime<Utc>) -> Result<Approval, DomainError> {
        let Some(transition) = change.transition() else {
            return Err(DomainError::AlreadyCreated);
        };
        let status = transition
            .apply(self.status)
            .ok_or(DomainError::IllegalTransition {
                from: self.status,
                transition,
            })?;
        let mut next = self.clone();
        next.status = status;
        next.version += 1;
        next.updated_at = at;
        match change {
            Change::Created(_) => return Err(DomainError::AlreadyCreated),
            Change::Approved(d) => {
                next.approved_data = Some(self.spec.action_data.clone());
                next.decision = Some(d.clone());
                next.record_vote(d);
            }
            Change::Modified(d) => {
                let mut data = self.spec.action_data.clone();
                if let Some(patch) = &d.response_data {
                    json_patch::merge(&mut data, patch);
                }
                next.approved_data = Some(data);
                next.decision = Some(d.clone());
                next.record_vote(d);
            }
            Change::Rejected(d) => {
                next.decision = Some(d.clone());
                next.record_vote(d);
            }
            Change::TimedOut(_)
            | Change::SentSlack(_)
            | Change::SentEmail(_)
            | Change::SentSms(_)
            | Change::DeliveryFailed(_) => {}
            Change::ReminderSent(r) => next.reminders_sent.push([r.level, r.index]),
            Change::Voted(v) => next.votes.push(v.clone()),
            Change::Escalated(e) => {
                next.level = e.level;
                next.level_started_at = at;
                next.due_at = e.due_at;
            }
            Change::Cancelled(c) => next.cancellation = Some(c.clone()),
            Change::ExecutionStarted => {
                next.execution = Some(Execution {
                    status: ExecutionStatus::Started,
                    result: None,
                    error: None,
                    started_at: Some(at),
                    finished_at: None,
                });
            }
            Change::ExecutionCompleted { result } => {
                next.execution = Some(Execution {
                    status: ExecutionStatus::Succeeded,
                    result: result.clone(),
                    error: None,
                    started_at: self.execution.as_ref().and_then(|e| e.started_at),
                    finished_at: Some(at),
                });
            }
            Change::ExecutionFailed { error, result } => {
                next.execution = Some(Execution {
                    status: ExecutionStatus::Failed,
                    result: result.clone(),
                    error: Some(error.clone()),
                    started_at: self.execution.as_ref().and_then(|e| e.started_at),
                    finished_at: Some(at),
                });
            }
        }
        Ok(next)
    }

    /// A human decision is also a vote, so `votes` is the whole record of who answered.
    fn record_vote(&mut self, d: &Decision) {
        if d.source != Source::Timeout {
            self.votes.push(Vote {
                voter: self
                    .identity_of(&d.responded_by)
                    .unwrap_or_else(|| d.responded_by.clone()),
                decision: d.decision,
                feedback: d.feedback.clone(),
                source: d.source,
                at: d.responded_at,
            });
        }
    }
}
