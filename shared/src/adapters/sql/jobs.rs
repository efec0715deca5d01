//! The outbox: follow-up work written with the change that needs it, claimed by
//! workers under a lease.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use sqlx::{ColumnIndex, Encode, Executor, Type};

use super::dialect::{Column, Conn, Dialect, Row, RowsAffected, SqlStore};
use super::{corrupt, db_err};
use crate::domain::Lane;
use crate::ports::{Job, JobQueue, JobStatus, NewJob, StoreError};

const JOB_COLUMNS: &str =
    "id, tenant_id, kind, approval_id, payload, run_at, attempts, max_attempts, status, last_error";

#[derive(sqlx::FromRow)]
struct JobRow<D: Dialect> {
    id: String,
    tenant_id: String,
    kind: String,
    approval_id: Option<String>,
    #[sqlx(json)]
    payload: Value,
    run_at: D::Ts,
    attempts: i32,
    max_attempts: i32,
    status: String,
    last_error: Option<String>,
}

impl<D: Dialect> TryFrom<JobRow<D>> for Job {
    type Error = StoreError;

    fn try_from(r: JobRow<D>) -> Result<Self, StoreError> {
        Ok(Job {
            status: JobStatus::parse(&r.status).ok_or_else(|| corrupt("job status", &r.status))?,
            id: r.id,
            tenant_id: r.tenant_id,
            kind: r.kind,
            approval_id: r.approval_id,
            payload: r.payload,
            run_at: D::from_ts(r.run_at),
            attempts: r.attempts,
            max_attempts: r.max_attempts,
            last_error: r.last_error,
        })
    }
}

#[derive(sqlx::FromRow)]
struct Due<D: Dialect> {
    due: Option<D::Ts>,
}

