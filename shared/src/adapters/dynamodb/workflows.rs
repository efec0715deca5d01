//! Workflows and runs. A workflow's record and its immutable versions share a partition
//! (`W#tenant#id`); a run's state and its events share another (`R#tenant#id`), so a run
//! and its audit trail read back consistently, as a request and its events do.
//!
//! Run events take their feed positions from the requests' counter (one `ADD` for all
//! of a transition's events), so the live stream reads one order over both; they sit on
//! the indexes under `RFEED`, apart from the requests' `FEED`, because the stream asks
//! each log for its own positions. A transaction that fails fills its positions as a
//! request's does.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::item::{self, Expr, Got, Item, Put, at_then, key, position};
use super::keys::key_item;
use super::{DynamoStore, MAX_ITEMS, Refused, Write, corrupt, db_err};
use crate::domain::workflow::{Definition, Run, RunEvent, Workflow, WorkflowVersion};
use crate::ports::{
    IdempotencyClaim, NewRunRecord, RunCreateOutcome, RunQuery, RunTransition, StoreError,
    StoredRun, WorkflowStore,
};

const RECORD: &str = "WORKFLOW";
const STATE: &str = "STATE";
const RUN_FEED: &str = "RFEED";

fn workflow_pk(tenant_id: &str, id: &str) -> String {
    key(&["W", tenant_id, id])
}

fn version_sk(version: u32) -> String {
    format!("V#{version:010}")
}

fn run_pk(tenant_id: &str, id: &str) -> String {
    key(&["R", tenant_id, id])
}

fn run_event_sk(seq: i64) -> String {
    format!("EV#{seq:020}")
}

fn run_key_pk(tenant_id: &str, key_text: &str) -> String {
    key(&["RIDEM", tenant_id, key_text])
}

fn workflow_item(tenant_id: &str, w: &Workflow) -> Item {
    let state = serde_json::to_string(w).expect("a workflow serializes");
    let put = Put::new(workflow_pk(tenant_id, &w.id), RECORD, "workflow")
        .s("tenant_id", tenant_id)
        .s("id", &w.id)
        .ts("created_at", w.created_at)
        .ts("updated_at", w.updated_at)
        .n("latest_version", w.latest_version)
        .bool("deleted", w.deleted)
        .s("state", state);
    // A deleted workflow leaves the listing; it stays readable by id.
    if w.deleted {
        put.item()
    } else {
        put.s("gsi1pk", key(&["WORKFLOWS", tenant_id]))
            .s("gsi1sk", at_then(w.created_at, &w.id))
            .item()
    }
}

fn workflow(i: &Item) -> Result<Workflow, StoreError> {
    let g = Got(i);
    let mut w: Workflow =
        serde_json::from_str(&g.s("state")?).map_err(|e| corrupt("workflow state", e))?;
    w.deleted = g.bool("deleted")?;
    Ok(w)
}

fn version_item(tenant_id: &str, v: &WorkflowVersion) -> Item {
    let definition = serde_json::to_string(&v.definition).expect("a definition serializes");
    Put::new(
        workflow_pk(tenant_id, &v.workflow_id),
        &version_sk(v.version),
        "workflow_version",
    )
    .s("tenant_id", tenant_id)
    .s("workflow_id", &v.workflow_id)
    .n("version", v.version)
    .s("definition", definition)
    .ts("created_at", v.created_at)
    .item()
}

fn version(i: &Item) -> Result<WorkflowVersion, StoreError> {
    let g = Got(i);
    let definition: Definition =
        serde_json::from_str(&g.s("definition")?).map_err(|e| corrupt("workflow definition", e))?;
    Ok(WorkflowVersion {
        workflow_id: g.s("workflow_id")?,
        version: u32::try_from(g.i64("version")?).map_err(|e| corrupt("workflow version", e))?,
        definition,
        created_at: g.ts("created_at")?,
    })
}

fn run_item(tenant_id: &str, run: &Run, last_event_hash: &str, head_seal: &str) -> Item {
    let state = serde_json::to_string(run).expect("a run serializes");
    Put::new(run_pk(tenant_id, &run.id), STATE, "run")
        .s("tenant_id", tenant_id)
        .s("id", &run.id)
        .s("workflow_id", &run.workflow_id)
        .s("status", run.status.as_str())
        .ts("created_at", run.created_at)
        .ts("updated_at", run.updated_at)
        .n("seq", run.seq)
        .s("last_event_hash", last_event_hash)
        .s("head_seal", head_seal)
        .s("state", state)
        .s("gsi1pk", key(&["RUNS", tenant_id]))
        .s("gsi1sk", at_then(run.created_at, &run.id))
        .s("gsi2pk", key(&["WRUNS", tenant_id, &run.workflow_id]))
        .s("gsi2sk", at_then(run.created_at, &run.id))
        .item()
}

