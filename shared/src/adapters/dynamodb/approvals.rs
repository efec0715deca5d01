//! Requests: each in its own partition (`A#tenant#id`) with its state (`STATE`) and its
//! events (`EV#<seq>`), so a request and its audit trail read back consistently; its
//! idempotency key; and the feed, the order of all events the live stream follows.
//!
//! Feed positions come from one counter, taken before the transaction that writes the
//! event with its position. A transaction that then fails leaves its position unused:
//! a hole the stream would wait for (as for a rolled-back SQL transaction), so a filler
//! is written at that position to let the stream pass at once. A commit becomes visible
//! on the index a moment later, maybe after a later one: the stream's wait at a hole
//! covers that too.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::ReturnValue;
use chrono::{DateTime, Utc};

use super::item::{self, Expr, Got, Item, Put, at_then, key, position, up_to};
use super::keys::key_item;
use super::{DynamoStore, MAX_ITEMS, Refused, Write, corrupt, db_err};
use crate::domain::chain::ChainScheme;
use crate::domain::{Approval, Event, Source, Status, TaskKind};
use crate::ports::{
    ApprovalStore, CreateOutcome, IdempotencyClaim, ListQuery, NewApprovalRecord, StoreError,
    StoredApproval, TransitionRecord,
};

const STATE: &str = "STATE";
/// The partition of the feed's counter and of every feed position, on `gsi2`.
const FEED: &str = "FEED";
/// The partition of pending requests by deadline, on `gsi2`.
const OVERDUE: &str = "OVERDUE";
/// How long a filler of an unused feed position is kept: the stream passes it within
/// seconds.
const HOLE_DAYS: i64 = 1;

pub(super) fn approval_pk(tenant_id: &str, id: &str) -> String {
    key(&["A", tenant_id, id])
}

fn event_sk(seq: i64) -> String {
    format!("EV#{seq:020}")
}

fn idempotency_pk(tenant_id: &str, key_text: &str) -> String {
    key(&["IDEM", tenant_id, key_text])
}

fn state_item(tenant_id: &str, a: &Approval, last_event_hash: &str, head_seal: &str) -> Item {
    let state = serde_json::to_string(a).expect("state always serializes");
    let mut put = Put::new(approval_pk(tenant_id, &a.id), STATE, "approval")
        .s("tenant_id", tenant_id)
        .s("id", &a.id)
        .s("status", a.status.as_str())
        .s("agent_id", &a.spec.agent_id)
        .s("action_type", &a.spec.action_type)
        .ts("created_at", a.created_at)
        .ts("due_at", a.due_at)
        .n("version", a.version)
        .s("last_event_hash", last_event_hash)
        .s("head_seal", head_seal)
        .s("state", state)
        .s("gsi1pk", key(&["APPROVALS", tenant_id]))
        .s("gsi1sk", at_then(a.created_at, &a.id));
    // Only pending requests are on the overdue index: a decision takes it off.
    if a.status == Status::Pending {
        put = put.s("gsi2pk", OVERDUE).s(
            "gsi2sk",
            format!("{}#{}", item::ts(a.due_at), key(&[tenant_id, &a.id])),
        );
    }
    put.item()
}

fn event_item(tenant_id: &str, e: &Event, feed: i64) -> Item {
    Put::new(
        approval_pk(tenant_id, &e.approval_id),
        &event_sk(e.seq),
        "event",
    )
    .s("tenant_id", tenant_id)
    .s("approval_id", &e.approval_id)
    .n("seq", e.seq)
    .s("id", &e.id)
    .s("event_type", &e.event_type)
    // Text, not a map, so the audit trail keeps the bytes it recorded.
    .s("data", e.data.to_string())
    .s("snapshot", e.snapshot.to_string())
    .s("actor", &e.actor)
    .s("source", e.source.as_str())
    .ts("occurred_at", e.occurred_at)
    .s("prev_hash", &e.prev_hash)
    .s("hash", &e.hash)
    .n("scheme", e.scheme.number())
    .n("feed", feed)
    .s("gsi1pk", key(&["FEED", tenant_id]))
    .s("gsi1sk", position(feed))
    .s("gsi2pk", FEED)
    .s("gsi2sk", position(feed))
    .item()
}

