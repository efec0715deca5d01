// The store shared by both SQL backends. Included by `postgres.rs` and `sqlite.rs`,
// which define `Db`, `Ts`, `to_ts`, `from_ts`, `CLAIM_LOCK` and `BACKEND`.
//
// Every write transaction begins with a write (never a read), so SQLite takes its write
// lock up front and PostgreSQL's row lock is the compare-and-set itself.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;
use sqlx::types::Json;
use sqlx::{QueryBuilder, Row};

use super::{Stores, corrupt, db_err};
use crate::domain::{Approval, Event, Source};
use crate::ports::{ApprovalStore, CreateOutcome, IdempotencyClaim, Job, JobQueue, JobStatus, ListQuery, NewApprovalRecord, NewJob, StoredApproval, TenantStore, TransitionRecord};
use crate::domain::{ApiKey, Lane, Tenant};

#[derive(Debug, Clone)]
pub struct Store {
    pool: sqlx::Pool<Db>,
    /// Where write transactions run: the same pool on PostgreSQL; on SQLite a pool of
    /// one connection, so writers queue in order instead of polling SQLite's lock.
    writer: sqlx::Pool<Db>,
}

impl Store {
    pub fn pool(&self) -> &sqlx::Pool<Db> {
        &self.pool
    }

    pub fn into_stores(self) -> Stores {
        let me = Arc::new(self);
        Stores {
            approvals: me.clone(),
            jobs: me.clone(),
            tenants: me.clone(),
            webhooks: me.clone(),
            connections: me.clone(),
            messages: me.clone(),
            users: me,
        }
    }
}

fn state_json(a: &Approval) -> Json<Value> {
    Json(serde_json::to_value(a).expect("state always serializes"))
}

fn decode_approval(v: Value) -> Result<Approval, StoreError> {
    serde_json::from_value(v).map_err(|e| corrupt("approval state", e))
}

