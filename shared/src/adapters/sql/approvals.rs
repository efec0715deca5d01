//! Requests: their current state, their audit trail of events (and the feed over all
//! tenants' events), and the idempotency keys that made them.
//!
//! Every write transaction begins with a write (never a read), so SQLite takes its
//! write lock up front and PostgreSQL's row lock is the compare-and-set itself.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use sqlx::{Arguments, ColumnIndex, Database, Encode, Executor, Type};

use super::dialect::{Column, Conn, Dialect, Row, RowsAffected, SqlStore};
use super::{corrupt, db_err};
use crate::domain::chain::ChainScheme;
use crate::domain::{Approval, Event, Source};
use crate::ports::{
    ApprovalStore, CreateOutcome, IdempotencyClaim, ListQuery, NewApprovalRecord, StoreError,
    StoredApproval, TransitionRecord,
};

const EVENT_COLUMNS: &str = "approval_id, seq, id, type, data, snapshot, actor, source, \
     occurred_at, prev_hash, hash, scheme";

#[derive(sqlx::FromRow)]
struct EventRow<D: Dialect> {
    id: String,
    approval_id: String,
    seq: i64,
    #[sqlx(rename = "type")]
    event_type: String,
    /// Text, not JSON, so the audit trail keeps the bytes it recorded.
    data: String,
    snapshot: String,
    actor: String,
    source: String,
    occurred_at: D::Ts,
    prev_hash: String,
    hash: String,
    scheme: i32,
}

impl<D: Dialect> TryFrom<EventRow<D>> for Event {
    type Error = StoreError;

