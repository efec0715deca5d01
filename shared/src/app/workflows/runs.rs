//! Runs: start (with `Idempotency-Key`), read, list, long-poll, cancel, and the audit
//! of a run's log.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;
use utoipa::ToSchema;

use super::Workflows;
use crate::app::approvals::MAX_WAIT;
use crate::app::approvals::{DEFAULT_PAGE, WAIT_POLL, cursor_at, decode_cursor, idempotency_claim};
use crate::app::{AppError, Caller, MAX_PAGE};
use crate::domain::chain::{self, ChainVerification};
use crate::domain::workflow::event::replay;
use crate::domain::workflow::expr::MAX_VALUE_BYTES;
use crate::domain::workflow::{Run, RunEvent, RunStatus, Signal};
use crate::domain::{FieldError, form};
use crate::ports::{IdKind, NewRunRecord, RunCreateOutcome, RunQuery, StoredRun};

/// The body of `POST /v1/workflows/{id}/runs`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewRun {
    /// Checked against the version's `inputSchema`; at most 256 KiB serialized.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub input: Option<Value>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunPageRequest {
    pub workflow_id: Option<String>,
    pub status: Option<RunStatus>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunPage {
    pub items: Vec<Run>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// `GET /v1/runs/{id}/events/verify`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunVerification {
    pub run_id: String,
    #[serde(flatten)]
    pub chain: ChainVerification,
    /// Whether replaying the events rebuilds the stored state exactly.
    pub replay_matches_state: bool,
}