async fn insert_event(
    tx: &mut sqlx::Transaction<'_, Db>,
    tenant_id: &str,
    e: &Event,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO approval_events (tenant_id, approval_id, seq, id, type, data, snapshot, \
         actor, source, occurred_at, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
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
    .bind(to_ts(e.occurred_at))
    .bind(&e.prev_hash)
    .bind(&e.hash)
    .execute(&mut **tx)
    .await
    .map_err(db_err)?;
    Ok(())
}

/// Inserts jobs; one whose id is already there (written by a step that ran twice) is
/// left as it is.
async fn insert_jobs(tx: &mut sqlx::Transaction<'_, Db>, jobs: &[NewJob]) -> Result<(), StoreError> {
    for j in jobs {
        sqlx::query(
            "INSERT INTO jobs (id, tenant_id, kind, payload, run_at, attempts, max_attempts, status, approval_id) \
             VALUES ($1, $2, $3, $4, $5, 0, $6, 'pending', $7) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&j.id)
        .bind(&j.tenant_id)
        .bind(j.task.kind().as_str())
        .bind(Json(j.task.payload()))
        .bind(to_ts(j.run_at))
        .bind(j.max_attempts)
        .bind(&j.approval_id)
        .execute(&mut **tx)
        .await
        .map_err(db_err)?;
    }
    Ok(())
}

const EVENT_COLUMNS: &str = "approval_id, seq, id, type, data, snapshot, actor, source, \
     occurred_at, prev_hash, hash";

fn decode_event(row: &<Db as sqlx::Database>::Row) -> Result<Event, StoreError> {
    let source: String = row.try_get("source").map_err(db_err)?;
    let data: String = row.try_get("data").map_err(db_err)?;
    let snapshot: String = row.try_get("snapshot").map_err(db_err)?;
    let data = serde_json::from_str(&data).map_err(|e| corrupt("event data", e))?;
    let snapshot = serde_json::from_str(&snapshot).map_err(|e| corrupt("event snapshot", e))?;
    Ok(Event {
        id: row.try_get("id").map_err(db_err)?,
        approval_id: row.try_get("approval_id").map_err(db_err)?,
        seq: row.try_get("seq").map_err(db_err)?,
        event_type: row.try_get("type").map_err(db_err)?,
        data,
        snapshot,
        actor: row.try_get("actor").map_err(db_err)?,
        source: Source::parse(&source).ok_or_else(|| corrupt("event source", &source))?,
        occurred_at: from_ts(row.try_get("occurred_at").map_err(db_err)?),
        prev_hash: row.try_get("prev_hash").map_err(db_err)?,
        hash: row.try_get("hash").map_err(db_err)?,
    })
}

/// The kinds of a lane, as an SQL list (constants, never input).
fn kinds_of(lane: Lane) -> String {
    lane.kinds()
        .iter()
        .map(|k| format!("'{}'", k.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

const API_KEY_COLUMNS: &str = "id, tenant_id, name, prefix, key_hash, created_at, revoked_at";

fn decode_api_key(row: &<Db as sqlx::Database>::Row) -> Result<ApiKey, StoreError> {
    let revoked: Option<Ts> = row.try_get("revoked_at").map_err(db_err)?;
    Ok(ApiKey {
        id: row.try_get("id").map_err(db_err)?,
        tenant_id: row.try_get("tenant_id").map_err(db_err)?,
        name: row.try_get("name").map_err(db_err)?,
        prefix: row.try_get("prefix").map_err(db_err)?,
        key_hash: row.try_get("key_hash").map_err(db_err)?,
        created_at: from_ts(row.try_get("created_at").map_err(db_err)?),
        revoked_at: revoked.map(from_ts),
    })
}

/// The SQL condition that keeps a lane's jobs.
fn lane_filter(lane: Lane) -> String {
    match lane {
        Lane::All => String::new(),
        // Unknown kinds (rows older than this code) go to the main lane, to be buried.
        Lane::Main => format!("AND kind NOT IN ({})", kinds_of(Lane::Sends)),
        Lane::Sends => format!("AND kind IN ({})", kinds_of(Lane::Sends)),
    }
}

#[async_trait]
impl ApprovalStore for Store {
    async fn create(&self, r: NewApprovalRecord) -> Result<CreateOutcome, StoreError> {
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        if let Some(claim) = &r.idempotency {
            let inserted = sqlx::query(
                "INSERT INTO idempotency_keys (tenant_id, key, request_hash, approval_id, created_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, key) DO NOTHING",
            )
            .bind(&r.tenant_id)
            .bind(&claim.key)
            .bind(&claim.request_hash)
            .bind(&r.approval.id)
            .bind(to_ts(r.approval.created_at))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?
            .rows_affected();
            if inserted == 0 {
                // The key's first use committed before us (PostgreSQL made this insert
                // wait for it), so the row we read is final.
                let row = sqlx::query(
                    "SELECT request_hash, approval_id FROM idempotency_keys \
                     WHERE tenant_id = $1 AND key = $2",
                )
                .bind(&r.tenant_id)
                .bind(&claim.key)
                .fetch_one(&mut *tx)
                .await
                .map_err(db_err)?;
                tx.rollback().await.map_err(db_err)?;
                let hash: String = row.try_get("request_hash").map_err(db_err)?;
                return Ok(if hash == claim.request_hash {
                    CreateOutcome::Replayed {
                        approval_id: row.try_get("approval_id").map_err(db_err)?,
                    }
                } else {
                    CreateOutcome::KeyReused
                });
            }
        }
        let a = &r.approval;
        sqlx::query(
            "INSERT INTO approvals (tenant_id, id, status, agent_id, action_type, expires_at, \
             created_at, updated_at, version, last_event_hash, state) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&r.tenant_id)
        .bind(&a.id)
        .bind(a.status.as_str())
        .bind(&a.spec.agent_id)
        .bind(&a.spec.action_type)
        .bind(to_ts(a.due_at))
        .bind(to_ts(a.created_at))
        .bind(to_ts(a.updated_at))
        .bind(a.version)
        .bind(&r.event.hash)
        .bind(state_json(a))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        insert_event(&mut tx, &r.tenant_id, &r.event).await?;
        insert_jobs(&mut tx, &r.jobs).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(CreateOutcome::Created)
    }

    async fn transition(&self, r: TransitionRecord) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        let a = &r.approval;
        let updated = sqlx::query(
            "UPDATE approvals SET status = $1, updated_at = $2, version = $3, \
             last_event_hash = $4, state = $5, expires_at = $9 \
             WHERE tenant_id = $6 AND id = $7 AND version = $8",
        )
        .bind(a.status.as_str())
        .bind(to_ts(a.updated_at))
        .bind(a.version)
        .bind(&r.event.hash)
        .bind(state_json(a))
        .bind(&r.tenant_id)
        .bind(&a.id)
        .bind(r.expected_version)
        .bind(to_ts(a.due_at))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
        if updated == 0 {
            tx.rollback().await.map_err(db_err)?;
            return Err(StoreError::VersionConflict);
        }
        insert_event(&mut tx, &r.tenant_id, &r.event).await?;
        if let Some(d) = &r.delivery {
            update_channel_delivery(&mut *tx, d).await?;
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
        insert_jobs(&mut tx, &r.jobs).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(())
    }

    async fn get(&self, tenant_id: &str, id: &str) -> Result<Option<StoredApproval>, StoreError> {
        let row = sqlx::query(
            "SELECT state, last_event_hash FROM approvals WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        let Some(row) = row else { return Ok(None) };
        let Json(state): Json<Value> = row.try_get("state").map_err(db_err)?;
        Ok(Some(StoredApproval {
            tenant_id: tenant_id.to_owned(),
            approval: decode_approval(state)?,
            last_event_hash: row.try_get("last_event_hash").map_err(db_err)?,
        }))
    }

    async fn idempotency_key(
        &self,
        tenant_id: &str,
        key: &str,
    ) -> Result<Option<(IdempotencyClaim, String)>, StoreError> {
        let row = sqlx::query(
            "SELECT request_hash, approval_id FROM idempotency_keys WHERE tenant_id = $1 AND key = $2",
        )
        .bind(tenant_id)
        .bind(key)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.map(|row| {
            Ok((
                IdempotencyClaim {
                    key: key.to_owned(),
                    request_hash: row.try_get("request_hash").map_err(db_err)?,
                },
                row.try_get("approval_id").map_err(db_err)?,
            ))
        })
        .transpose()
    }

    async fn list(&self, tenant_id: &str, q: &ListQuery) -> Result<Vec<Approval>, StoreError> {
        let mut qb = QueryBuilder::<Db>::new("SELECT state FROM approvals WHERE tenant_id = ");
        qb.push_bind(tenant_id.to_owned());
        if let Some(s) = q.status {
            qb.push(" AND status = ").push_bind(s.as_str());
        }
        if let Some(agent) = &q.agent_id {
            qb.push(" AND agent_id = ").push_bind(agent.clone());
        }
        if let Some(t) = &q.action_type {
            qb.push(" AND action_type = ").push_bind(t.clone());
        }
        if let Some((at, id)) = &q.after {
            qb.push(" AND (created_at < ")
                .push_bind(to_ts(*at))
                .push(" OR (created_at = ")
                .push_bind(to_ts(*at))
                .push(" AND id < ")
                .push_bind(id.clone())
                .push("))");
        }
        qb.push(" ORDER BY created_at DESC, id DESC LIMIT ")
            .push_bind(i64::from(q.limit));
        let rows = qb.build().fetch_all(&self.pool).await.map_err(db_err)?;
        rows.into_iter()
            .map(|row| {
                let Json(state): Json<Value> = row.try_get("state").map_err(db_err)?;
                decode_approval(state)
            })
            .collect()
    }

    async fn events(&self, tenant_id: &str, approval_id: &str) -> Result<Vec<Event>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {EVENT_COLUMNS} FROM approval_events \
             WHERE tenant_id = $1 AND approval_id = $2 ORDER BY seq"
        ))
        .bind(tenant_id)
        .bind(approval_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(decode_event).collect()
    }

    async fn feed(
        &self,
        tenant_id: &str,
        after: i64,
        up_to: i64,
        limit: u32,
    ) -> Result<Vec<(i64, Event)>, StoreError> {
        let rows = sqlx::query(&format!(
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
        rows.iter()
            .map(|row| Ok((row.try_get("feed_seq").map_err(db_err)?, decode_event(row)?)))
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
        before: chrono::DateTime<chrono::Utc>,
        limit: u32,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT tenant_id, id FROM approvals WHERE status = 'PENDING' AND expires_at <= $1 \
             ORDER BY expires_at LIMIT $2",
        )
        .bind(to_ts(before))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.into_iter()
            .map(|r| Ok((r.try_get("tenant_id").map_err(db_err)?, r.try_get("id").map_err(db_err)?)))
            .collect()
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }
}

const JOB_COLUMNS: &str =
    "id, tenant_id, kind, approval_id, payload, run_at, attempts, max_attempts, status, last_error";

fn decode_job(row: <Db as sqlx::Database>::Row) -> Result<Job, StoreError> {
    let status: String = row.try_get("status").map_err(db_err)?;
    let Json(payload): Json<Value> = row.try_get("payload").map_err(db_err)?;
    Ok(Job {
        id: row.try_get("id").map_err(db_err)?,
        tenant_id: row.try_get("tenant_id").map_err(db_err)?,
        kind: row.try_get("kind").map_err(db_err)?,
        approval_id: row.try_get("approval_id").map_err(db_err)?,
        payload,
        run_at: from_ts(row.try_get("run_at").map_err(db_err)?),
        attempts: row.try_get("attempts").map_err(db_err)?,
        max_attempts: row.try_get("max_attempts").map_err(db_err)?,
        status: JobStatus::parse(&status).ok_or_else(|| corrupt("job status", &status))?,
        last_error: row.try_get("last_error").map_err(db_err)?,
    })
}

#[async_trait]
impl JobQueue for Store {
    async fn enqueue(&self, jobs: Vec<NewJob>) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        insert_jobs(&mut tx, &jobs).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn claim_lane(
        &self,
        owner: &str,
        now: chrono::DateTime<chrono::Utc>,
        lease: std::time::Duration,
        limit: u32,
        lane: Lane,
    ) -> Result<Vec<Job>, StoreError> {
        let lease = chrono::Duration::from_std(lease).map_err(|e| corrupt("lease", e))?;
        // A job is claimable when due and not under a live lease; an expired lease is a
        // crashed or stuck worker, and its job goes to the next claimant.
        let sql = format!(
            "UPDATE jobs SET lease_owner = $1, lease_until = $2, attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM jobs WHERE status = 'pending' AND run_at <= $3 \
             AND (lease_until IS NULL OR lease_until < $3) {lane} ORDER BY run_at, id LIMIT $4 {CLAIM_LOCK}) \
             RETURNING {JOB_COLUMNS}",
            lane = lane_filter(lane)
        );
        let rows = sqlx::query(&sql)
            .bind(owner)
            .bind(to_ts(now + lease))
            .bind(to_ts(now))
            .bind(i64::from(limit))
            .fetch_all(&self.writer)
            .await
            .map_err(db_err)?;
        let mut jobs: Vec<Job> = rows.into_iter().map(decode_job).collect::<Result<_, _>>()?;
        // RETURNING does not keep the subquery's order. Ids sort by creation, so a
        // request's jobs due at the same instant run in the order they were written.
        jobs.sort_by(|a, b| (a.run_at, &a.id).cmp(&(b.run_at, &b.id)));
        Ok(jobs)
    }

    async fn complete(&self, job_id: &str, owner: &str) -> Result<bool, StoreError> {
        let n = sqlx::query(
            "UPDATE jobs SET status = 'done', lease_owner = NULL, lease_until = NULL \
             WHERE id = $1 AND lease_owner = $2 AND status = 'pending'",
        )
        .bind(job_id)
        .bind(owner)
        .execute(&self.writer)
        .await
        .map_err(db_err)?
        .rows_affected();
        Ok(n == 1)
    }

    async fn retry(
        &self,
        job_id: &str,
        owner: &str,
        run_at: chrono::DateTime<chrono::Utc>,
        error: &str,
    ) -> Result<bool, StoreError> {
        let n = sqlx::query(
            "UPDATE jobs SET status = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'pending' END, \
             run_at = $3, lease_owner = NULL, lease_until = NULL, last_error = $4 \
             WHERE id = $1 AND lease_owner = $2 AND status = 'pending'",
        )
        .bind(job_id)
        .bind(owner)
        .bind(to_ts(run_at))
        .bind(error)
        .execute(&self.writer)
        .await
        .map_err(db_err)?
        .rows_affected();
        Ok(n == 1)
    }

    async fn bury(&self, job_id: &str, owner: &str, error: &str) -> Result<bool, StoreError> {
        let n = sqlx::query(
            "UPDATE jobs SET status = 'dead', lease_owner = NULL, lease_until = NULL, last_error = $3 \
             WHERE id = $1 AND lease_owner = $2 AND status = 'pending'",
        )
        .bind(job_id)
        .bind(owner)
        .bind(error)
        .execute(&self.writer)
        .await
        .map_err(db_err)?
        .rows_affected();
        Ok(n == 1)
    }

    async fn next_due_in(&self, lane: Lane) -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT MIN(CASE WHEN lease_until IS NOT NULL AND lease_until > run_at \
             THEN lease_until ELSE run_at END) AS due FROM jobs WHERE status = 'pending' {}",
            lane_filter(lane)
        ))
        .fetch_one(&self.pool)
        .await
        .map_err(db_err)?;
        let due: Option<Ts> = row.try_get("due").map_err(db_err)?;
        Ok(due.map(from_ts))
    }

    async fn get_job(&self, job_id: &str) -> Result<Option<Job>, StoreError> {
        let row = sqlx::query(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1"))
            .bind(job_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.map(decode_job).transpose()
    }
}

#[async_trait]
impl TenantStore for Store {
    async fn create_tenant(&self, t: &Tenant) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3)")
            .bind(&t.id)
            .bind(&t.name)
            .bind(to_ts(t.created_at))
            .execute(&self.writer)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn get_tenant(&self, id: &str) -> Result<Option<Tenant>, StoreError> {
        let row = sqlx::query("SELECT id, name, created_at FROM tenants WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.map(|row| {
            Ok(Tenant {
                id: row.try_get("id").map_err(db_err)?,
                name: row.try_get("name").map_err(db_err)?,
                created_at: from_ts(row.try_get("created_at").map_err(db_err)?),
            })
        })
        .transpose()
    }

    async fn create_api_key(&self, k: &ApiKey) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO api_keys (id, tenant_id, name, prefix, key_hash, created_at, revoked_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&k.id)
        .bind(&k.tenant_id)
        .bind(&k.name)
        .bind(&k.prefix)
        .bind(&k.key_hash)
        .bind(to_ts(k.created_at))
        .bind(k.revoked_at.map(to_ts))
        .execute(&self.writer)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn find_api_key(&self, key_hash: &str) -> Result<Option<ApiKey>, StoreError> {
        sqlx::query(&format!(
            "SELECT {API_KEY_COLUMNS} FROM api_keys WHERE key_hash = $1"
        ))
        .bind(key_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?
        .as_ref()
        .map(decode_api_key)
        .transpose()
    }

    async fn api_keys(&self, tenant_id: &str) -> Result<Vec<ApiKey>, StoreError> {
        sqlx::query(&format!(
            "SELECT {API_KEY_COLUMNS} FROM api_keys WHERE tenant_id = $1 ORDER BY created_at, id"
        ))
        .bind(tenant_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?
        .iter()
        .map(decode_api_key)
        .collect()
    }

    async fn revoke_api_key(
        &self,
        tenant_id: &str,
        id: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE api_keys SET revoked_at = $1 \
             WHERE tenant_id = $2 AND id = $3 AND revoked_at IS NULL",
        )
        .bind(to_ts(at))
        .bind(tenant_id)
        .bind(id)
        .execute(&self.writer)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn count_api_keys(&self, tenant_id: &str) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM api_keys WHERE tenant_id = $1 AND revoked_at IS NULL",
        )
        .bind(tenant_id)
        .fetch_one(&self.pool)
        .await
        .map_err(db_err)?;
        row.try_get("n").map_err(db_err)
    }
}
