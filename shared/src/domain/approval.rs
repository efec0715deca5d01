//! The approval request and its decider: `Approval::decide` turns a command into a
//! `Change` (or refuses it); `Approval::apply` evolves the state by a change. Replaying
//! the changes of a request's events rebuilds its state exactly.

use chrono::{DateTime, Duration, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::event::{Change, TimedOut};
use super::policy::{self, Escalated, EscalationLevel, Reminder, ReminderSent, Vote};
use super::{DomainError, FieldError, Status, Transition, form, limits};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Slack,
    Email,
    Sms,
    Web,
}

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

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Api => "api",
            Source::Slack => "slack",
            Source::Email => "email",
            Source::Sms => "sms",
            Source::Web => "web",
            Source::Timeout => "timeout",
            Source::System => "system",
        }
    }

    pub fn parse(s: &str) -> Option<Source> {
        [
            Source::Api,
            Source::Slack,
            Source::Email,
            Source::Sms,
            Source::Web,
            Source::Timeout,
            Source::System,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

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
/// hash chain needs a stored event to serialize exactly as it was hashed.
pub fn normalize_time(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(6)
}

fn check_text(errors: &mut Vec<FieldError>, field: &str, value: &str, max: usize) {
    if value.trim().is_empty() {
        errors.push(FieldError::new(field, "must not be empty"));
    } else if value.chars().count() > max {
        errors.push(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
}

fn check_optional_text(errors: &mut Vec<FieldError>, field: &str, value: Option<&str>, max: usize) {
    if let Some(v) = value
        && v.chars().count() > max
    {
        errors.push(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
}

fn check_object_size(errors: &mut Vec<FieldError>, field: &str, value: &Value, max: usize) {
    if !value.is_object() {
        errors.push(FieldError::new(field, "must be a JSON object"));
    } else if value.to_string().len() > max {
        errors.push(FieldError::new(
            field,
            format!("must be at most {max} bytes as JSON"),
        ));
    }
}

impl NewApproval {
    /// Checks every field at once, so a caller learns all that is wrong in one answer.
    pub fn validate(self, now: DateTime<Utc>) -> Result<ApprovalSpec, DomainError> {
        let mut errors = Vec::new();
        check_text(&mut errors, "/name", &self.name, limits::MAX_SHORT_TEXT);
        check_text(
            &mut errors,
            "/agentId",
            &self.agent_id,
            limits::MAX_SHORT_TEXT,
        );
        check_text(
            &mut errors,
            "/actionType",
            &self.action_type,
            limits::MAX_SHORT_TEXT,
        );
        check_object_size(
            &mut errors,
            "/actionData",
            &self.action_data,
            limits::MAX_ACTION_DATA_BYTES,
        );

        if self.approvers.is_empty() {
            errors.push(FieldError::new(
                "/approvers",
                "must name at least one approver",
            ));
        } else if self.approvers.len() > limits::MAX_APPROVERS {
            errors.push(FieldError::new(
                "/approvers",
                format!("must name at most {} approvers", limits::MAX_APPROVERS),
            ));
        }
        let escalation = self.escalation.unwrap_or_default();
        let mut identities = Vec::new();
        for (at, list) in policy::approver_lists(&self.approvers, &escalation) {
            for (i, a) in list.iter().enumerate() {
                check_optional_text(
                    &mut errors,
                    &format!("{at}/{i}/id"),
                    a.id.as_deref(),
                    limits::MAX_SHORT_TEXT,
                );
                check_text(
                    &mut errors,
                    &format!("{at}/{i}/recipient"),
                    &a.recipient,
                    limits::MAX_SHORT_TEXT,
                );
                identities.push(policy::identity(a));
            }
        }
        identities.sort_unstable();
        identities.dedup();

        let expires_at = match (self.expires_at, self.timeout_seconds) {
            (Some(_), Some(_)) => {
                errors.push(FieldError::new(
                    "/timeoutSeconds",
                    "give either expiresAt or timeoutSeconds, not both",
                ));
                None
            }
            (Some(at), None) if at <= now => {
                errors.push(FieldError::new("/expiresAt", "must be in the future"));
                None
            }
            (Some(at), None) if at - now > Duration::seconds(limits::MAX_TIMEOUT_SECONDS) => {
                errors.push(FieldError::new(
                    "/expiresAt",
                    "must be at most 30 days in the future",
                ));
                None
            }
            (Some(at), None) => Some(normalize_time(at)),
            (None, Some(s))
                if !(limits::MIN_TIMEOUT_SECONDS..=limits::MAX_TIMEOUT_SECONDS).contains(&s) =>
            {
                errors.push(FieldError::new(
                    "/timeoutSeconds",
                    format!(
                        "must be between {} and {} seconds",
                        limits::MIN_TIMEOUT_SECONDS,
                        limits::MAX_TIMEOUT_SECONDS
                    ),
                ));
                None
            }
            (None, Some(s)) => Some(now + Duration::seconds(s)),
            (None, None) => Some(now + limits::default_timeout()),
        };

        if let Some(schema) = &self.ui_schema {
            if schema.to_string().len() > limits::MAX_UI_SCHEMA_BYTES {
                errors.push(FieldError::new(
                    "/uiSchema",
                    format!(
                        "must be at most {} bytes as JSON",
                        limits::MAX_UI_SCHEMA_BYTES
                    ),
                ));
            } else if let Err(e) = form::check_schema(schema, "/uiSchema") {
                errors.push(e);
            }
        }

        for (field, url) in [
            ("/callbackUrl", &self.callback_url),
            ("/executor", &self.executor),
        ] {
            if let Some(Err(e)) = url.as_deref().map(|u| super::webhook::check_url(u, field)) {
                errors.push(e);
            }
        }

        let quorum = self.quorum.unwrap_or(1);
        let reject_quorum = self.reject_quorum.unwrap_or(1);
        let reminders = self.reminders.unwrap_or_default();
        policy::check_policy(
            &mut errors,
            self.timeout_action.unwrap_or_default(),
            &escalation,
            &reminders,
            quorum,
            reject_quorum,
            identities.len(),
        );
        check_optional_text(
            &mut errors,
            "/requestedBy",
            self.requested_by.as_deref(),
            limits::MAX_SHORT_TEXT,
        );

        let metadata = self
            .metadata
            .unwrap_or_else(|| Value::Object(Default::default()));
        check_object_size(
            &mut errors,
            "/metadata",
            &metadata,
            limits::MAX_METADATA_BYTES,
        );

        match expires_at {
            Some(expires_at) if errors.is_empty() => Ok(ApprovalSpec {
                name: self.name,
                agent_id: self.agent_id,
                action_type: self.action_type,
                action_data: self.action_data,
                approvers: self.approvers,
                expires_at,
                timeout_action: self.timeout_action.unwrap_or_default(),
                ui_schema: self.ui_schema,
                callback_url: self.callback_url,
                executor: self.executor,
                metadata,
                requested_by: self.requested_by,
                quorum,
                reject_quorum,
                escalation,
                reminders,
            }),
            _ => Err(DomainError::Invalid(errors)),
        }
    }
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
        match command {
            Command::Decide {
                decision,
                response_data,
                feedback,
                responded_by,
            } => {
                let by = responded_by.unwrap_or_else(|| actor.id.clone());
                self.decide_decision(decision, response_data, feedback, by, actor, now)
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
        decision: DecisionKind,
        response_data: Option<Value>,
        feedback: Option<String>,
        responded_by: String,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Change, DomainError> {
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
                    if let Err(mut e) = form::validate(schema, data, "/responseData") {
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
            && (*requester == responded_by || voter.as_ref() == Some(requester))
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
        if self.votes.iter().any(|v| v.voter == voter) {
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
                due_at: now + Duration::seconds(next_level.map_or(0, |l| l.timeout_seconds)),
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
