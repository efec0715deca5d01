//! Workflows, their versions, runs and run events. A run's transition is one write
//! transaction that begins with the compare-and-set on its `seq`, then appends its
//! events and the outbox jobs, as a request's does (`approvals.rs`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use sqlx::{ColumnIndex, Database, Encode, Executor, Type};

use super::approvals::{KeyTable, keyset_page, push_bind};
use super::dialect::{Column, Conn, Dialect, Row, RowsAffected, SqlStore};
use super::{corrupt, db_err};
use crate::domain::workflow::{Definition, Run, RunEvent, Workflow, WorkflowVersion};
use crate::ports::{
    IdempotencyClaim, NewRunRecord, RunCreateOutcome, RunQuery, RunTransition, StoreError,
    StoredRun, WorkflowStore,
};

#[derive(sqlx::FromRow)]
struct WorkflowRow {
    #[sqlx(json)]
    state: Value,
    deleted: bool,
}

impl TryFrom<WorkflowRow> for Workflow {
    type Error = StoreError;

    fn try_from(r: WorkflowRow) -> Result<Self, StoreError> {
        let mut w: Workflow =
            serde_json::from_value(r.state).map_err(|e| corrupt("workflow state", e))?;
        w.deleted = r.deleted;
        Ok(w)
    }
}

#[derive(sqlx::FromRow)]
struct VersionRow<D: Dialect> {
    workflow_id: String,
    version: i32,
    definition: String,
    created_at: D::Ts,
}

impl<D: Dialect> TryFrom<VersionRow<D>> for WorkflowVersion {
    type Error = StoreError;

    fn try_from(r: VersionRow<D>) -> Result<Self, StoreError> {
        let definition: Definition =
            serde_json::from_str(&r.definition).map_err(|e| corrupt("workflow definition", e))?;
        Ok(WorkflowVersion {
            workflow_id: r.workflow_id,
            version: u32::try_from(r.version).map_err(|e| corrupt("workflow version", e))?,
            definition,
            created_at: D::from_ts(r.created_at),
        })
    }
}

#[derive(sqlx::FromRow)]
struct RunRow {
    #[sqlx(json)]
    state: Value,
}

impl TryFrom<RunRow> for Run {
    type Error = StoreError;

    fn try_from(r: RunRow) -> Result<Self, StoreError> {
        serde_json::from_value(r.state).map_err(|e| corrupt("run state", e))
    }
}

#[derive(sqlx::FromRow)]
struct StoredRunRow {
    #[sqlx(flatten)]
    state: RunRow,
    last_event_hash: String,
    head_seal: String,
}

const RUN_KEYS: KeyTable = KeyTable {
    table: "run_idempotency_keys",
    subject: "run_id",
};

const RUN_EVENT_COLUMNS: &str =
    "run_id, seq, id, type, data, snapshot, actor, occurred_at, prev_hash, hash";

#[derive(sqlx::FromRow)]
struct RunEventRow<D: Dialect> {
    id: String,
    run_id: String,
    seq: i64,
    #[sqlx(rename = "type")]
    event_type: String,
    data: String,
    snapshot: String,
    actor: String,
    occurred_at: D::Ts,
    prev_hash: String,
    hash: String,
}

impl<D: Dialect> TryFrom<RunEventRow<D>> for RunEvent {
    type Error = StoreError;

    fn try_from(r: RunEventRow<D>) -> Result<Self, StoreError> {
        Ok(RunEvent {
            data: serde_json::from_str(&r.data).map_err(|e| corrupt("run event data", e))?,
            snapshot: serde_json::from_str(&r.snapshot)
                .map_err(|e| corrupt("run event snapshot", e))?,
            id: r.id,
            run_id: r.run_id,
            seq: r.seq,
            event_type: r.event_type,
            actor: r.actor,
            occurred_at: D::from_ts(r.occurred_at),
            prev_hash: r.prev_hash,
            hash: r.hash,
        })
    }
}

#[derive(sqlx::FromRow)]
struct RunFeedRow<D: Dialect> {
    feed_seq: i64,
    #[sqlx(flatten)]
    event: RunEventRow<D>,
}

fn json_of<T: serde::Serialize>(v: &T) -> Json<Value> {
    Json(serde_json::to_value(v).expect("records always serialize"))
}

