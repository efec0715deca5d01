use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::broadcast::error::RecvError;
use utoipa::ToSchema;

use super::Approvals;
use crate::app::{AppError, Caller};
use crate::domain::chain::{self, ChainVerification};
use crate::domain::event::replay_checked;
use crate::domain::{Approval, Event, EventRef, Status};
use crate::ports::{ListQuery, StoredApproval};

/// The longest a long-poll may hold a connection: under API Gateway's 30-second limit.
pub const MAX_WAIT: Duration = Duration::from_secs(25);
/// How often a long-poll looks at the store even without a wake-up, which is what
/// tells it of changes made by other processes.
pub(crate) const WAIT_POLL: Duration = Duration::from_secs(1);
pub(crate) const DEFAULT_PAGE: u32 = 50;
pub const MAX_PAGE: u32 = 200;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct PageRequest {
    pub status: Option<Status>,
    pub agent_id: Option<String>,
    pub action_type: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Page {
    pub items: Vec<Approval>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// `GET /v1/approvals/{id}/events/verify`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Verification {
    pub approval_id: String,
    #[serde(flatten)]
    pub chain: ChainVerification,
    /// Whether replaying the events rebuilds the stored state exactly.
    pub replay_matches_state: bool,
}

fn encode_cursor(a: &Approval) -> String {
    cursor_at(a.created_at, &a.id)
}

/// A keyset cursor: the `(createdAt, id)` of the last item of a page.
pub(crate) fn cursor_at(created_at: DateTime<Utc>, id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}|{id}", created_at.timestamp_micros()))
}

pub(crate) fn decode_cursor(c: &str) -> Result<(DateTime<Utc>, String), AppError> {
    let bad = || AppError::invalid("cursor", "is not a cursor this API returned");
    let raw = URL_SAFE_NO_PAD.decode(c).map_err(|_| bad())?;
    let raw = String::from_utf8(raw).map_err(|_| bad())?;
    let (micros, id) = raw.split_once('|').ok_or_else(bad)?;
    let at = micros
        .parse::<i64>()
        .ok()
        .and_then(DateTime::from_timestamp_micros)
        .ok_or_else(bad)?;
    Ok((at, id.to_owned()))
}

impl Approvals<'_> {
    /// The request, if `caller` may see it; to others it does not exist.
    pub async fn read(&self, caller: &Caller, id: &str) -> Result<Approval, AppError> {
        let a = self.get(&caller.tenant_id, id).await?;
        if caller.may_read(&a) {
            Ok(a)
        } else {
            Err(AppError::NotFound("approval"))
        }
    }

    /// `list`, of the requests `caller` may see. An approver's page is filtered after
    /// the read, so it may hold fewer items than asked (even none) and still go on.
    pub async fn list_for(&self, caller: &Caller, req: PageRequest) -> Result<Page, AppError> {
        let mut page = self.list(&caller.tenant_id, req).await?;
        page.items.retain(|a| caller.may_read(a));
        Ok(page)
    }

    pub async fn read_events(&self, caller: &Caller, id: &str) -> Result<Vec<Event>, AppError> {
        self.read(caller, id).await?;
        self.events(&caller.tenant_id, id).await
    }

    pub async fn read_verification(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<Verification, AppError> {
        self.read(caller, id).await?;
        self.verify(&caller.tenant_id, id).await
    }

    pub async fn get(&self, tenant_id: &str, id: &str) -> Result<Approval, AppError> {
        Ok(self.stored(tenant_id, id).await?.approval)
    }

    /// The request with its chain head, as stored.
    pub(crate) async fn stored(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<StoredApproval, AppError> {
        self.stores
            .approvals
            .get(tenant_id, id)
            .await?
            .ok_or(AppError::NotFound("approval"))
    }

    /// Answers as soon as the request leaves `PENDING`, or after `wait` (capped).
    pub async fn wait_for_outcome(
        &self,
        tenant_id: &str,
        id: &str,
        wait: Duration,
    ) -> Result<Approval, AppError> {
        let deadline = tokio::time::Instant::now() + wait.min(MAX_WAIT);
        // Subscribe before reading so a change between the read and the wait is not missed.
        let mut changes = self.changes.subscribe();
        loop {
            let approval = self.get(tenant_id, id).await?;
            let now = tokio::time::Instant::now();
            if approval.status != Status::Pending || now >= deadline {
                return Ok(approval);
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

    pub async fn list(&self, tenant_id: &str, req: PageRequest) -> Result<Page, AppError> {
        let limit = req.limit.unwrap_or(DEFAULT_PAGE);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(AppError::invalid(
                "limit",
                format!("must be between 1 and {MAX_PAGE}"),
            ));
        }
        let after = req.cursor.as_deref().map(decode_cursor).transpose()?;
        let query = ListQuery {
            status: req.status,
            agent_id: req.agent_id,
            action_type: req.action_type,
            after,
            limit: limit + 1,
        };
        let mut items = self.stores.approvals.list(tenant_id, &query).await?;
        let next_cursor = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(encode_cursor)
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    /// One event of a request, by its place in the log.
    pub async fn event(&self, at: &EventRef) -> Result<Event, AppError> {
        self.stores
            .approvals
            .events(&at.tenant_id, &at.approval_id)
            .await?
            .into_iter()
            .find(|e| e.seq == at.seq)
            .ok_or(AppError::NotFound("event"))
    }

    pub async fn events(&self, tenant_id: &str, id: &str) -> Result<Vec<Event>, AppError> {
        let events = self.stores.approvals.events(tenant_id, id).await?;
        if events.is_empty() {
            return Err(AppError::NotFound("approval"));
        }
        Ok(events)
    }

    pub async fn verify(&self, tenant_id: &str, id: &str) -> Result<Verification, AppError> {
        let stored = self.stored(tenant_id, id).await?;
        let events = self.stores.approvals.events(tenant_id, id).await?;
        let seal = chain::HeadSeal {
            key: &self.audit_key,
            recorded: stored.head_seal.as_deref(),
        };
        let mut chain = chain::verify(tenant_id, &events, &stored.last_event_hash, seal);
        let replayed = replay_checked(&events);
        let replay_matches_state = replayed.state.as_ref() == Some(&stored.approval);
        if chain.valid {
            if let Some(seq) = replayed.first_bad_snapshot {
                chain.valid = false;
                chain.broken_at = Some(seq);
                chain.reason = Some("the snapshot is not the state its events rebuild".into());
            } else if !replay_matches_state {
                chain.valid = false;
                chain.reason =
                    Some("replaying the events does not rebuild the stored state".into());
            }
        }
        Ok(Verification {
            approval_id: id.to_owned(),
            chain,
            replay_matches_state,
        })
    }
}