fn event(i: &Item) -> Result<Event, StoreError> {
    let g = Got(i);
    let source = g.s("source")?;
    let scheme = g.i32("scheme")?;
    Ok(Event {
        id: g.s("id")?,
        approval_id: g.s("approval_id")?,
        seq: g.i64("seq")?,
        event_type: g.s("event_type")?,
        data: serde_json::from_str(&g.s("data")?).map_err(|e| corrupt("event data", e))?,
        snapshot: serde_json::from_str(&g.s("snapshot")?)
            .map_err(|e| corrupt("event snapshot", e))?,
        actor: g.s("actor")?,
        source: Source::parse(&source).ok_or_else(|| corrupt("event source", &source))?,
        occurred_at: g.ts("occurred_at")?,
        prev_hash: g.s("prev_hash")?,
        hash: g.s("hash")?,
        scheme: ChainScheme::from_number(scheme)
            .ok_or_else(|| corrupt("event hash scheme", scheme))?,
    })
}

fn approval(i: &Item) -> Result<Approval, StoreError> {
    serde_json::from_str(&Got(i).s("state")?).map_err(|e| corrupt("approval state", e))
}

fn feed_position(i: &Item, attr: &str) -> Result<i64, StoreError> {
    Got(i)
        .s(attr)?
        .parse()
        .map_err(|e| corrupt("feed position", e))
}

impl DynamoStore {
    /// Takes the next `count` feed positions; returns the last of them.
    pub(super) async fn next_positions(&self, count: i64) -> Result<i64, StoreError> {
        let mut expr = Expr::default();
        expr.add("n", item::n(count));
        let got = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item::pk(FEED.into(), "COUNTER")))
            .update_expression(expr.update())
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(db_err)?;
        Got(&got.attributes.unwrap_or_default()).i64("n")
    }

    /// Marks a position that no event will take, so that the stream need not wait for it.
    pub(super) async fn fill_hole(&self, feed: i64) {
        let item = Put::new(key(&["FEEDHOLE", &feed.to_string()]), "HOLE", "hole")
            .s("gsi2pk", FEED)
            .s("gsi2sk", position(feed))
            .set(
                "ttl",
                item::epoch(Utc::now() + chrono::Duration::days(HOLE_DAYS)),
            )
            .item();
        if let Err(e) = self.put_new(item).await {
            tracing::warn!(feed, error = %crate::telemetry::error_chain(&e), "could not mark an unused feed position; the live stream waits for it a moment");
        }
    }

    /// Writes that cancel the request's pending, unclaimed jobs of these kinds (its
    /// timers). The index may miss a job written a moment ago: such a timer runs, finds
    /// its request decided, and does nothing.
    async fn cancel_writes(
        &self,
        tenant_id: &str,
        approval_id: &str,
        kinds: &[TaskKind],
    ) -> Result<Vec<Write>, StoreError> {
        if kinds.is_empty() {
            return Ok(Vec::new());
        }
        let q = self.index("gsi2", super::jobs::timers_pk(tenant_id, approval_id), None);
        let mut writes = Vec::new();
        for job in self.query_all(q, MAX_ITEMS).await? {
            let g = Got(&job);
            if !kinds
                .iter()
                .any(|k| g.s("kind").is_ok_and(|j| j == k.as_str()))
            {
                continue;
            }
            let mut e = super::jobs::finished("cancelled");
            let condition = format!(
                "{} AND {}",
                e.eq("status", item::s("pending")),
                e.missing("lease_owner")
            );
            let id = g.s("id")?;
            writes.push(Write::new(
                self.update_write(super::jobs::job_key(&id), &e, &condition),
                Refused::Skip,
            ));
        }
        Ok(writes)
    }
}