fn version_number(v: u32) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

impl<D: Dialect> SqlStore<D>
where
    for<'c> &'c mut Conn<D>: Executor<'c, Database = D::Db>,
    for<'q> &'q str: Encode<'q, D::Db> + Type<D::Db>,
    String: Column<D::Db>,
    i64: Column<D::Db>,
    i32: Column<D::Db>,
{
    async fn insert_run_events(
        conn: &mut Conn<D>,
        tenant_id: &str,
        events: &[RunEvent],
    ) -> Result<(), StoreError> {
        for e in events {
            sqlx::query(
                "INSERT INTO workflow_run_events (tenant_id, run_id, seq, id, type, data, \
                 snapshot, actor, occurred_at, prev_hash, hash) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(tenant_id)
            .bind(&e.run_id)
            .bind(e.seq)
            .bind(&e.id)
            .bind(&e.event_type)
            .bind(e.data.to_string())
            .bind(e.snapshot.to_string())
            .bind(&e.actor)
            .bind(D::to_ts(e.occurred_at))
            .bind(&e.prev_hash)
            .bind(&e.hash)
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
        }
        Ok(())
    }

    async fn insert_version(
        conn: &mut Conn<D>,
        tenant_id: &str,
        v: &WorkflowVersion,
    ) -> Result<(), StoreError> {
        let definition = serde_json::to_string(&v.definition).expect("a definition serializes");
        sqlx::query(
            "INSERT INTO workflow_versions (tenant_id, workflow_id, version, definition, \
             created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(tenant_id)
        .bind(&v.workflow_id)
        .bind(version_number(v.version))
        .bind(definition)
        .bind(D::to_ts(v.created_at))
        .execute(conn)
        .await
        .map_err(db_err)?;
        Ok(())
    }
}

#[async_trait]
impl<D: Dialect> WorkflowStore for SqlStore<D>
where
    for<'c> &'c mut Conn<D>: Executor<'c, Database = D::Db>,
    for<'q> &'q str: Encode<'q, D::Db> + Type<D::Db> + ColumnIndex<Row<D>>,
    usize: ColumnIndex<Row<D>>,
    String: Column<D::Db>,
    Option<String>: Column<D::Db>,
    i64: Column<D::Db>,
    i32: Column<D::Db>,
    bool: Column<D::Db>,
    Json<Value>: Column<D::Db>,
{
    async fn create_workflow(
        &self,
        tenant_id: &str,
        w: &Workflow,
        first: &WorkflowVersion,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        sqlx::query(
            "INSERT INTO workflows (tenant_id, id, created_at, updated_at, latest_version, \
             deleted, state) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(tenant_id)
        .bind(&w.id)
        .bind(D::to_ts(w.created_at))
        .bind(D::to_ts(w.updated_at))
        .bind(version_number(w.latest_version))
        .bind(w.deleted)
        .bind(json_of(w))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        Self::insert_version(&mut tx, tenant_id, first).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(())
    }

    async fn update_workflow(
        &self,
        tenant_id: &str,
        w: &Workflow,
        expected_updated_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let updated = sqlx::query(
            "UPDATE workflows SET updated_at = $1, deleted = $2, state = $3 \
             WHERE tenant_id = $4 AND id = $5 AND updated_at = $6 AND latest_version = $7",
        )
        .bind(D::to_ts(w.updated_at))
        .bind(w.deleted)
        .bind(json_of(w))
        .bind(tenant_id)
        .bind(&w.id)
        .bind(D::to_ts(expected_updated_at))
        .bind(version_number(w.latest_version))
        .execute(&self.writer)
        .await
        .map_err(db_err)?
        .rows_affected();
        if updated == 0 {
            return Err(StoreError::VersionConflict);
        }
        Ok(())
    }

    async fn add_version(
        &self,
        tenant_id: &str,
        w: &Workflow,
        v: &WorkflowVersion,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        let updated = sqlx::query(
            "UPDATE workflows SET updated_at = $1, latest_version = $2, state = $3 \
             WHERE tenant_id = $4 AND id = $5 AND latest_version = $6 AND NOT deleted",
        )
        .bind(D::to_ts(w.updated_at))
        .bind(version_number(w.latest_version))
        .bind(json_of(w))
        .bind(tenant_id)
        .bind(&w.id)
        .bind(version_number(w.latest_version.saturating_sub(1)))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
        if updated == 0 {
            tx.rollback().await.map_err(db_err)?;
            return Err(StoreError::VersionConflict);
        }
        Self::insert_version(&mut tx, tenant_id, v).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(())
    }

    async fn workflow(&self, tenant_id: &str, id: &str) -> Result<Option<Workflow>, StoreError> {
        let row: Option<WorkflowRow> =
            sqlx::query_as("SELECT state, deleted FROM workflows WHERE tenant_id = $1 AND id = $2")
                .bind(tenant_id)
                .bind(id)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?;
        row.map(Workflow::try_from).transpose()
    }

    async fn workflows(
        &self,
        tenant_id: &str,
        after: Option<(DateTime<Utc>, String)>,
        limit: u32,
    ) -> Result<Vec<Workflow>, StoreError> {
        let mut sql =
            String::from("SELECT state, deleted FROM workflows WHERE NOT deleted AND tenant_id = ");
        let mut args = <D::Db as Database>::Arguments::default();
        push_bind(&mut sql, &mut args, tenant_id)?;
        keyset_page::<D>(&mut sql, &mut args, after.as_ref(), limit)?;
        let rows: Vec<WorkflowRow> = sqlx::query_as_with(&sql, args)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.into_iter().map(Workflow::try_from).collect()
    }

    async fn version(
        &self,
        tenant_id: &str,
        workflow_id: &str,
        version: u32,
    ) -> Result<Option<WorkflowVersion>, StoreError> {
        let row: Option<VersionRow<D>> = sqlx::query_as(
            "SELECT workflow_id, version, definition, created_at FROM workflow_versions \
             WHERE tenant_id = $1 AND workflow_id = $2 AND version = $3",
        )
        .bind(tenant_id)
        .bind(workflow_id)
        .bind(version_number(version))
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.map(WorkflowVersion::try_from).transpose()
    }

    async fn create_run(&self, r: NewRunRecord) -> Result<RunCreateOutcome, StoreError> {
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        if let Some(claim) = &r.idempotency
            && let Some((first_hash, first_id)) = Self::claim_key(
                &mut tx,
                RUN_KEYS,
                &r.tenant_id,
                claim,
                &r.run.id,
                r.run.created_at,
            )
            .await?
        {
            tx.rollback().await.map_err(db_err)?;
            return Ok(if first_hash == claim.request_hash {
                RunCreateOutcome::Replayed { run_id: first_id }
            } else {
                RunCreateOutcome::KeyReused
            });
        }
        let run = &r.run;
        let head = r.events.last().map(|e| e.hash.clone()).unwrap_or_default();
        sqlx::query(
            "INSERT INTO workflow_runs (tenant_id, id, workflow_id, status, created_at, \
             updated_at, seq, last_event_hash, head_seal, state) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&r.tenant_id)
        .bind(&run.id)
        .bind(&run.workflow_id)
        .bind(run.status.as_str())
        .bind(D::to_ts(run.created_at))
        .bind(D::to_ts(run.updated_at))
        .bind(run.seq)
        .bind(head)
        .bind(&r.head_seal)
        .bind(json_of(run))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        Self::insert_run_events(&mut tx, &r.tenant_id, &r.events).await?;
        Self::insert_jobs(&mut tx, &r.jobs).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(RunCreateOutcome::Created)
    }

    async fn transition_run(&self, r: RunTransition) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        let run = &r.run;
        let head = r.events.last().map(|e| e.hash.clone()).unwrap_or_default();
        let updated = sqlx::query(
            "UPDATE workflow_runs SET status = $1, updated_at = $2, seq = $3, \
             last_event_hash = $4, head_seal = $5, state = $6 \
             WHERE tenant_id = $7 AND id = $8 AND seq = $9",
        )
        .bind(run.status.as_str())
        .bind(D::to_ts(run.updated_at))
        .bind(run.seq)
        .bind(head)
        .bind(&r.head_seal)
        .bind(json_of(run))
        .bind(&r.tenant_id)
        .bind(&run.id)
        .bind(r.expected_seq)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
        if updated == 0 {
            tx.rollback().await.map_err(db_err)?;
            return Err(StoreError::VersionConflict);
        }
        Self::insert_run_events(&mut tx, &r.tenant_id, &r.events).await?;
        Self::insert_jobs(&mut tx, &r.jobs).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(())
    }

    async fn run(&self, tenant_id: &str, id: &str) -> Result<Option<StoredRun>, StoreError> {
        let row: Option<StoredRunRow> = sqlx::query_as(
            "SELECT state, last_event_hash, head_seal FROM workflow_runs \
             WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.map(|row| {
            Ok(StoredRun {
                tenant_id: tenant_id.to_owned(),
                run: row.state.try_into()?,
                last_event_hash: row.last_event_hash,
                head_seal: row.head_seal,
            })
        })
        .transpose()
    }

    async fn run_idempotency_key(
        &self,
        tenant_id: &str,
        key: &str,
    ) -> Result<Option<(IdempotencyClaim, String)>, StoreError> {
        self.key_claim(RUN_KEYS, tenant_id, key).await
    }

    async fn runs(&self, tenant_id: &str, q: &RunQuery) -> Result<Vec<Run>, StoreError> {
        let mut sql = String::from("SELECT state FROM workflow_runs WHERE tenant_id = ");
        let mut args = <D::Db as Database>::Arguments::default();
        push_bind(&mut sql, &mut args, tenant_id)?;
        if let Some(w) = &q.workflow_id {
            sql.push_str(" AND workflow_id = ");
            push_bind(&mut sql, &mut args, w)?;
        }
        if let Some(s) = q.status {
            sql.push_str(" AND status = ");
            push_bind(&mut sql, &mut args, s.as_str())?;
        }
        keyset_page::<D>(&mut sql, &mut args, q.after.as_ref(), q.limit)?;
        let rows: Vec<RunRow> = sqlx::query_as_with(&sql, args)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.into_iter().map(Run::try_from).collect()
    }

    async fn run_events(&self, tenant_id: &str, run_id: &str) -> Result<Vec<RunEvent>, StoreError> {
        let rows: Vec<RunEventRow<D>> = sqlx::query_as(&format!(
            "SELECT {RUN_EVENT_COLUMNS} FROM workflow_run_events \
             WHERE tenant_id = $1 AND run_id = $2 ORDER BY seq"
        ))
        .bind(tenant_id)
        .bind(run_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.into_iter().map(RunEvent::try_from).collect()
    }

    async fn run_event(
        &self,
        tenant_id: &str,
        run_id: &str,
        seq: i64,
    ) -> Result<Option<RunEvent>, StoreError> {
        let row: Option<RunEventRow<D>> = sqlx::query_as(&format!(
            "SELECT {RUN_EVENT_COLUMNS} FROM workflow_run_events \
             WHERE tenant_id = $1 AND run_id = $2 AND seq = $3"
        ))
        .bind(tenant_id)
        .bind(run_id)
        .bind(seq)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.map(RunEvent::try_from).transpose()
    }

    async fn run_feed(
        &self,
        tenant_id: &str,
        after: i64,
        up_to: i64,
        limit: u32,
    ) -> Result<Vec<(i64, RunEvent)>, StoreError> {
        let rows: Vec<RunFeedRow<D>> = sqlx::query_as(&format!(
            "SELECT feed_seq, {RUN_EVENT_COLUMNS} FROM workflow_run_events \
             WHERE tenant_id = $1 AND feed_seq > $2 AND feed_seq <= $3 ORDER BY feed_seq LIMIT $4"
        ))
        .bind(tenant_id)
        .bind(after)
        .bind(up_to)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.into_iter()
            .map(|row| Ok((row.feed_seq, row.event.try_into()?)))
            .collect()
    }

    async fn run_feed_positions(&self, after: i64, limit: u32) -> Result<Vec<i64>, StoreError> {
        sqlx::query_scalar(
            "SELECT feed_seq FROM workflow_run_events WHERE feed_seq > $1 \
             ORDER BY feed_seq LIMIT $2",
        )
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)
    }

    async fn run_feed_head(&self) -> Result<i64, StoreError> {
        let head: Option<i64> = sqlx::query_scalar("SELECT MAX(feed_seq) FROM workflow_run_events")
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(head.unwrap_or(0))
    }
}
