//! The outbox: one item per job (`JOB#id`, `type` = `job`, which the stream's filter
//! picks out on AWS), claimed under a lease by a conditional update.
//!
//! While pending, a job is on `gsi1` in its lane's partition (`DUE#main`, `DUE#sends`)
//! by when it is next due: its run time, or the end of its lease while leased. On
//! `gsi2` it is under its request's timers while pending and unclaimed, under its lease
//! owner while leased (for `renew`), and under its tenant's buried jobs once dead. The
//! indexes only find candidates: every change is conditional on the item itself.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::ReturnValue;
use chrono::{DateTime, Utc};

use super::item::{self, Expr, Got, Item, Put, at_then, key, up_to};
use super::{DynamoStore, MAX_ITEMS, Refused, Write, conditional, corrupt, db_err};
use crate::domain::{Lane, TaskKind};
use crate::ports::{Job, JobQueue, JobStatus, NewJob, StoreError};

/// How long a finished (done or cancelled) job is kept before TTL removes it.
const FINISHED_DAYS: i64 = 7;
const BURIED_ON_EXPIRY: &str =
    "its last attempt never finished (the worker crashed, panicked or hung)";

pub(super) fn job_key(id: &str) -> Item {
    item::pk(key(&["JOB", id]), "JOB")
}

/// The `gsi2` partition of a request's pending, unclaimed jobs.
pub(super) fn timers_pk(tenant_id: &str, approval_id: &str) -> String {
    key(&["TIMERS", tenant_id, approval_id])
}

fn buried_pk(tenant_id: &str) -> String {
    key(&["BURIED", tenant_id])
}

fn lease_pk(owner: &str) -> String {
    key(&["LEASE", owner])
}

/// The lane a stored kind runs in; unknown kinds go to the main lane, to be buried.
fn lane_of(kind: &str) -> Lane {
    TaskKind::parse(kind).map_or(Lane::Main, TaskKind::lane)
}

fn due_pk(lane: Lane) -> String {
    match lane {
        Lane::Sends => "DUE#sends".into(),
        Lane::Steps => "DUE#steps".into(),
        Lane::Main | Lane::All => "DUE#main".into(),
    }
}

fn lanes(lane: Lane) -> Vec<Lane> {
    match lane {
        Lane::All => vec![Lane::Main, Lane::Sends, Lane::Steps],
        one => vec![one],
    }
}

/// The update that ends a job as `status` (done, cancelled): off the indexes, kept a
/// while.
pub(super) fn finished(status: &str) -> Expr {
    let mut e = Expr::default();
    e.set("status", item::s(status))
        .set(
            "ttl",
            item::epoch(Utc::now() + chrono::Duration::days(FINISHED_DAYS)),
        )
        .remove("lease_owner")
        .remove("lease_until");
    for attr in ["gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk"] {
        e.remove(attr);
    }
    e
}

/// The update that buries a job at `at` with `error`.
fn buried(job: &Job, at: DateTime<Utc>, error: &str) -> Expr {
    let mut e = Expr::default();
    e.set("status", item::s(JobStatus::Dead.as_str()))
        .set("run_at", item::s(item::ts(at)))
        .set("last_error", item::s(error))
        .set("gsi2pk", item::s(buried_pk(&job.tenant_id)))
        .set("gsi2sk", item::s(at_then(at, &job.id)))
        .remove("lease_owner")
        .remove("lease_until")
        .remove("gsi1pk")
        .remove("gsi1sk");
    e
}

fn job_item(j: &NewJob) -> Item {
    let kind = j.task.kind();
    let mut put = Put::new(key(&["JOB", &j.id]), "JOB", "job")
        .s("id", &j.id)
        .s("tenant_id", &j.tenant_id)
        .s("kind", kind.as_str())
        .opt_s("approval_id", j.approval_id.as_deref())
        .s("payload", j.task.payload().to_string())
        .ts("run_at", j.run_at)
        .n("attempts", 0)
        .n("max_attempts", j.max_attempts)
        .s("status", JobStatus::Pending.as_str())
        .s("gsi1pk", due_pk(kind.lane()))
        .s("gsi1sk", at_then(j.run_at, &j.id));
    if let Some(a) = &j.approval_id {
        put = put
            .s("gsi2pk", timers_pk(&j.tenant_id, a))
            .s("gsi2sk", key(&[kind.as_str(), &j.id]));
    }
    put.item()
}

fn job(i: &Item) -> Result<Job, StoreError> {
    let g = Got(i);
    let status = g.s("status")?;
    Ok(Job {
        id: g.s("id")?,
        tenant_id: g.s("tenant_id")?,
        kind: g.s("kind")?,
        approval_id: g.opt_s("approval_id")?,
        payload: serde_json::from_str(&g.s("payload")?).map_err(|e| corrupt("job payload", e))?,
        run_at: g.ts("run_at")?,
        attempts: g.i32("attempts")?,
        max_attempts: g.i32("max_attempts")?,
        status: JobStatus::parse(&status).ok_or_else(|| corrupt("job status", &status))?,
        last_error: g.opt_s("last_error")?,
    })
}