    fn try_from(r: EventRow<D>) -> Result<Self, StoreError> {
        Ok(Event {
            data: serde_json::from_str(&r.data).map_err(|e| corrupt("event data", e))?,
            snapshot: serde_json::from_str(&r.snapshot)
                .map_err(|e| corrupt("event snapshot", e))?,
            source: Source::parse(&r.source).ok_or_else(|| corrupt("event source", &r.source))?,
            id: r.id,
            approval_id: r.approval_id,
            seq: r.seq,
            event_type: r.event_type,
            actor: r.actor,
            occurred_at: D::from_ts(r.occurred_at),
            prev_hash: r.prev_hash,
            hash: r.hash,
            scheme: ChainScheme::from_number(r.scheme)
                .ok_or_else(|| corrupt("event hash scheme", r.scheme))?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct FeedRow<D: Dialect> {
    feed_seq: i64,
    #[sqlx(flatten)]
    event: EventRow<D>,
}

#[derive(sqlx::FromRow)]
struct StateRow {
    #[sqlx(json)]
    state: Value,
}

impl TryFrom<StateRow> for Approval {
    type Error = StoreError;

    fn try_from(r: StateRow) -> Result<Self, StoreError> {
        serde_json::from_value(r.state).map_err(|e| corrupt("approval state", e))
    }
}

#[derive(sqlx::FromRow)]
struct StoredRow {
    #[sqlx(flatten)]
    state: StateRow,
    last_event_hash: String,
    head_seal: Option<String>,
}

#[derive(sqlx::FromRow)]
struct KeyRow {
    request_hash: String,
    /// The item the key made, under its table's `subject` column.
    subject: String,
}

/// Where an aggregate keeps the `Idempotency-Key`s that made its items.
#[derive(Clone, Copy)]
pub(super) struct KeyTable {
    pub table: &'static str,
    /// The column naming the item a key made.
    pub subject: &'static str,
}

pub(super) const APPROVAL_KEYS: KeyTable = KeyTable {
    table: "idempotency_keys",
    subject: "approval_id",
};

/// Appends a placeholder for `value` and adds it to `args`, as `QueryBuilder` would;
/// over a generic database a `QueryBuilder` stays borrowed by the query it builds
/// until its own drop, so it cannot run one.
pub(super) fn push_bind<'q, DB: Database, T>(
    sql: &mut String,
    args: &mut DB::Arguments<'q>,
    value: T,
) -> Result<(), StoreError>
where
    T: 'q + Encode<'q, DB> + Type<DB>,
{
    args.add(value).map_err(StoreError::Database)?;
    args.format_placeholder(sql)
        .map_err(|e| StoreError::Database(e.into()))
}

/// Appends the newest-first page strictly after `after` (`(createdAt, id)`) of at
/// most `limit` rows to a query over a table with `created_at` and `id` columns.
pub(super) fn keyset_page<'q, D: Dialect>(
    sql: &mut String,
    args: &mut <D::Db as Database>::Arguments<'q>,
    after: Option<&(DateTime<Utc>, String)>,
    limit: u32,
) -> Result<(), StoreError>
where
    String: Column<D::Db>,
    i64: Column<D::Db>,
{
    if let Some((at, id)) = after {
        sql.push_str(" AND (created_at < ");
        push_bind(sql, args, D::to_ts(*at))?;
        sql.push_str(" OR (created_at = ");
        push_bind(sql, args, D::to_ts(*at))?;
        sql.push_str(" AND id < ");
        push_bind(sql, args, id.clone())?;
        sql.push_str("))");
    }
    sql.push_str(" ORDER BY created_at DESC, id DESC LIMIT ");
    push_bind(sql, args, i64::from(limit))
}

fn state_json(a: &Approval) -> Json<Value> {
    Json(serde_json::to_value(a).expect("state always serializes"))
}

impl<D: Dialect> SqlStore<D>
where
    for<'c> &'c mut Conn<D>: Executor<'c, Database = D::Db>,
    for<'q> &'q str: Encode<'q, D::Db> + Type<D::Db> + ColumnIndex<Row<D>>,
    usize: ColumnIndex<Row<D>>,
    String: Column<D::Db>,
    i64: Column<D::Db>,
    i32: Column<D::Db>,
{
    /// Claims `claim` for `subject_id` within a write. `None` when this is its first
    /// use; otherwise the first use's request hash and the item it made.
    pub(super) async fn claim_key(
        conn: &mut Conn<D>,
        keys: KeyTable,
        tenant_id: &str,
        claim: &IdempotencyClaim,
        subject_id: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<(String, String)>, StoreError> {
        let KeyTable { table, subject } = keys;
        let inserted = sqlx::query(&format!(
            "INSERT INTO {table} (tenant_id, key, request_hash, {subject}, created_at)              VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, key) DO NOTHING"
        ))
        .bind(tenant_id)
        .bind(&claim.key)
        .bind(&claim.request_hash)
        .bind(subject_id)
        .bind(D::to_ts(at))
        .execute(&mut *conn)
        .await
        .map_err(db_err)?
        .rows_affected();
        if inserted == 1 {
            return Ok(None);
        }
        // The key's first use committed before us (PostgreSQL made this insert wait
        // for it), so the row we read is final.
        let first: KeyRow = sqlx::query_as(&format!(
            "SELECT request_hash, {subject} AS subject FROM {table} WHERE tenant_id = $1 AND key = $2"
        ))
        .bind(tenant_id)
        .bind(&claim.key)
        .fetch_one(&mut *conn)
        .await
        .map_err(db_err)?;
        Ok(Some((first.request_hash, first.subject)))
    }

    /// The claim a key was first used with, and the item it made.
    pub(super) async fn key_claim(
        &self,
        keys: KeyTable,
        tenant_id: &str,
        key: &str,
    ) -> Result<Option<(IdempotencyClaim, String)>, StoreError> {
        let KeyTable { table, subject } = keys;
        let row: Option<KeyRow> = sqlx::query_as(&format!(
            "SELECT request_hash, {subject} AS subject FROM {table} \
             WHERE tenant_id = $1 AND key = $2"
        ))
        .bind(tenant_id)
        .bind(key)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(row.map(|row| {
            let claim = IdempotencyClaim {
                key: key.to_owned(),
                request_hash: row.request_hash,
            };
            (claim, row.subject)
        }))
    }

    async fn insert_event(
        conn: &mut Conn<D>,
        tenant_id: &str,
        e: &Event,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO approval_events (tenant_id, approval_id, seq, id, type, data, snapshot, \
             actor, source, occurred_at, prev_hash, hash, scheme) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(tenant_id)
        .bind(&e.approval_id)
        .bind(e.seq)
        .bind(&e.id)
        .bind(&e.event_type)
        .bind(e.data.to_string())
        .bind(e.snapshot.to_string())
        .bind(&e.actor)
        .bind(e.source.as_str())
        .bind(D::to_ts(e.occurred_at))
        .bind(&e.prev_hash)
        .bind(&e.hash)
        .bind(e.scheme.number())
        .execute(conn)
        .await
        .map_err(db_err)?;
        Ok(())
    }
}

#[async_trait]
impl<D: Dialect> ApprovalStore for SqlStore<D>
where
    for<'c> &'c mut Conn<D>: Executor<'c, Database = D::Db>,
    for<'q> &'q str: Encode<'q, D::Db> + Type<D::Db> + ColumnIndex<Row<D>>,
    usize: ColumnIndex<Row<D>>,
    String: Column<D::Db>,
    Option<String>: Column<D::Db>,
    i64: Column<D::Db>,
    i32: Column<D::Db>,
    Option<i32>: Column<D::Db>,
    Option<D::Ts>: Column<D::Db>,
    Json<Value>: Column<D::Db>,
{
    async fn create(&self, r: NewApprovalRecord) -> Result<CreateOutcome, StoreError> {
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        if let Some(claim) = &r.idempotency
            && let Some((first_hash, first_id)) = Self::claim_key(
                &mut tx,
                APPROVAL_KEYS,
                &r.tenant_id,
                claim,
                &r.approval.id,
                r.approval.created_at,
            )
            .await?
        {
            tx.rollback().await.map_err(db_err)?;
            return Ok(if first_hash == claim.request_hash {
                CreateOutcome::Replayed {
                    approval_id: first_id,
                }
            } else {
                CreateOutcome::KeyReused
            });
        }
        let a = &r.approval;
        sqlx::query(
            "INSERT INTO approvals (tenant_id, id, status, agent_id, action_type, expires_at, \
             created_at, updated_at, version, last_event_hash, state, head_seal) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(&r.tenant_id)
        .bind(&a.id)
        .bind(a.status.as_str())
        .bind(&a.spec.agent_id)
        .bind(&a.spec.action_type)
        .bind(D::to_ts(a.due_at))
        .bind(D::to_ts(a.created_at))
        .bind(D::to_ts(a.updated_at))
        .bind(a.version)
        .bind(&r.event.hash)
        .bind(state_json(a))
        .bind(&r.head_seal)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        Self::insert_event(&mut tx, &r.tenant_id, &r.event).await?;
        Self::insert_jobs(&mut tx, &r.jobs).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(CreateOutcome::Created)
    }

    async fn transition(&self, r: TransitionRecord) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        let a = &r.approval;
        let updated = sqlx::query(
            "UPDATE approvals SET status = $1, updated_at = $2, version = $3, \
             last_event_hash = $4, state = $5, expires_at = $9, head_seal = $10 \
             WHERE tenant_id = $6 AND id = $7 AND version = $8",
        )
        .bind(a.status.as_str())
        .bind(D::to_ts(a.updated_at))
        .bind(a.version)
        .bind(&r.event.hash)
        .bind(state_json(a))
        .bind(&r.tenant_id)
        .bind(&a.id)
        .bind(r.expected_version)
        .bind(D::to_ts(a.due_at))
        .bind(&r.head_seal)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
        if updated == 0 {
            tx.rollback().await.map_err(db_err)?;
            return Err(StoreError::VersionConflict);
        }
        Self::insert_event(&mut tx, &r.tenant_id, &r.event).await?;
        if let Some(d) = &r.delivery {
            Self::update_channel_delivery(&mut *tx, d).await?;
        }
        for kind in &r.cancel_job_kinds {
            // A claimed job is left to finish: it re-reads the request and does nothing.
            sqlx::query(
                "UPDATE jobs SET status = 'cancelled' WHERE tenant_id = $1 AND approval_id = $2 \
                 AND kind = $3 AND status = 'pending' AND lease_owner IS NULL",
            )
            .bind(&r.tenant_id)
            .bind(&a.id)
            .bind(kind.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        Self::insert_jobs(&mut tx, &r.jobs).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(())
    }

    async fn get(&self, tenant_id: &str, id: &str) -> Result<Option<StoredApproval>, StoreError> {
        let row: Option<StoredRow> = sqlx::query_as(
            "SELECT state, last_event_hash, head_seal FROM approvals \
             WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.map(|row| {
            Ok(StoredApproval {
                tenant_id: tenant_id.to_owned(),
                approval: row.state.try_into()?,
                last_event_hash: row.last_event_hash,
                head_seal: row.head_seal,
            })
        })
        .transpose()
    }

    async fn idempotency_key(
        &self,
        tenant_id: &str,
        key: &str,
    ) -> Result<Option<(IdempotencyClaim, String)>, StoreError> {
        self.key_claim(APPROVAL_KEYS, tenant_id, key).await
    }

    async fn list(&self, tenant_id: &str, q: &ListQuery) -> Result<Vec<Approval>, StoreError> {
        let mut sql = String::from("SELECT state FROM approvals WHERE tenant_id = ");
        let mut args = <D::Db as Database>::Arguments::default();
        push_bind(&mut sql, &mut args, tenant_id)?;
        if let Some(s) = q.status {
            sql.push_str(" AND status = ");
            push_bind(&mut sql, &mut args, s.as_str())?;
        }
        if let Some(agent) = &q.agent_id {
            sql.push_str(" AND agent_id = ");
            push_bind(&mut sql, &mut args, agent)?;
        }
        if let Some(t) = &q.action_type {
            sql.push_str(" AND action_type = ");
            push_bind(&mut sql, &mut args, t)?;
        }
        keyset_page::<D>(&mut sql, &mut args, q.after.as_ref(), q.limit)?;
        let rows: Vec<StateRow> = sqlx::query_as_with(&sql, args)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.into_iter().map(Approval::try_from).collect()
    }

    async fn events(&self, tenant_id: &str, approval_id: &str) -> Result<Vec<Event>, StoreError> {
        let rows: Vec<EventRow<D>> = sqlx::query_as(&format!(
            "SELECT {EVENT_COLUMNS} FROM approval_events \
             WHERE tenant_id = $1 AND approval_id = $2 ORDER BY seq"
        ))
        .bind(tenant_id)
        .bind(approval_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.into_iter().map(Event::try_from).collect()
    }

    async fn feed(
        &self,
        tenant_id: &str,
        after: i64,
        up_to: i64,
        limit: u32,
    ) -> Result<Vec<(i64, Event)>, StoreError> {
        let rows: Vec<FeedRow<D>> = sqlx::query_as(&format!(
            "SELECT feed_seq, {EVENT_COLUMNS} FROM approval_events \
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

    async fn feed_positions(&self, after: i64, limit: u32) -> Result<Vec<i64>, StoreError> {
        sqlx::query_scalar(
            "SELECT feed_seq FROM approval_events WHERE feed_seq > $1 ORDER BY feed_seq LIMIT $2",
        )
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)
    }

    async fn feed_head(&self) -> Result<i64, StoreError> {
        let head: Option<i64> = sqlx::query_scalar("SELECT MAX(feed_seq) FROM approval_events")
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(head.unwrap_or(0))
    }

    async fn overdue(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(String, String)>, StoreError> {
        sqlx::query_as(
            "SELECT tenant_id, id FROM approvals WHERE status = 'PENDING' AND expires_at <= $1 \
             ORDER BY expires_at LIMIT $2",
        )
        .bind(D::to_ts(before))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }
}
