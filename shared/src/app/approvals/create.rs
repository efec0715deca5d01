use sha2::{Digest, Sha256};

use super::Approvals;
use crate::app::{AppError, Caller};
use crate::domain::{Actor, Approval, Change, Event, NewApproval, Source, chain};
use crate::ports::{CreateOutcome, IdKind, IdempotencyClaim, NewApprovalRecord};

/// The answer to a create: the request as created, and whether an earlier identical
/// create (same `Idempotency-Key`, same body) already made it.
#[derive(Debug, Clone, PartialEq)]
pub struct Created {
    pub approval: Approval,
    pub replayed: bool,
}

const MAX_IDEMPOTENCY_KEY: usize = 255;

/// The workflow step a request is created for, and the id the step gives it.
struct StepOf {
    id: String,
    run_id: String,
    step_key: String,
}

/// An `Idempotency-Key` checked, with the hash of the body it came with.
pub(crate) fn idempotency_claim(
    key: Option<String>,
    body: &impl serde::Serialize,
) -> Result<Option<IdempotencyClaim>, AppError> {
    match key {
        Some(k) if k.is_empty() || k.len() > MAX_IDEMPOTENCY_KEY || !k.is_ascii() => {
            Err(AppError::invalid(
                "Idempotency-Key",
                format!("must be 1 to {MAX_IDEMPOTENCY_KEY} ASCII characters"),
            ))
        }
        Some(key) => {
            let body = serde_json::to_vec(body).expect("input always serializes");
            Ok(Some(IdempotencyClaim {
                key,
                request_hash: hex::encode(Sha256::digest(body)),
            }))
        }
        None => Ok(None),
    }
}

impl Approvals<'_> {
    pub async fn create(
        &self,
        caller: &Caller,
        input: NewApproval,
        idempotency_key: Option<String>,
    ) -> Result<Created, AppError> {
        caller.require_agent_side("create requests")?;
        self.create_as(&caller.tenant_id, input, idempotency_key, None)
            .await
    }

    /// The request of a workflow's approval step, under the id the step attempt names
    /// (`id`), so that an attempt run twice creates it once: the second finds it.
    pub(crate) async fn create_for_step(
        &self,
        tenant_id: &str,
        input: NewApproval,
        id: String,
        run_id: &str,
        step_key: &str,
    ) -> Result<Approval, AppError> {
        if let Some(existing) = self.stores.approvals.get(tenant_id, &id).await? {
            return Ok(existing.approval);
        }
        let step = StepOf {
            id: id.clone(),
            run_id: run_id.to_owned(),
            step_key: step_key.to_owned(),
        };
        match self.create_as(tenant_id, input, None, Some(step)).await {
            Ok(created) => Ok(created.approval),
            // The same attempt, run at once by another worker, won the insert.
            Err(AppError::Store(crate::ports::StoreError::Duplicate(_))) => {
                self.get(tenant_id, &id).await
            }
            Err(e) => Err(e),
        }
    }

    async fn create_as(
        &self,
        tenant_id: &str,
        input: NewApproval,
        idempotency_key: Option<String>,
        step: Option<StepOf>,
    ) -> Result<Created, AppError> {
        let idempotency = idempotency_claim(idempotency_key, &input)?;
        // A retry is answered from the first use of its key before anything else, so it
        // gets the first answer even when, say, its `expiresAt` has passed since.
        if let Some(claim) = &idempotency
            && let Some((first, approval_id)) = self
                .stores
                .approvals
                .idempotency_key(tenant_id, &claim.key)
                .await?
        {
            return if first.request_hash == claim.request_hash {
                self.replay_creation(tenant_id, &approval_id).await
            } else {
                Err(AppError::IdempotencyKeyReused)
            };
        }
        let now = self.clock.now();
        let mut spec = input
            .validate(now)
            .map_err(|e| self.domain_error(e, None))?;
        let id = match step {
            Some(s) => {
                spec.workflow_run_id = Some(s.run_id);
                spec.step_key = Some(s.step_key);
                s.id
            }
            None => self.ids.next(IdKind::Approval),
        };
        let approval = Approval::created(id, spec.clone(), now);
        self.check_request_receivers(&approval).await?;
        self.check_channels(&approval)?;
        let actor = Actor {
            id: format!("agent:{}", spec.agent_id),
            source: Source::Api,
        };
        let change = Change::Created(Box::new(spec));
        let event = Event::record(
            tenant_id,
            self.ids.next(IdKind::Event),
            &approval,
            &change,
            &actor,
            now,
            chain::GENESIS_HASH,
        );
        let work = self.work(tenant_id, &change, None, &approval, &event, None);
        let record = NewApprovalRecord {
            tenant_id: tenant_id.to_owned(),
            jobs: work.jobs,
            approval: approval.clone(),
            head_seal: self.seal(tenant_id, &event),
            event,
            idempotency,
        };
        match self.stores.approvals.create(record).await? {
            CreateOutcome::Created => {
                self.announce(tenant_id, &approval, true);
                Ok(Created {
                    approval,
                    replayed: false,
                })
            }
            CreateOutcome::Replayed { approval_id } => {
                self.replay_creation(tenant_id, &approval_id).await
            }
            CreateOutcome::KeyReused => Err(AppError::IdempotencyKeyReused),
        }
    }

    /// The answer the first create with this key got: the request as it was created.
    async fn replay_creation(
        &self,
        tenant_id: &str,
        approval_id: &str,
    ) -> Result<Created, AppError> {
        let first = self
            .stores
            .approvals
            .events(tenant_id, approval_id)
            .await?
            .into_iter()
            .next()
            .ok_or(AppError::NotFound("approval"))?;
        let approval = serde_json::from_value(first.snapshot)
            .map_err(|e| crate::ports::StoreError::Corrupt(e.to_string()))?;
        Ok(Created {
            approval,
            replayed: true,
        })
    }
}
