//! Events: one per transition, each with the full state after it, hash-chained per request.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::approval::{Approval, ApprovalSpec, Cancellation, Decision};
use super::message::{DeliveryFailed, Sent};
use super::policy::{Escalated, ReminderSent, Vote};
use super::values::{Actor, Source, TimeoutAction};
use super::{DomainError, Transition, chain};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TimedOut {
    pub action: TimeoutAction,
}

/// What happened to a request. Serialized adjacently tagged, which gives the event's
/// `type` and `data` columns; the catalogue is in `docs/events.md`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum Change {
    #[serde(rename = "approval.created")]
    Created(Box<ApprovalSpec>),
    #[serde(rename = "approval.approved")]
    Approved(Decision),
    #[serde(rename = "approval.modified")]
    Modified(Decision),
    #[serde(rename = "approval.rejected")]
    Rejected(Decision),
    #[serde(rename = "approval.timed_out")]
    TimedOut(TimedOut),
    #[serde(rename = "approval.voted")]
    Voted(Vote),
    #[serde(rename = "approval.escalated")]
    Escalated(Escalated),
    #[serde(rename = "approval.reminder.sent")]
    ReminderSent(ReminderSent),
    #[serde(rename = "approval.cancelled")]
    Cancelled(Cancellation),
    #[serde(rename = "execution.started")]
    ExecutionStarted,
    #[serde(rename = "execution.completed", rename_all = "camelCase")]
    ExecutionCompleted { result: Option<Value> },
    #[serde(rename = "execution.failed", rename_all = "camelCase")]
    ExecutionFailed {
        error: String,
        result: Option<Value>,
    },
    #[serde(rename = "approval.sent.slack")]
    SentSlack(Sent),
    #[serde(rename = "approval.sent.email")]
    SentEmail(Sent),
    #[serde(rename = "approval.sent.sms")]
    SentSms(Sent),
    #[serde(rename = "delivery.failed")]
    DeliveryFailed(DeliveryFailed),
}

impl Change {
    /// The named transition this change makes; `None` for creation, which starts a log.
    pub fn transition(&self) -> Option<Transition> {
        Some(match self {
            Change::Created(_) => return None,
            Change::Approved(d) if d.source == Source::Timeout => Transition::AutoApprove,
            Change::Approved(_) => Transition::Approve,
            Change::Modified(_) => Transition::ApproveWithChanges,
            Change::Rejected(_) => Transition::Reject,
            Change::TimedOut(_) => Transition::TimeOut,
            Change::Cancelled(_) => Transition::Cancel,
            Change::Voted(_) => Transition::Vote,
            Change::Escalated(_) => Transition::Escalate,
            Change::ReminderSent(_) => Transition::Remind,
            Change::ExecutionStarted => Transition::StartExecution,
            Change::ExecutionCompleted { .. } => Transition::CompleteExecution,
            Change::ExecutionFailed { .. } => Transition::FailExecution,
            Change::SentSlack(_)
            | Change::SentEmail(_)
            | Change::SentSms(_)
            | Change::DeliveryFailed(_) => Transition::Notify,
        })
    }

    /// Splits into the event's `type` and `data`.
    pub fn type_and_data(&self) -> (String, Value) {
        split_tagged(self)
    }

    pub fn from_type_and_data(kind: &str, data: &Value) -> Result<Change, serde_json::Error> {
        join_tagged(kind, data)
    }
}

/// An adjacently tagged change (`{type, data}`) as an event's `type` and `data`.
pub fn split_tagged<T: Serialize>(change: &T) -> (String, Value) {
    let mut tagged = serde_json::to_value(change).expect("a change always serializes");
    let kind = tagged["type"].as_str().unwrap_or_default().to_owned();
    let data = tagged
        .get_mut("data")
        .map(Value::take)
        .unwrap_or(Value::Null);
    (kind, data)
}

/// The change an event's `type` and `data` stand for.
pub fn join_tagged<T: serde::de::DeserializeOwned>(
    kind: &str,
    data: &Value,
) -> Result<T, serde_json::Error> {
    let tagged = if data.is_null() {
        json!({ "type": kind })
    } else {
        json!({ "type": kind, "data": data })
    };
    serde_json::from_value(tagged)
}

/// One entry of a request's audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub id: String,
    pub approval_id: String,
    /// 1 for `approval.created`, then +1 per transition; equals the state's version.
    pub seq: i64,
    #[serde(rename = "type")]
    pub event_type: String,
    #[schema(value_type = Object)]
    pub data: Value,
    /// The request's full state after this event.
    #[schema(value_type = Object)]
    pub snapshot: Value,
    pub actor: String,
    pub source: Source,
    pub occurred_at: DateTime<Utc>,
    /// Hash of the previous event (64 zeros for the first).
    pub prev_hash: String,
    /// SHA-256 over this event's content, its tenant and `prevHash`.
    pub hash: String,
    /// How `hash` was made: kept by the store, not part of what the API shows.
    #[serde(skip)]
    pub scheme: chain::ChainScheme,
}