fn run(i: &Item) -> Result<Run, StoreError> {
    serde_json::from_str(&Got(i).s("state")?).map_err(|e| corrupt("run state", e))
}

fn run_event_item(tenant_id: &str, e: &RunEvent, feed: i64) -> Item {
    Put::new(
        run_pk(tenant_id, &e.run_id),
        &run_event_sk(e.seq),
        "run_event",
    )
    .s("tenant_id", tenant_id)
    .s("run_id", &e.run_id)
    .n("seq", e.seq)
    .s("id", &e.id)
    .s("event_type", &e.event_type)
    // Text, not a map, so the audit trail keeps the bytes it hashed.
    .s("data", e.data.to_string())
    .s("snapshot", e.snapshot.to_string())
    .s("actor", &e.actor)
    .ts("occurred_at", e.occurred_at)
    .s("prev_hash", &e.prev_hash)
    .s("hash", &e.hash)
    .n("feed", feed)
    .s("gsi1pk", key(&[RUN_FEED, tenant_id]))
    .s("gsi1sk", position(feed))
    .s("gsi2pk", RUN_FEED)
    .s("gsi2sk", position(feed))
    .item()
}

fn run_event(i: &Item) -> Result<RunEvent, StoreError> {
    let g = Got(i);
    Ok(RunEvent {
        id: g.s("id")?,
        run_id: g.s("run_id")?,
        seq: g.i64("seq")?,
        event_type: g.s("event_type")?,
        data: serde_json::from_str(&g.s("data")?).map_err(|e| corrupt("run event data", e))?,
        snapshot: serde_json::from_str(&g.s("snapshot")?)
            .map_err(|e| corrupt("run event snapshot", e))?,
        actor: g.s("actor")?,
        occurred_at: g.ts("occurred_at")?,
        prev_hash: g.s("prev_hash")?,
        hash: g.s("hash")?,
    })
}

impl DynamoStore {
    /// The run's state item under `condition`, its events at fresh feed positions and
    /// its jobs, as one transaction; the positions are filled if it fails.
    async fn write_run(
        &self,
        tenant_id: &str,
        events: &[RunEvent],
        first: Vec<Write>,
        state: Write,
        jobs: &[crate::ports::NewJob],
    ) -> Result<Option<usize>, StoreError> {
        let count = i64::try_from(events.len()).unwrap_or(i64::MAX);
        let last = self.next_positions(count).await?;
        let feeds = (last - count + 1)..=last;
        let mut writes = first;
        writes.push(state);
        for (e, feed) in events.iter().zip(feeds.clone()) {
            writes.push(Write::new(
                self.put_new_write(run_event_item(tenant_id, e, feed)),
                Refused::Conflict,
            ));
        }
        writes.extend(self.job_writes(jobs));
        let outcome = self.transact(writes).await;
        if !matches!(outcome, Ok(None)) {
            for feed in feeds {
                self.fill_hole(feed).await;
            }
        }
        outcome
    }

    /// Run events at feed positions in `range` (`> :after`, `BETWEEN`), on `gsi` under
    /// `pk`, at most `limit`.
    async fn run_feed_items(
        &self,
        gsi: &str,
        pk: String,
        range: &str,
        values: &[(&str, String)],
        limit: u32,
    ) -> Result<Vec<Item>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut q = self
            .index(gsi, pk, Some(range))
            .limit(i32::try_from(limit).unwrap_or(i32::MAX));
        for (name, v) in values {
            q = q.expression_attribute_values(*name, item::s(v));
        }
        self.query_all(q, limit as usize).await
    }
}

#[async_trait]
impl WorkflowStore for DynamoStore {
    async fn create_workflow(
        &self,
        tenant_id: &str,
        w: &Workflow,
        first: &WorkflowVersion,
    ) -> Result<(), StoreError> {
        let writes = vec![
            Write::new(
                self.put_new_write(workflow_item(tenant_id, w)),
                Refused::Duplicate("workflow"),
            ),
            Write::new(
                self.put_new_write(version_item(tenant_id, first)),
                Refused::Duplicate("workflow version"),
            ),
        ];
        self.transact(writes).await.map(|_| ())
    }