/// The kinds of a lane, as an SQL list (constants, never input).
fn kinds_of(lane: Lane) -> String {
    lane.kinds()
        .iter()
        .map(|k| format!("'{}'", k.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The SQL condition that keeps a lane's jobs.
fn lane_filter(lane: Lane) -> String {
    match lane {
        Lane::All => String::new(),
        // Unknown kinds (rows older than this code) go to the main lane, to be buried.
        Lane::Main => format!(
            "AND kind NOT IN ({}, {})",
            kinds_of(Lane::Sends),
            kinds_of(Lane::Steps)
        ),
        Lane::Sends | Lane::Steps => format!("AND kind IN ({})", kinds_of(lane)),
    }
}

impl<D: Dialect> SqlStore<D>
where
    for<'c> &'c mut Conn<D>: Executor<'c, Database = D::Db>,
    for<'q> &'q str: Encode<'q, D::Db> + Type<D::Db>,
    String: Column<D::Db>,
    Option<String>: Column<D::Db>,
    i32: Column<D::Db>,
    Json<Value>: Column<D::Db>,
{
    /// Inserts jobs within a write; one whose id is already there (written by a step
    /// that ran twice) is left as it is.
    pub(super) async fn insert_jobs(conn: &mut Conn<D>, jobs: &[NewJob]) -> Result<(), StoreError> {
        for j in jobs {
            sqlx::query(
                "INSERT INTO jobs (id, tenant_id, kind, payload, run_at, attempts, max_attempts, \
                 status, approval_id) VALUES ($1, $2, $3, $4, $5, 0, $6, 'pending', $7) \
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(&j.id)
            .bind(&j.tenant_id)
            .bind(j.task.kind().as_str())
            .bind(Json(j.task.payload()))
            .bind(D::to_ts(j.run_at))
            .bind(j.max_attempts)
            .bind(&j.approval_id)
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
        }
        Ok(())
    }
}

#[async_trait]
impl<D: Dialect> JobQueue for SqlStore<D>
where
    for<'c> &'c mut Conn<D>: Executor<'c, Database = D::Db>,
    for<'q> &'q str: Encode<'q, D::Db> + Type<D::Db> + ColumnIndex<Row<D>>,
    String: Column<D::Db>,
    Option<String>: Column<D::Db>,
    i64: Column<D::Db>,
    i32: Column<D::Db>,
    Json<Value>: Column<D::Db>,
{
    async fn enqueue(&self, jobs: Vec<NewJob>) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        Self::insert_jobs(&mut tx, &jobs).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn claim_lane(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease: std::time::Duration,
        limit: u32,
        lane: Lane,
    ) -> Result<Vec<Job>, StoreError> {
        let lease = chrono::Duration::from_std(lease).map_err(|e| corrupt("lease", e))?;
        // An expired lease is a worker that died, panicked or hung holding the job. If
        // that claim was its last attempt, it is buried rather than claimed again, or a
        // job that kills its worker would run forever.
        sqlx::query(&format!(
            "UPDATE jobs SET status = 'dead', run_at = $1, lease_owner = NULL, lease_until = NULL, \
             last_error = 'its last attempt never finished (the worker crashed, panicked or hung)' \
             WHERE status = 'pending' AND attempts >= max_attempts \
             AND lease_until IS NOT NULL AND lease_until < $1 {lane}",
            lane = lane_filter(lane),
        ))
        .bind(D::to_ts(now))
        .execute(&self.writer)
        .await
        .map_err(db_err)?;
        // A job is claimable when due, not under a live lease, and has attempts left.
        let sql = format!(
            "UPDATE jobs SET lease_owner = $1, lease_until = $2, attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM jobs WHERE status = 'pending' AND run_at <= $3 \
             AND (lease_until IS NULL OR lease_until < $3) AND attempts < max_attempts {lane} \
             ORDER BY run_at, id LIMIT $4 {lock}) \
             RETURNING {JOB_COLUMNS}",
            lane = lane_filter(lane),
            lock = D::CLAIM_LOCK,
        );
        let rows: Vec<JobRow<D>> = sqlx::query_as(&sql)
            .bind(owner)
            .bind(D::to_ts(now + lease))
            .bind(D::to_ts(now))
            .bind(i64::from(limit))
            .fetch_all(&self.writer)
            .await
            .map_err(db_err)?;
        let mut jobs = rows
            .into_iter()
            .map(Job::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        // RETURNING does not keep the subquery's order. Ids sort by creation, so a
        // request's jobs due at the same instant run in the order they were written.
        jobs.sort_by(|a, b| (a.run_at, &a.id).cmp(&(b.run_at, &b.id)));
        Ok(jobs)
    }

    async fn claim_job(
        &self,
        job_id: &str,
        owner: &str,
        now: DateTime<Utc>,
        lease: std::time::Duration,
    ) -> Result<Option<Job>, StoreError> {
        let Some(seen) = self.get_job(job_id).await? else {
            return Ok(None);
        };
        if !seen.claimable() {
            return Ok(None);
        }
        let lease = chrono::Duration::from_std(lease).map_err(|e| corrupt("lease", e))?;
        let row: Option<JobRow<D>> = sqlx::query_as(&format!(
            "UPDATE jobs SET lease_owner = $1, lease_until = $2, attempts = attempts + 1 \
             WHERE id = $3 AND status = 'pending' AND attempts = $4 \
             AND (lease_until IS NULL OR lease_until < $5) RETURNING {JOB_COLUMNS}"
        ))
        .bind(owner)
        .bind(D::to_ts(seen.run_at.max(now) + lease))
        .bind(job_id)
        .bind(seen.attempts)
        .bind(D::to_ts(now))
        .fetch_optional(&self.writer)
        .await
        .map_err(db_err)?;
        row.map(Job::try_from).transpose()
    }

    async fn renew(&self, owner: &str, until: DateTime<Utc>) -> Result<u64, StoreError> {
        let n = sqlx::query(
            "UPDATE jobs SET lease_until = $2 WHERE lease_owner = $1 AND status = 'pending'",
        )
        .bind(owner)
        .bind(D::to_ts(until))
        .execute(&self.writer)
        .await
        .map_err(db_err)?
        .rows_affected();
        Ok(n)
    }

    async fn buried(&self, tenant_id: &str, limit: u32) -> Result<Vec<Job>, StoreError> {
        let rows: Vec<JobRow<D>> = sqlx::query_as(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE tenant_id = $1 AND status = 'dead' \
             ORDER BY run_at DESC, id DESC LIMIT $2"
        ))
        .bind(tenant_id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.into_iter().map(Job::try_from).collect()
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
        run_at: DateTime<Utc>,
        error: &str,
    ) -> Result<bool, StoreError> {
        let n = sqlx::query(
            "UPDATE jobs SET status = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'pending' END, \
             run_at = $3, lease_owner = NULL, lease_until = NULL, last_error = $4 \
             WHERE id = $1 AND lease_owner = $2 AND status = 'pending'",
        )
        .bind(job_id)
        .bind(owner)
        .bind(D::to_ts(run_at))
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

    async fn next_due_in(&self, lane: Lane) -> Result<Option<DateTime<Utc>>, StoreError> {
        let row: Due<D> = sqlx::query_as(&format!(
            "SELECT MIN(CASE WHEN lease_until IS NOT NULL AND lease_until > run_at \
             THEN lease_until ELSE run_at END) AS due FROM jobs WHERE status = 'pending' {}",
            lane_filter(lane)
        ))
        .fetch_one(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(row.due.map(D::from_ts))
    }

    async fn get_job(&self, job_id: &str) -> Result<Option<Job>, StoreError> {
        let row: Option<JobRow<D>> =
            sqlx::query_as(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1"))
                .bind(job_id)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?;
        row.map(Job::try_from).transpose()
    }
}
