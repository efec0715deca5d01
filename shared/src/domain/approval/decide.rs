//! What a command does to a request, or why it may not.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::validate::{check_optional_text, check_text};
use super::{
    Approval, ApprovalSpec, Cancellation, Command, Decision, ExecutionReport, ExecutionStatus,
};
use crate::domain::event::{Change, TimedOut};
use crate::domain::policy::{Escalated, ReminderSent, Vote, same_identity};
use crate::domain::values::{Actor, DecisionKind, TimeoutAction};
use crate::domain::{DomainError, FieldError, Status, Transition, form, limits};

/// A decision as asked: what, with which data and words, by whom.
struct Answer {
    decision: DecisionKind,
    response_data: Option<Value>,
    feedback: Option<String>,
    responded_by: String,
}

impl Approval {
    /// The state right after `approval.created`.
    pub fn created(id: String, spec: ApprovalSpec, at: DateTime<Utc>) -> Approval {
        Approval {
            id,
            level: 0,
            level_started_at: at,
            due_at: spec.expires_at,
            votes: Vec::new(),
            reminders_sent: Vec::new(),
            spec,
            status: Status::Pending,
            decision: None,
            approved_data: None,
            cancellation: None,
            execution: None,
            created_at: at,
            updated_at: at,
            version: 1,
        }
    }

    fn require(&self, transition: Transition) -> Result<(), DomainError> {
        match transition.apply(self.status) {
            Some(_) => Ok(()),
            None => Err(DomainError::IllegalTransition {
                from: self.status,
                transition,
            }),
        }
    }

    fn require_level(&self, level: Option<u32>) -> Result<(), DomainError> {
        match level {
            Some(l) if l != self.level => Err(DomainError::StaleTimer {
                set_for: l,
                level: self.level,
            }),
            _ => Ok(()),
        }
    }

