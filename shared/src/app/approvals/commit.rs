use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::Approvals;
use crate::app::{AppError, Caller};
use crate::domain::Message;
use crate::domain::policy::same_identity;
use crate::domain::{
    Actor, Approval, Change, Command, DecisionKind, DomainError, Event, ExecutionReport, KeyRole,
    Source,
};
use crate::ports::{Changed, IdKind, StoreError, TransitionRecord};

/// How many times a change is decided again after losing to a concurrent one. Each
/// loss is another writer's success, and a request has about as many writers at once
/// as it has messages in flight (each records its send): enough tries that a decision
/// racing a level's messages is not refused for their bookkeeping.
const COMMIT_TRIES: u32 = 64;

/// The body of `POST /v1/approvals/{id}/decision`.
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DecisionInput {
    pub decision: DecisionKind,
    /// Only with `modified`: the changed fields, validated against the request's `uiSchema`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub response_data: Option<Value>,
    #[serde(default)]
    pub feedback: Option<String>,
    /// Who decided: an approver of the current level. An approver key may leave it out
    /// (it is the key's identity) and may not name anyone else; an admin key must name
    /// the approver it decides for.
    #[serde(default)]
    pub responded_by: Option<String>,
}

impl Approvals<'_> {
    /// A decision through the API. Only a named approver decides: an agent key never;
    /// an approver key as its own identity; an admin key on behalf of the approver it
    /// names, which the event's actor records. Either way the identity must be an
    /// approver of the level the request is at when the decision lands.
    pub async fn decide(
        &self,
        caller: &Caller,
        id: &str,
        input: DecisionInput,
    ) -> Result<Approval, AppError> {
        // A request the caller may not see (another tenant's; for an approver key, one
        // not naming it) does not exist for it, whatever its role.
        self.read(caller, id).await?;
        let (responded_by, actor) = match (caller.role, &caller.approver) {
            (KeyRole::Approver, Some(me)) => match &input.responded_by {
                Some(by) if !same_identity(by, me) => {
                    return Err(AppError::Forbidden(format!(
                        "this key decides as {me}; respondedBy must be {me} or left out"
                    )));
                }
                Some(by) => (by.trim().to_owned(), caller.actor()),
                None => (me.clone(), caller.actor()),
            },
            (KeyRole::Admin, _) => {
                let by = input
                    .responded_by
                    .as_deref()
                    .map(str::trim)
                    .filter(|b| !b.is_empty())
                    .ok_or_else(|| {
                        AppError::Forbidden(
                            "an admin key decides only on behalf of an approver: name them in respondedBy".into(),
                        )
                    })?
                    .to_owned();
                let actor = Actor {
                    id: format!("api-key:{} on behalf of {by}", caller.key_id),
                    source: Source::Api,
                };
                (by, actor)
            }
            (KeyRole::Agent | KeyRole::Approver, _) => {
                return Err(AppError::Forbidden(
                    "agent keys ask for approval and cannot give it; decide with an approver key"
                        .into(),
                ));
            }
        };
        let command = Command::Decide {
            decision: input.decision,
            response_data: input.response_data,
            feedback: input.feedback,
            responded_by: Some(responded_by.clone()),
        };
        let checked = self.check_response(&caller.tenant_id, id, &command).await?;
        self.commit(&caller.tenant_id, id, &actor, None, |current, now| {
            if current.current_identity_of(&responded_by).is_none() {
                return Err(DomainError::Forbidden(format!(
                    "{responded_by:?} is not an approver of this request's current level"
                )));
            }
            current.decide_with(command.clone(), checked.as_ref(), &actor, now)
        })
        .await
    }

    pub async fn cancel(
        &self,
        caller: &Caller,
        id: &str,
        reason: Option<String>,
    ) -> Result<Approval, AppError> {
        caller.require_agent_side("cancel requests")?;
        let actor = caller.actor();
        self.run_command(&caller.tenant_id, id, Command::Cancel { reason }, &actor)
            .await
    }

    pub async fn report_execution(
        &self,
        caller: &Caller,
        id: &str,
        report: ExecutionReport,
    ) -> Result<Approval, AppError> {
        caller.require_agent_side("report execution")?;
        let actor = caller.actor();
        self.run_command(
            &caller.tenant_id,
            id,
            Command::ReportExecution(report),
            &actor,
        )
        .await
    }

    /// Applies the request's timeout action if it is still pending and due.
    pub async fn expire(&self, tenant_id: &str, id: &str) -> Result<Approval, AppError> {
        self.run_command(
            tenant_id,
            id,
            Command::Expire { level: None },
            &Actor::timeout(),
        )
        .await
    }

    /// Finishes what lost timers left undone: pending requests more than `grace` past
    /// their deadline are expired now. Returns how many it changed. A request that
    /// cannot be expired is logged and passed over: it must not keep the sweep from the
    /// others, and the next sweep tries it again.
    pub async fn sweep_overdue(
        &self,
        grace: chrono::Duration,
        limit: u32,
    ) -> Result<usize, AppError> {
        let before = self.clock.now() - grace;
        let mut changed = 0;
        for (tenant_id, id) in self.stores.approvals.overdue(before, limit).await? {
            match self.expire(&tenant_id, &id).await {
                Ok(_) => changed += 1,
                Err(AppError::Conflict { .. } | AppError::NotDue(_)) => {}
                Err(e) => tracing::error!(
                    tenant = %tenant_id, approval = %id,
                    error = %crate::telemetry::error_chain(&e),
                    "sweep could not expire an overdue request; going on with the others"
                ),
            }
        }
        if changed > 0 {
            tracing::warn!(
                changed,
                "sweeper expired requests whose timers did not fire"
            );
        }
        Ok(changed)
    }

    /// Load → decide → compare-and-set. Of concurrent writers exactly one wins; the
    /// others learn the state that won.
    pub(crate) async fn run_command(
        &self,
        tenant_id: &str,
        id: &str,
        command: Command,
        actor: &Actor,
    ) -> Result<Approval, AppError> {
        let checked = self.check_response(tenant_id, id, &command).await?;
        self.commit(tenant_id, id, actor, None, |current, now| {
            current.decide_with(command.clone(), checked.as_ref(), actor, now)
        })
        .await
    }

    /// Commits the change `decide` makes to the request as it is now, with the
    /// follow-up work it needs and `delivery` saved in the same transaction. A change
    /// that lost to a concurrent one (say, a message recorded as sent) is decided again
    /// on the state that won, so it is refused only if that state refuses it.
    pub(crate) async fn commit(
        &self,
        tenant_id: &str,
        id: &str,
        actor: &Actor,
        delivery: Option<Message>,
        decide: impl Fn(&Approval, DateTime<Utc>) -> Result<Change, DomainError>,
    ) -> Result<Approval, AppError> {
        let mut tries = 0;
        loop {
            tries += 1;
            let stored = self.stored(tenant_id, id).await?;
            let current = &stored.approval;
            let now = self.clock.now();
            let change = decide(current, now).map_err(|e| self.domain_error(e, Some(current)))?;
            let next = current
                .apply(&change, now)
                .map_err(|e| self.domain_error(e, Some(current)))?;
            let event = Event::record(
                tenant_id,
                self.ids.next(IdKind::Event),
                &next,
                &change,
                actor,
                now,
                &stored.last_event_hash,
            );
            let work = self.work(
                tenant_id,
                &change,
                Some(current),
                &next,
                &event,
                delivery.as_ref(),
            );
            let record = TransitionRecord {
                tenant_id: tenant_id.to_owned(),
                expected_version: current.version,
                jobs: work.jobs,
                cancel_job_kinds: work.cancel_kinds,
                approval: next.clone(),
                head_seal: self.seal(tenant_id, &event),
                event,
                delivery: delivery.clone(),
            };
            let has_jobs = !record.jobs.is_empty();
            match self.stores.approvals.transition(record).await {
                Ok(()) => {
                    self.announce(tenant_id, &next, has_jobs);
                    return Ok(next);
                }
                // The record of a message sent (or lost) decides nothing and applies to
                // any state, so it never gives up to other changes of the request: once
                // the message is out, failing here would leave it pending, and its job
                // would send it again. Each conflict is another writer's progress, so
                // this ends.
                Err(StoreError::VersionConflict) if tries < COMMIT_TRIES || delivery.is_some() => {
                    continue;
                }
                Err(StoreError::VersionConflict) => {
                    let now = self.stored(tenant_id, id).await?;
                    return Err(AppError::Conflict {
                        message: format!(
                            "another change to this request won; it is now {}",
                            now.approval.status
                        ),
                        current: Box::new(now.approval),
                    });
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    pub(crate) fn domain_error(&self, e: DomainError, current: Option<&Approval>) -> AppError {
        match (e, current) {
            (DomainError::Invalid(errors), _) => AppError::Invalid(errors),
            (DomainError::NotDue { due_at }, _) => AppError::NotDue(due_at),
            (DomainError::Forbidden(why), _) => AppError::Forbidden(why),
            (e, Some(current)) => AppError::Conflict {
                message: e.to_string(),
                current: Box::new(current.clone()),
            },
            (e, None) => AppError::Store(StoreError::Corrupt(e.to_string())),
        }
    }

    /// The seal of `event` as its request's head, written in the same transaction.
    pub(crate) fn seal(&self, tenant_id: &str, event: &Event) -> String {
        crate::domain::chain::seal(
            &self.audit_key,
            tenant_id,
            &event.approval_id,
            event.seq,
            &event.hash,
        )
    }

    pub(crate) fn announce(&self, tenant_id: &str, a: &Approval, has_jobs: bool) {
        self.changes.publish(Changed {
            tenant_id: tenant_id.to_owned(),
            subject_id: a.id.clone(),
            version: a.version,
            has_jobs,
        });
    }
}