    async fn update_workflow(
        &self,
        tenant_id: &str,
        w: &Workflow,
        expected_updated_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut e = Expr::default();
        let condition = format!(
            "{} AND {}",
            e.eq("updated_at", item::s(item::ts(expected_updated_at))),
            e.eq("latest_version", item::n(w.latest_version))
        );
        let write = self.put_write(workflow_item(tenant_id, w), Some((condition, e)));
        self.transact(vec![Write::new(write, Refused::Conflict)])
            .await
            .map(|_| ())
    }

    async fn add_version(
        &self,
        tenant_id: &str,
        w: &Workflow,
        v: &WorkflowVersion,
    ) -> Result<(), StoreError> {
        let mut e = Expr::default();
        let condition = format!(
            "{} AND {}",
            e.eq(
                "latest_version",
                item::n(w.latest_version.saturating_sub(1))
            ),
            e.eq(
                "deleted",
                aws_sdk_dynamodb::types::AttributeValue::Bool(false)
            )
        );
        let writes = vec![
            Write::new(
                self.put_write(workflow_item(tenant_id, w), Some((condition, e))),
                Refused::Conflict,
            ),
            Write::new(
                self.put_new_write(version_item(tenant_id, v)),
                Refused::Conflict,
            ),
        ];
        self.transact(writes).await.map(|_| ())
    }

    async fn workflow(&self, tenant_id: &str, id: &str) -> Result<Option<Workflow>, StoreError> {
        self.get_item(item::pk(workflow_pk(tenant_id, id), RECORD))
            .await?
            .as_ref()
            .map(workflow)
            .transpose()
    }

    /// Newest first on `gsi1`, which holds only the workflows not deleted.
    async fn workflows(
        &self,
        tenant_id: &str,
        after: Option<(DateTime<Utc>, String)>,
        limit: u32,
    ) -> Result<Vec<Workflow>, StoreError> {
        let pk = key(&["WORKFLOWS", tenant_id]);
        let q = match &after {
            Some((at, id)) => self
                .index("gsi1", pk, Some("< :after"))
                .expression_attribute_values(":after", item::s(at_then(*at, id))),
            None => self.index("gsi1", pk, None),
        }
        .scan_index_forward(false)
        .limit(i32::try_from(limit.max(1)).unwrap_or(i32::MAX));
        self.query_all(q, limit as usize)
            .await?
            .iter()
            .map(workflow)
            .collect()
    }

    async fn version(
        &self,
        tenant_id: &str,
        workflow_id: &str,
        number: u32,
    ) -> Result<Option<WorkflowVersion>, StoreError> {
        self.get_item(item::pk(
            workflow_pk(tenant_id, workflow_id),
            &version_sk(number),
        ))
        .await?
        .as_ref()
        .map(version)
        .transpose()
    }

    async fn create_run(&self, r: NewRunRecord) -> Result<RunCreateOutcome, StoreError> {
        let mut first = Vec::new();
        if let Some(claim) = &r.idempotency {
            let item = key_item(
                run_key_pk(&r.tenant_id, &claim.key),
                claim,
                "run_id",
                &r.run.id,
                r.run.created_at,
            );
            first.push(Write::new(self.put_new_write(item), Refused::Report));
        }
        let head = r.events.last().map(|e| e.hash.clone()).unwrap_or_default();
        let state = Write::new(
            self.put_new_write(run_item(&r.tenant_id, &r.run, &head, &r.head_seal)),
            Refused::Duplicate("run"),
        );
        let outcome = self
            .write_run(&r.tenant_id, &r.events, first, state, &r.jobs)
            .await?;
        let Some(_) = outcome else {
            return Ok(RunCreateOutcome::Created);
        };
        let claim = r.idempotency.as_ref().expect("only the key reports");
        // The key's first use committed: its item is final.
        let (first_use, run_id) = self
            .run_idempotency_key(&r.tenant_id, &claim.key)
            .await?
            .ok_or_else(|| corrupt("run idempotency key", "refused but absent"))?;
        Ok(if first_use.request_hash == claim.request_hash {
            RunCreateOutcome::Replayed { run_id }
        } else {
            RunCreateOutcome::KeyReused
        })
    }