#[async_trait]
impl ApprovalStore for DynamoStore {
    async fn create(&self, r: NewApprovalRecord) -> Result<CreateOutcome, StoreError> {
        let mut writes = Vec::new();
        if let Some(claim) = &r.idempotency {
            let item = key_item(
                idempotency_pk(&r.tenant_id, &claim.key),
                claim,
                "approval_id",
                &r.approval.id,
                r.approval.created_at,
            );
            writes.push(Write::new(self.put_new_write(item), Refused::Report));
        }
        let feed = self.next_positions(1).await?;
        let state = state_item(&r.tenant_id, &r.approval, &r.event.hash, &r.head_seal);
        writes.push(Write::new(
            self.put_new_write(state),
            Refused::Duplicate("request"),
        ));
        writes.push(Write::new(
            self.put_new_write(event_item(&r.tenant_id, &r.event, feed)),
            Refused::Duplicate("event"),
        ));
        writes.extend(self.job_writes(&r.jobs));
        let outcome = self.transact(writes).await;
        match outcome {
            Ok(None) => Ok(CreateOutcome::Created),
            Ok(Some(_)) => {
                self.fill_hole(feed).await;
                let claim = r.idempotency.as_ref().expect("only the key reports");
                // The key's first use committed: its item is final.
                let (first, approval_id) = self
                    .idempotency_key(&r.tenant_id, &claim.key)
                    .await?
                    .ok_or_else(|| corrupt("idempotency key", "refused but absent"))?;
                Ok(if first.request_hash == claim.request_hash {
                    CreateOutcome::Replayed { approval_id }
                } else {
                    CreateOutcome::KeyReused
                })
            }
            Err(e) => {
                self.fill_hole(feed).await;
                Err(e)
            }
        }
    }

    async fn transition(&self, r: TransitionRecord) -> Result<(), StoreError> {
        let a = &r.approval;
        let mut writes = Vec::new();
        let mut expr = Expr::default();
        let condition = expr.eq("version", item::n(r.expected_version));
        writes.push(Write::new(
            self.put_write(
                state_item(&r.tenant_id, a, &r.event.hash, &r.head_seal),
                Some((condition, expr)),
            ),
            Refused::Conflict,
        ));
        if let Some(d) = &r.delivery {
            writes.push(self.message_update_write(d));
        }
        writes.extend(
            self.cancel_writes(&r.tenant_id, &a.id, &r.cancel_job_kinds)
                .await?,
        );
        writes.extend(self.job_writes(&r.jobs));
        let feed = self.next_positions(1).await?;
        writes.insert(
            1,
            Write::new(
                self.put_new_write(event_item(&r.tenant_id, &r.event, feed)),
                Refused::Conflict,
            ),
        );
        let outcome = self.transact(writes).await;
        match outcome {
            Ok(None) => Ok(()),
            Ok(Some(_)) => unreachable!("no write of a transition reports"),
            Err(e) => {
                self.fill_hole(feed).await;
                Err(e)
            }
        }
    }

    async fn get(&self, tenant_id: &str, id: &str) -> Result<Option<StoredApproval>, StoreError> {
        let Some(i) = self
            .get_item(item::pk(approval_pk(tenant_id, id), STATE))
            .await?
        else {
            return Ok(None);
        };
        let g = Got(&i);
        Ok(Some(StoredApproval {
            tenant_id: tenant_id.to_owned(),
            approval: approval(&i)?,
            last_event_hash: g.s("last_event_hash")?,
            head_seal: g.opt_s("head_seal")?,
        }))
    }

    async fn idempotency_key(
        &self,
        tenant_id: &str,
        key_text: &str,
    ) -> Result<Option<(IdempotencyClaim, String)>, StoreError> {
        self.key_claim(idempotency_pk(tenant_id, key_text), "approval_id", key_text)
            .await
    }