impl Workflows<'_> {
    /// Starts a run of the workflow's active version; a repeated `Idempotency-Key`
    /// with the same body answers with the run it started.
    pub async fn start(
        &self,
        caller: &Caller,
        workflow_id: &str,
        input: NewRun,
        idempotency_key: Option<String>,
    ) -> Result<(Run, bool), AppError> {
        caller.require_agent_side("run workflows")?;
        let tenant_id = caller.tenant_id.as_str();
        let input = input.input.unwrap_or_else(|| json!({}));
        let idempotency = idempotency_claim(idempotency_key, &json!([workflow_id, input]))?;
        if let Some(claim) = &idempotency
            && let Some((first, run_id)) = self
                .stores
                .workflows
                .run_idempotency_key(tenant_id, &claim.key)
                .await?
        {
            return if first.request_hash == claim.request_hash {
                Ok((self.first_state(tenant_id, &run_id).await?, true))
            } else {
                Err(AppError::IdempotencyKeyReused)
            };
        }
        let workflow = self.workflow_any(tenant_id, workflow_id).await?;
        if workflow.deleted {
            return Err(AppError::NotFound("workflow"));
        }
        if !workflow.enabled {
            return Err(AppError::RunConflict(
                "the workflow is disabled: enable it to run it".into(),
            ));
        }
        if input.to_string().len() > MAX_VALUE_BYTES {
            return Err(AppError::invalid(
                "/input",
                format!("at most {MAX_VALUE_BYTES} bytes serialized"),
            ));
        }
        if !input.is_object() {
            return Err(AppError::invalid("/input", "must be an object"));
        }
        let version = workflow.active_version;
        let compiled = self.compiled(tenant_id, workflow_id, version).await?;
        if let Some(schema) = &compiled.input_schema {
            form::validate(schema, &input, "/input").map_err(AppError::Invalid)?;
        }
        let now = self.clock.now();
        let trigger = json!({"type": "api", "by": caller.actor().id});
        let outcome = compiled
            .start(
                self.ids.next(IdKind::Run),
                workflow_id,
                version,
                input,
                trigger,
                now,
            )
            .map_err(|why| AppError::Invalid(vec![FieldError::new("/input", why)]))?;
        let (events, jobs, head_seal) = self.record(
            tenant_id,
            crate::domain::chain::GENESIS_HASH,
            &outcome,
            &caller.actor().id,
            now,
        );
        let run = outcome.run().cloned().expect("a start records run.started");
        let record = NewRunRecord {
            tenant_id: tenant_id.to_owned(),
            run: run.clone(),
            events,
            head_seal,
            jobs,
            idempotency,
        };
        match self.stores.workflows.create_run(record).await? {
            RunCreateOutcome::Created => {
                self.announce(tenant_id, &run, true);
                Ok((run, false))
            }
            RunCreateOutcome::Replayed { run_id } => {
                Ok((self.first_state(tenant_id, &run_id).await?, true))
            }
            RunCreateOutcome::KeyReused => Err(AppError::IdempotencyKeyReused),
        }
    }

    /// The run as its start left it: what the first answer with its key said.
    async fn first_state(&self, tenant_id: &str, run_id: &str) -> Result<Run, AppError> {
        let events = self.stores.workflows.run_events(tenant_id, run_id).await?;
        let first = events.first().ok_or(AppError::NotFound("run"))?;
        serde_json::from_value(first.snapshot.clone())
            .map_err(|e| crate::ports::StoreError::Corrupt(format!("run snapshot: {e}")).into())
    }

    pub(crate) async fn stored_run(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<StoredRun, AppError> {
        self.stores
            .workflows
            .run(tenant_id, id)
            .await?
            .ok_or(AppError::NotFound("run"))
    }

    pub async fn run(&self, caller: &Caller, id: &str) -> Result<Run, AppError> {
        caller.require_agent_side("read runs")?;
        Ok(self.stored_run(&caller.tenant_id, id).await?.run)
    }

    /// Answers as soon as the run ends, or after `wait` (at most `MAX_WAIT`).
    pub async fn wait(&self, caller: &Caller, id: &str, wait: Duration) -> Result<Run, AppError> {
        caller.require_agent_side("read runs")?;
        let tenant_id = caller.tenant_id.as_str();
        let deadline = tokio::time::Instant::now() + wait.min(MAX_WAIT);
        let mut changes = self.changes.subscribe();
        loop {
            let run = self.stored_run(tenant_id, id).await?.run;
            let now = tokio::time::Instant::now();
            if run.status.is_terminal() || now >= deadline {
                return Ok(run);
            }
            let nap = tokio::time::sleep((deadline - now).min(WAIT_POLL));
            tokio::pin!(nap);
            loop {
                tokio::select! {
                    _ = &mut nap => break,
                    got = changes.recv() => match got {
                        Ok(c) if c.tenant_id == tenant_id && c.subject_id == id => break,
                        Ok(_) => continue,
                        Err(RecvError::Lagged(_)) => break,
                        Err(RecvError::Closed) => { (&mut nap).await; break }
                    },
                }
            }
        }
    }

    pub async fn runs(&self, caller: &Caller, req: RunPageRequest) -> Result<RunPage, AppError> {
        caller.require_agent_side("read runs")?;
        let limit = req.limit.unwrap_or(DEFAULT_PAGE);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(AppError::invalid(
                "limit",
                format!("must be between 1 and {MAX_PAGE}"),
            ));
        }
        let after = req.cursor.as_deref().map(decode_cursor).transpose()?;
        let query = RunQuery {
            workflow_id: req.workflow_id,
            status: req.status,
            after,
            limit: limit + 1,
        };
        let mut items = self
            .stores
            .workflows
            .runs(&caller.tenant_id, &query)
            .await?;
        let next_cursor = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|r| cursor_at(r.created_at, &r.id))
        } else {
            None
        };
        Ok(RunPage { items, next_cursor })
    }

    /// Cancels a run that has not ended: what is in flight is cancelled (a waiting
    /// approval request with it) and what had succeeded is compensated.
    pub async fn cancel(
        &self,
        caller: &Caller,
        id: &str,
        reason: Option<String>,
    ) -> Result<Run, AppError> {
        caller.require_agent_side("cancel runs")?;
        if reason
            .as_ref()
            .is_some_and(|r| r.chars().count() > crate::domain::limits::MAX_LONG_TEXT)
        {
            return Err(AppError::invalid("/reason", "at most 4096 characters"));
        }
        let by = caller.actor().id;
        let signal = Signal::Cancel {
            reason,
            by: by.clone(),
        };
        match self.signal(&caller.tenant_id, id, signal, &by).await? {
            Ok(run) => Ok(run),
            Err(refused) => Err(AppError::RunConflict(format!("cannot cancel: {refused}"))),
        }
    }

    pub async fn events(&self, caller: &Caller, id: &str) -> Result<Vec<RunEvent>, AppError> {
        caller.require_agent_side("read runs")?;
        let events = self
            .stores
            .workflows
            .run_events(&caller.tenant_id, id)
            .await?;
        if events.is_empty() {
            return Err(AppError::NotFound("run"));
        }
        Ok(events)
    }

    pub async fn verify(&self, caller: &Caller, id: &str) -> Result<RunVerification, AppError> {
        caller.require_agent_side("read runs")?;
        let tenant_id = caller.tenant_id.as_str();
        let stored = self.stored_run(tenant_id, id).await?;
        let events = self.stores.workflows.run_events(tenant_id, id).await?;
        let seal = chain::HeadSeal {
            key: &self.audit_key,
            recorded: Some(&stored.head_seal),
        };
        let mut chain = chain::verify(tenant_id, &events, &stored.last_event_hash, seal);
        let replayed = replay(&events).ok();
        let replay_matches_state = replayed.as_ref() == Some(&stored.run);
        if chain.valid && !replay_matches_state {
            chain.valid = false;
            chain.reason = Some("replaying the events does not rebuild the stored state".into());
        }
        Ok(RunVerification {
            run_id: id.to_owned(),
            chain,
            replay_matches_state,
        })
    }
}