impl DynamoStore {
    /// Writes that add jobs within a transaction; one whose id is already there
    /// (written by a step that ran twice) is left as it is.
    pub(super) fn job_writes(&self, jobs: &[NewJob]) -> Vec<Write> {
        jobs.iter()
            .map(|j| Write::new(self.put_new_write(job_item(j)), Refused::Skip))
            .collect()
    }

    /// Claims or buries, in order, the candidates of `lane` due by `now`, until `limit`
    /// are claimed.
    async fn claim_in(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: usize,
        lane: Lane,
    ) -> Result<Vec<Job>, StoreError> {
        let q = self
            .index("gsi1", due_pk(lane), Some("< :now"))
            .expression_attribute_values(":now", item::s(up_to(now)))
            .limit(i32::try_from(limit.max(25)).unwrap_or(100));
        let mut claimed = Vec::new();
        let mut start = None;
        loop {
            let page = q
                .clone()
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(db_err)?;
            for candidate in page.items.unwrap_or_default() {
                if let Some(j) = self.claim_one(&candidate, owner, now, until).await? {
                    claimed.push(j);
                    if claimed.len() == limit {
                        return Ok(claimed);
                    }
                }
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(claimed);
            }
        }
    }

    /// Leases one candidate to `owner`, or buries it if its lease ran out on its last
    /// attempt; `None` if it is not claimable (any more).
    async fn claim_one(
        &self,
        candidate: &Item,
        owner: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Option<Job>, StoreError> {
        let g = Got(candidate);
        let seen = job(candidate)?;
        let lease = g.opt_s("lease_until")?;
        let now_text = item::ts(now);
        if seen.status != JobStatus::Pending || seen.run_at > now {
            return Ok(None);
        }
        if seen.attempts >= seen.max_attempts {
            // An expired lease on the last attempt: a worker that died holding it.
            let Some(lease) = lease.filter(|l| *l < now_text) else {
                return Ok(None);
            };
            let mut e = buried(&seen, now, BURIED_ON_EXPIRY);
            let condition = format!(
                "{} AND {}",
                e.eq("status", item::s("pending")),
                e.eq("lease_until", item::s(lease))
            );
            self.update(job_key(&seen.id), &e, &condition).await?;
            return Ok(None);
        }
        self.lease(&seen, owner, now, until).await
    }

    /// Leases `seen` to `owner` until `until` if it is still as seen (pending, at the same
    /// run time and attempt) and not under a live lease at `now`.
    async fn lease(
        &self,
        seen: &Job,
        owner: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Option<Job>, StoreError> {
        let mut e = Expr::default();
        e.set("lease_owner", item::s(owner))
            .set("lease_until", item::s(item::ts(until)))
            .set("attempts", item::n(seen.attempts + 1))
            .set("gsi1sk", item::s(at_then(until, &seen.id)))
            .set("gsi2pk", item::s(lease_pk(owner)))
            .set("gsi2sk", item::s(key(&[&seen.id])));
        let now_value = e.value(item::s(item::ts(now)));
        let condition = format!(
            "{} AND {} AND {} AND ({} OR #lease_until < {now_value})",
            e.eq("status", item::s("pending")),
            e.eq("attempts", item::n(seen.attempts)),
            e.eq("run_at", item::s(item::ts(seen.run_at))),
            e.missing("lease_until"),
        );
        let sent = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(job_key(&seen.id)))
            .update_expression(e.update())
            .condition_expression(condition)
            .set_expression_attribute_names(e.names())
            .set_expression_attribute_values(e.values())
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match sent {
            Ok(out) => Ok(Some(job(&out.attributes.unwrap_or_default())?)),
            Err(e) => {
                conditional(Err::<(), _>(e))?;
                Ok(None)
            }
        }
    }

    /// A job as its lease holder sees it: `None` unless `owner` holds it and it is pending.
    async fn held(&self, job_id: &str, owner: &str) -> Result<Option<Job>, StoreError> {
        let Some(i) = self.get_item(job_key(job_id)).await? else {
            return Ok(None);
        };
        let held = Got(&i).opt_s("lease_owner")?.as_deref() == Some(owner);
        let j = job(&i)?;
        Ok((held && j.status == JobStatus::Pending).then_some(j))
    }

    /// Changes a job `owner` holds as `e` says; `false` if it no longer does.
    async fn settle(&self, job_id: &str, owner: &str, mut e: Expr) -> Result<bool, StoreError> {
        let condition = format!(
            "{} AND {}",
            e.eq("lease_owner", item::s(owner)),
            e.eq("status", item::s("pending"))
        );
        self.update(job_key(job_id), &e, &condition).await
    }
}

#[async_trait]
impl JobQueue for DynamoStore {
    /// In transactions of up to 100 jobs.
    async fn enqueue(&self, jobs: Vec<NewJob>) -> Result<(), StoreError> {
        for chunk in jobs.chunks(100) {
            self.transact(self.job_writes(chunk)).await?;
        }
        Ok(())
    }