    async fn transition_run(&self, r: RunTransition) -> Result<(), StoreError> {
        let head = r.events.last().map(|e| e.hash.clone()).unwrap_or_default();
        let mut e = Expr::default();
        let condition = e.eq("seq", item::n(r.expected_seq));
        let state = Write::new(
            self.put_write(
                run_item(&r.tenant_id, &r.run, &head, &r.head_seal),
                Some((condition, e)),
            ),
            Refused::Conflict,
        );
        self.write_run(&r.tenant_id, &r.events, Vec::new(), state, &r.jobs)
            .await
            .map(|_| ())
    }

    async fn run(&self, tenant_id: &str, id: &str) -> Result<Option<StoredRun>, StoreError> {
        let Some(i) = self
            .get_item(item::pk(run_pk(tenant_id, id), STATE))
            .await?
        else {
            return Ok(None);
        };
        let g = Got(&i);
        Ok(Some(StoredRun {
            tenant_id: tenant_id.to_owned(),
            run: run(&i)?,
            last_event_hash: g.s("last_event_hash")?,
            head_seal: g.s("head_seal")?,
        }))
    }

    async fn run_idempotency_key(
        &self,
        tenant_id: &str,
        key_text: &str,
    ) -> Result<Option<(IdempotencyClaim, String)>, StoreError> {
        self.key_claim(run_key_pk(tenant_id, key_text), "run_id", key_text)
            .await
    }

    /// Newest first: a workflow's runs on `gsi2`, all of the tenant's on `gsi1`; the
    /// status is a filter applied as pages are read, until `limit` match.
    async fn runs(&self, tenant_id: &str, q: &RunQuery) -> Result<Vec<Run>, StoreError> {
        let (gsi, pk) = match &q.workflow_id {
            Some(w) => ("gsi2", key(&["WRUNS", tenant_id, w])),
            None => ("gsi1", key(&["RUNS", tenant_id])),
        };
        let mut query = match &q.after {
            Some((at, id)) => self
                .index(gsi, pk, Some("< :after"))
                .expression_attribute_values(":after", item::s(at_then(*at, id))),
            None => self.index(gsi, pk, None),
        }
        .scan_index_forward(false)
        .limit(i32::try_from(q.limit.clamp(25, 1000)).unwrap_or(1000));
        if let Some(status) = q.status {
            query = query
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":status", item::s(status.as_str()))
                .filter_expression("#status = :status");
        }
        self.query_all(query, q.limit as usize)
            .await?
            .iter()
            .map(run)
            .collect()
    }

    async fn run_events(&self, tenant_id: &str, run_id: &str) -> Result<Vec<RunEvent>, StoreError> {
        let q = self.partition(run_pk(tenant_id, run_id), "EV#");
        self.query_all(q, MAX_ITEMS)
            .await?
            .iter()
            .map(run_event)
            .collect()
    }

    async fn run_event(
        &self,
        tenant_id: &str,
        run_id: &str,
        seq: i64,
    ) -> Result<Option<RunEvent>, StoreError> {
        self.get_item(item::pk(run_pk(tenant_id, run_id), &run_event_sk(seq)))
            .await?
            .as_ref()
            .map(run_event)
            .transpose()
    }

    async fn run_feed(
        &self,
        tenant_id: &str,
        after: i64,
        up_to: i64,
        limit: u32,
    ) -> Result<Vec<(i64, RunEvent)>, StoreError> {
        if after >= up_to {
            return Ok(Vec::new());
        }
        let items = self
            .run_feed_items(
                "gsi1",
                key(&[RUN_FEED, tenant_id]),
                "BETWEEN :from AND :to",
                &[(":from", position(after + 1)), (":to", position(up_to))],
                limit,
            )
            .await?;
        items
            .iter()
            .map(|i| Ok((Got(i).i64("feed")?, run_event(i)?)))
            .collect()
    }

    async fn run_feed_positions(&self, after: i64, limit: u32) -> Result<Vec<i64>, StoreError> {
        let items = self
            .run_feed_items(
                "gsi2",
                RUN_FEED.into(),
                "> :after",
                &[(":after", position(after))],
                limit,
            )
            .await?;
        items.iter().map(|i| Got(i).i64("feed")).collect()
    }

    async fn run_feed_head(&self) -> Result<i64, StoreError> {
        let page = self
            .index("gsi2", RUN_FEED.into(), None)
            .scan_index_forward(false)
            .limit(1)
            .send()
            .await
            .map_err(db_err)?;
        match page.items.unwrap_or_default().first() {
            Some(i) => Got(i).i64("feed"),
            None => Ok(0),
        }
    }
}