impl Event {
    /// The webhook body of an event: `{type, timestamp, data: {event, approval}}`; also
    /// the data of each live-stream message.
    pub fn message(&self) -> Value {
        json!({
            "type": self.event_type,
            "timestamp": self.occurred_at,
            "data": {
                "event": {
                    "id": self.id,
                    "approvalId": self.approval_id,
                    "sequence": self.seq,
                    "type": self.event_type,
                    "data": self.data,
                    "actor": self.actor,
                    "source": self.source.as_str(),
                    "occurredAt": self.occurred_at,
                },
                "approval": self.snapshot,
            }
        })
    }

    /// Records `change`, which turned tenant `tenant_id`'s request into `after`, chained onto
    /// `prev_hash`.
    pub fn record(
        tenant_id: &str,
        id: String,
        after: &Approval,
        change: &Change,
        actor: &Actor,
        at: DateTime<Utc>,
        prev_hash: &str,
    ) -> Event {
        let (event_type, data) = change.type_and_data();
        let mut event = Event {
            id,
            approval_id: after.id.clone(),
            seq: after.version,
            event_type,
            data,
            snapshot: serde_json::to_value(after).expect("state always serializes"),
            actor: actor.id.clone(),
            source: actor.source,
            occurred_at: at,
            prev_hash: prev_hash.to_owned(),
            hash: String::new(),
            scheme: chain::ChainScheme::Tenanted,
        };
        event.hash = chain::hash_event(tenant_id, &event);
        event
    }

    pub fn change(&self) -> Result<Change, serde_json::Error> {
        Change::from_type_and_data(&self.event_type, &self.data)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("the log is empty")]
    Empty,
    #[error("event {seq} does not parse: {source}")]
    Unreadable { seq: i64, source: serde_json::Error },
    #[error("event {seq} is out of order")]
    OutOfOrder { seq: i64 },
    #[error("event {seq} cannot be applied: {source}")]
    Illegal { seq: i64, source: DomainError },
}

/// Rebuilds a request's state from its events alone (snapshots are not read).
pub fn replay(events: &[Event]) -> Result<Approval, ReplayError> {
    replay_inspecting(events, |_, _| {})
}

/// Replays `events`, showing each one with the state it produced to `step`.
fn replay_inspecting(
    events: &[Event],
    mut step: impl FnMut(&Event, &Approval),
) -> Result<Approval, ReplayError> {
    let (first, rest) = events.split_first().ok_or(ReplayError::Empty)?;
    let unreadable = |seq| move |source| ReplayError::Unreadable { seq, source };
    let mut state = match first.change().map_err(unreadable(first.seq))? {
        Change::Created(spec) if first.seq == 1 => {
            Approval::created(first.approval_id.clone(), *spec, first.occurred_at)
        }
        _ => return Err(ReplayError::OutOfOrder { seq: first.seq }),
    };
    step(first, &state);
    for e in rest {
        if e.seq != state.version + 1 || e.approval_id != state.id {
            return Err(ReplayError::OutOfOrder { seq: e.seq });
        }
        let change = e.change().map_err(unreadable(e.seq))?;
        state = state
            .apply(&change, e.occurred_at)
            .map_err(|source| ReplayError::Illegal { seq: e.seq, source })?;
        step(e, &state);
    }
    Ok(state)
}

/// One replay of a log, checked against the snapshots it carries.
#[derive(Debug)]
pub struct ReplayCheck {
    /// The rebuilt state, if the log replays at all.
    pub state: Option<Approval>,
    /// The `seq` of the first event whose snapshot is not the state its events rebuild
    /// (or of the first event that does not replay).
    pub first_bad_snapshot: Option<i64>,
}

pub fn replay_checked(events: &[Event]) -> ReplayCheck {
    let mut first_bad = None;
    let replayed = replay_inspecting(events, |e, state| {
        if first_bad.is_none() && serde_json::to_value(state).ok().as_ref() != Some(&e.snapshot) {
            first_bad = Some(e.seq);
        }
    });
    match replayed {
        Ok(state) => ReplayCheck {
            state: Some(state),
            first_bad_snapshot: first_bad,
        },
        Err(err) => ReplayCheck {
            state: None,
            first_bad_snapshot: first_bad.or(match err {
                ReplayError::Empty => None,
                ReplayError::Unreadable { seq, .. }
                | ReplayError::OutOfOrder { seq }
                | ReplayError::Illegal { seq, .. } => Some(seq),
            }),
        },
    }
}

/// The `seq` of the first event whose snapshot is not the state its events rebuild, if
/// any (or of the first event that does not replay at all).
pub fn first_snapshot_mismatch(events: &[Event]) -> Option<i64> {
    replay_checked(events).first_bad_snapshot
}