    /// A lane after the other when `lane` is `All`.
    async fn claim_lane(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease: std::time::Duration,
        limit: u32,
        lane: Lane,
    ) -> Result<Vec<Job>, StoreError> {
        let until = now + chrono::Duration::from_std(lease).map_err(|e| corrupt("lease", e))?;
        let mut jobs = Vec::new();
        for one in lanes(lane) {
            let left = limit as usize - jobs.len();
            if left == 0 {
                break;
            }
            jobs.extend(self.claim_in(owner, now, until, left, one).await?);
        }
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
        self.lease(&seen, owner, now, seen.run_at.max(now) + lease)
            .await
    }

    async fn renew(&self, owner: &str, until: DateTime<Utc>) -> Result<u64, StoreError> {
        let q = self.index("gsi2", lease_pk(owner), None);
        let mut renewed = 0;
        for i in self.query_all(q, MAX_ITEMS).await? {
            let j = job(&i)?;
            let mut e = Expr::default();
            e.set("lease_until", item::s(item::ts(until)))
                .set("gsi1sk", item::s(at_then(until.max(j.run_at), &j.id)));
            if self.settle(&j.id, owner, e).await? {
                renewed += 1;
            }
        }
        Ok(renewed)
    }

    async fn buried(&self, tenant_id: &str, limit: u32) -> Result<Vec<Job>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let q = self
            .index("gsi2", buried_pk(tenant_id), None)
            .scan_index_forward(false)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX));
        self.query_all(q, limit as usize)
            .await?
            .iter()
            .map(job)
            .collect()
    }

    async fn complete(&self, job_id: &str, owner: &str) -> Result<bool, StoreError> {
        self.settle(job_id, owner, finished(JobStatus::Done.as_str()))
            .await
    }

    async fn retry(
        &self,
        job_id: &str,
        owner: &str,
        run_at: DateTime<Utc>,
        error: &str,
    ) -> Result<bool, StoreError> {
        let Some(j) = self.held(job_id, owner).await? else {
            return Ok(false);
        };
        if j.attempts >= j.max_attempts {
            return self.settle(job_id, owner, buried(&j, run_at, error)).await;
        }
        let mut e = Expr::default();
        e.set("run_at", item::s(item::ts(run_at)))
            .set("last_error", item::s(error))
            .set("gsi1pk", item::s(due_pk(lane_of(&j.kind))))
            .set("gsi1sk", item::s(at_then(run_at, &j.id)))
            .remove("lease_owner")
            .remove("lease_until");
        match &j.approval_id {
            Some(a) => e
                .set("gsi2pk", item::s(timers_pk(&j.tenant_id, a)))
                .set("gsi2sk", item::s(key(&[&j.kind, &j.id]))),
            None => e.remove("gsi2pk").remove("gsi2sk"),
        };
        self.settle(job_id, owner, e).await
    }

    async fn bury(&self, job_id: &str, owner: &str, error: &str) -> Result<bool, StoreError> {
        let Some(j) = self.held(job_id, owner).await? else {
            return Ok(false);
        };
        self.settle(job_id, owner, buried(&j, j.run_at, error))
            .await
    }

    async fn next_due_in(&self, lane: Lane) -> Result<Option<DateTime<Utc>>, StoreError> {
        let mut next: Option<DateTime<Utc>> = None;
        for one in lanes(lane) {
            let page = self
                .index("gsi1", due_pk(one), None)
                .limit(1)
                .send()
                .await
                .map_err(db_err)?;
            if let Some(i) = page.items.unwrap_or_default().first() {
                let sk = Got(i).s("gsi1sk")?;
                let (at, _) = sk.split_once('#').ok_or_else(|| corrupt("gsi1sk", &sk))?;
                let at = DateTime::parse_from_rfc3339(at)
                    .map_err(|e| corrupt("gsi1sk", e))?
                    .with_timezone(&Utc);
                next = Some(next.map_or(at, |n| n.min(at)));
            }
        }
        Ok(next)
    }

    async fn get_job(&self, job_id: &str) -> Result<Option<Job>, StoreError> {
        self.get_item(job_key(job_id))
            .await?
            .as_ref()
            .map(job)
            .transpose()
    }
}