    /// Decides what `command` by `actor` at `now` changes, or why it may not.
    pub fn decide(
        &self,
        command: Command,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Change, DomainError> {
        self.decide_with(command, None, actor, now)
    }

    /// `decide`, taking the outcome of the uiSchema check from `checked` when it is the
    /// check of this command's `responseData` against this request's schema.
    pub fn decide_with(
        &self,
        command: Command,
        checked: Option<&form::Checked>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Change, DomainError> {
        match command {
            Command::Decide {
                decision,
                response_data,
                feedback,
                responded_by,
            } => {
                let by = responded_by.unwrap_or_else(|| actor.id.clone());
                let answer = Answer {
                    decision,
                    response_data,
                    feedback,
                    responded_by: by,
                };
                self.decide_decision(answer, checked, actor, now)
            }
            Command::Expire { level } => {
                self.require_level(level)?;
                self.decide_expiry(now)
            }
            Command::Remind { index, level } => {
                self.require(Transition::Remind)?;
                self.require_level(level)?;
                if index as usize >= self.spec.reminders.len() {
                    return Err(DomainError::invalid("/index", "no such reminder"));
                }
                if self.reminders_sent.contains(&[self.level, index]) {
                    return Err(DomainError::AlreadyReminded {
                        level: self.level,
                        index,
                    });
                }
                Ok(Change::ReminderSent(ReminderSent {
                    level: self.level,
                    index,
                    recipients: self.pending_recipients(),
                }))
            }
            Command::Cancel { reason } => {
                self.require(Transition::Cancel)?;
                let mut errors = Vec::new();
                check_optional_text(
                    &mut errors,
                    "/reason",
                    reason.as_deref(),
                    limits::MAX_LONG_TEXT,
                );
                if !errors.is_empty() {
                    return Err(DomainError::Invalid(errors));
                }
                Ok(Change::Cancelled(Cancellation {
                    reason,
                    cancelled_by: actor.id.clone(),
                    cancelled_at: now,
                }))
            }
            Command::ReportExecution(report) => self.decide_execution(report),
        }
    }

    fn decide_decision(
        &self,
        answer: Answer,
        checked: Option<&form::Checked>,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Change, DomainError> {
        let Answer {
            decision,
            response_data,
            feedback,
            responded_by,
        } = answer;
        let transition = match decision {
            DecisionKind::Approved => Transition::Approve,
            DecisionKind::Rejected => Transition::Reject,
            DecisionKind::Modified => Transition::ApproveWithChanges,
        };
        self.require(transition)?;
        if now >= self.due_at {
            return Err(DomainError::Expired {
                expires_at: self.due_at,
            });
        }
        let mut errors = Vec::new();
        check_optional_text(
            &mut errors,
            "/feedback",
            feedback.as_deref(),
            limits::MAX_LONG_TEXT,
        );
        check_text(
            &mut errors,
            "/respondedBy",
            &responded_by,
            limits::MAX_SHORT_TEXT,
        );
        match (decision, &response_data) {
            (DecisionKind::Modified, None) => errors.push(FieldError::new(
                "/responseData",
                "a modified decision must carry the changed values",
            )),
            (DecisionKind::Modified, Some(data)) => match &self.spec.ui_schema {
                None => errors.push(FieldError::new(
                    "/decision",
                    "this request has no uiSchema, so nothing may be modified",
                )),
                Some(_) if !data.is_object() => {
                    errors.push(FieldError::new("/responseData", "must be a JSON object"))
                }
                Some(_) if data.to_string().len() > limits::MAX_RESPONSE_DATA_BYTES => {
                    errors.push(FieldError::new(
                        "/responseData",
                        format!(
                            "must be at most {} bytes as JSON",
                            limits::MAX_RESPONSE_DATA_BYTES
                        ),
                    ))
                }
                Some(schema) => {
                    let outcome = checked
                        .and_then(|c| c.outcome_for(schema, data))
                        .unwrap_or_else(|| form::validate(schema, data, "/responseData"));
                    if let Err(mut e) = outcome {
                        errors.append(&mut e);
                    }
                }
            },
            (_, Some(_)) => errors.push(FieldError::new(
                "/responseData",
                "only a modified decision carries responseData",
            )),
            (_, None) => {}
        }
        if !errors.is_empty() {
            return Err(DomainError::Invalid(errors));
        }
        let voter = self.identity_of(&responded_by);
        if decision != DecisionKind::Rejected
            && let Some(requester) = &self.spec.requested_by
            && (same_identity(requester, &responded_by)
                || voter
                    .as_deref()
                    .is_some_and(|v| same_identity(v, requester)))
        {
            return Err(DomainError::Forbidden(
                "the requester cannot approve their own request".into(),
            ));
        }
        let record = Decision {
            decision,
            response_data,
            feedback,
            responded_by,
            responded_at: now,
            source: actor.source,
        };
        if !self.has_quorum_rules() {
            return Ok(match decision {
                DecisionKind::Approved => Change::Approved(record),
                DecisionKind::Rejected => Change::Rejected(record),
                DecisionKind::Modified => Change::Modified(record),
            });
        }
        if decision == DecisionKind::Modified {
            return Err(DomainError::invalid(
                "/decision",
                "under a quorum, approvers approve or reject as asked",
            ));
        }
        let voter = voter.ok_or_else(|| {
            DomainError::Forbidden(format!(
                "{:?} is not an approver of this request; under a quorum every vote names one",
                record.responded_by
            ))
        })?;
        if self.votes.iter().any(|v| same_identity(&v.voter, &voter)) {
            return Err(DomainError::AlreadyVoted { voter });
        }
        let count = |kind| {
            self.votes.iter().filter(|v| v.decision == kind).count() as u32
                + u32::from(decision == kind)
        };
        Ok(if count(DecisionKind::Approved) >= self.spec.quorum {
            Change::Approved(record)
        } else if count(DecisionKind::Rejected) >= self.spec.reject_quorum {
            Change::Rejected(record)
        } else {
            Change::Voted(Vote {
                voter,
                decision,
                feedback: record.feedback,
                source: record.source,
                at: now,
            })
        })
    }

    fn decide_expiry(&self, now: DateTime<Utc>) -> Result<Change, DomainError> {
        // A request on a ladder climbs it level by level; the last level's own action
        // applies when it, too, times out.
        let next_level = match self.spec.timeout_action {
            TimeoutAction::Escalate => self.spec.escalation.get(self.level as usize),
            _ => None,
        };
        let transition = match (next_level, self.current_timeout_action()) {
            (Some(_), _) => Transition::Escalate,
            (None, TimeoutAction::Approve) => Transition::AutoApprove,
            // `escalate` with no ladder fails closed.
            (None, TimeoutAction::Reject | TimeoutAction::Escalate) => Transition::TimeOut,
        };
        self.require(transition)?;
        if now < self.due_at {
            return Err(DomainError::NotDue {
                due_at: self.due_at,
            });
        }
        Ok(match transition {
            Transition::AutoApprove => {
                let actor = Actor::timeout();
                Change::Approved(Decision {
                    decision: DecisionKind::Approved,
                    response_data: None,
                    feedback: None,
                    responded_by: actor.id,
                    responded_at: now,
                    source: actor.source,
                })
            }
            Transition::Escalate => Change::Escalated(Escalated {
                level: self.level + 1,
                due_at: limits::after(now, next_level.map_or(0, |l| l.timeout_seconds)),
            }),
            _ => Change::TimedOut(TimedOut {
                action: self.current_timeout_action(),
            }),
        })
    }

    fn decide_execution(&self, report: ExecutionReport) -> Result<Change, DomainError> {
        let transition = match report.status {
            ExecutionStatus::Started => Transition::StartExecution,
            ExecutionStatus::Succeeded => Transition::CompleteExecution,
            ExecutionStatus::Failed => Transition::FailExecution,
        };
        self.require(transition)?;
        let mut errors = Vec::new();
        check_optional_text(
            &mut errors,
            "/error",
            report.error.as_deref(),
            limits::MAX_LONG_TEXT,
        );
        if let Some(r) = &report.result
            && r.to_string().len() > limits::MAX_RESPONSE_DATA_BYTES
        {
            errors.push(FieldError::new(
                "/result",
                format!(
                    "must be at most {} bytes as JSON",
                    limits::MAX_RESPONSE_DATA_BYTES
                ),
            ));
        }
        match report.status {
            ExecutionStatus::Started if report.result.is_some() || report.error.is_some() => errors
                .push(FieldError::new(
                    "/status",
                    "a started execution carries neither result nor error",
                )),
            ExecutionStatus::Succeeded if report.error.is_some() => errors.push(FieldError::new(
                "/error",
                "a succeeded execution has no error",
            )),
            ExecutionStatus::Failed if report.error.is_none() => {
                errors.push(FieldError::new("/error", "a failed execution must say why"))
            }
            _ => {}
        }
        if !errors.is_empty() {
            return Err(DomainError::Invalid(errors));
        }
        Ok(match report.status {
            ExecutionStatus::Started => Change::ExecutionStarted,
            ExecutionStatus::Succeeded => Change::ExecutionCompleted {
                result: report.result,
            },
            ExecutionStatus::Failed => Change::ExecutionFailed {
                error: report.error.unwrap_or_default(),
                result: report.result,
            },
        })
    }
}