    /// Newest first on `gsi1`, the filters applied as the pages are read, until `limit`
    /// match or the tenant's requests run out.
    async fn list(&self, tenant_id: &str, q: &ListQuery) -> Result<Vec<Approval>, StoreError> {
        let pk = key(&["APPROVALS", tenant_id]);
        let mut query = match &q.after {
            Some((at, id)) => self
                .index("gsi1", pk, Some("< :after"))
                .expression_attribute_values(":after", item::s(at_then(*at, id))),
            None => self.index("gsi1", pk, None),
        }
        .scan_index_forward(false)
        .limit(i32::try_from(q.limit.clamp(25, 1000)).unwrap_or(1000));
        let mut filters = Vec::new();
        for (attr, value) in [
            ("status", q.status.map(|s| s.as_str().to_owned())),
            ("agent_id", q.agent_id.clone()),
            ("action_type", q.action_type.clone()),
        ] {
            if let Some(v) = value {
                query = query
                    .expression_attribute_names(format!("#{attr}"), attr)
                    .expression_attribute_values(format!(":{attr}"), item::s(v));
                filters.push(format!("#{attr} = :{attr}"));
            }
        }
        if !filters.is_empty() {
            query = query.filter_expression(filters.join(" AND "));
        }
        let limit = q.limit as usize;
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let page = query
                .clone()
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(db_err)?;
            for i in page.items.unwrap_or_default() {
                out.push(approval(&i)?);
                if out.len() == limit {
                    return Ok(out);
                }
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(out);
            }
        }
    }

    async fn events(&self, tenant_id: &str, approval_id: &str) -> Result<Vec<Event>, StoreError> {
        let q = self.partition(approval_pk(tenant_id, approval_id), "EV#");
        self.query_all(q, MAX_ITEMS)
            .await?
            .iter()
            .map(event)
            .collect()
    }

    async fn feed(
        &self,
        tenant_id: &str,
        after: i64,
        up_to_position: i64,
        limit: u32,
    ) -> Result<Vec<(i64, Event)>, StoreError> {
        if after >= up_to_position || limit == 0 {
            return Ok(Vec::new());
        }
        let q = self
            .index(
                "gsi1",
                key(&["FEED", tenant_id]),
                Some("BETWEEN :from AND :to"),
            )
            .expression_attribute_values(":from", item::s(position(after + 1)))
            .expression_attribute_values(":to", item::s(position(up_to_position)))
            .limit(i32::try_from(limit).unwrap_or(i32::MAX));
        let items = self.query_all(q, limit as usize).await?;
        items
            .iter()
            .map(|i| Ok((Got(i).i64("feed")?, event(i)?)))
            .collect()
    }

    async fn feed_positions(&self, after: i64, limit: u32) -> Result<Vec<i64>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let q = self
            .index("gsi2", FEED.into(), Some("> :after"))
            .expression_attribute_values(":after", item::s(position(after)))
            .limit(i32::try_from(limit).unwrap_or(i32::MAX));
        let items = self.query_all(q, limit as usize).await?;
        items.iter().map(|i| feed_position(i, "gsi2sk")).collect()
    }

    async fn feed_head(&self) -> Result<i64, StoreError> {
        let page = self
            .index("gsi2", FEED.into(), None)
            .scan_index_forward(false)
            .limit(1)
            .send()
            .await
            .map_err(db_err)?;
        match page.items.unwrap_or_default().first() {
            Some(i) => feed_position(i, "gsi2sk"),
            None => Ok(0),
        }
    }

    async fn overdue(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(String, String)>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let q = self
            .index("gsi2", OVERDUE.into(), Some("< :before"))
            .expression_attribute_values(":before", item::s(up_to(before)))
            .limit(i32::try_from(limit).unwrap_or(i32::MAX));
        let items = self.query_all(q, limit as usize).await?;
        items
            .iter()
            .map(|i| Ok((Got(i).s("tenant_id")?, Got(i).s("id")?)))
            .collect()
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
            .map_err(db_err)?;
        Ok(())
    }
}
