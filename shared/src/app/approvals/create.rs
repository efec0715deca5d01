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

fn request_hash(input: &NewApproval) -> String {
    let body = serde_json::to_vec(input).expect("input always serializes");
    hex::encode(Sha256::digest(body))
}

impl Approvals<'_> {
    pub async fn create(
        &self,
        caller: &Caller,
        input: NewApproval,
        idempotency_key: Option<String>,
    ) -> Result<Created, AppError> {
        caller.require_agent_side("create requests")?;
        let tenant_id = caller.tenant_id.as_str();
        let idempotency = match idempotency_key {
            Some(k) if k.is_empty() || k.len() > MAX_IDEMPOTENCY_KEY || !k.is_ascii() => {
                return Err(AppError::invalid(
                    "Idempotency-Key",
                    format!("must be 1 to {MAX_IDEMPOTENCY_KEY} ASCII characters"),
                ));
            }
            Some(key) => Some(IdempotencyClaim {
                key,
                request_hash: request_hash(&input),
            }),
            None => None,
        };
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
        let spec = input
            .validate(now)
            .map_err(|e| self.domain_error(e, None))?;
        let approval = Approval::created(self.ids.next(IdKind::Approval), spec.clone(), now);
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
