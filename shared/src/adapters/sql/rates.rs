//! Rate limits shared by every container of a deployment: one counter row per key and
//! fixed window, incremented atomically. A fixed window lets a client spend up to twice
//! its quota across a window's edge; that is the price of one write per call.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{ColumnIndex, Encode, Executor, Type};

use super::db_err;
use super::dialect::{Column, Conn, Dialect, Row, SqlStore};
use crate::domain::{Quota, Verdict};
use crate::ports::{RateLimiter, StoreError};

#[async_trait]
impl<D: Dialect> RateLimiter for SqlStore<D>
where
    for<'c> &'c mut Conn<D>: Executor<'c, Database = D::Db>,
    for<'q> &'q str: Encode<'q, D::Db> + Type<D::Db>,
    String: Column<D::Db>,
    i64: Column<D::Db>,
    usize: ColumnIndex<Row<D>>,
{
    async fn take(
        &self,
        quota: &Quota,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Verdict, StoreError> {
        let (start, _) = quota.window_at(now.timestamp());
        let (count,): (i64,) = sqlx::query_as(
            "INSERT INTO rate_counters (key, window_start, count) VALUES ($1, $2, 1) \
             ON CONFLICT (key, window_start) DO UPDATE SET count = rate_counters.count + 1 \
             RETURNING count",
        )
        .bind(format!("{}:{key}", quota.name))
        .bind(start)
        .fetch_one(&self.writer)
        .await
        .map_err(db_err)?;
        Ok(quota.verdict(count, start, now.timestamp()))
    }

    async fn forget_before(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM rate_counters WHERE window_start < $1")
            .bind(before.timestamp())
            .execute(&self.writer)
            .await
            .map_err(db_err)?;
        Ok(super::dialect::RowsAffected::rows_affected(&done))
    }
}
