//! PostgreSQL: `TIMESTAMPTZ` timestamps, `JSONB` state, `FOR UPDATE SKIP LOCKED` claims.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use super::db_err;
use super::dialect::{Dialect, SqlStore};
use crate::ports::StoreError;

#[derive(Debug, Clone, Copy)]
pub struct PgDialect;

impl Dialect for PgDialect {
    type Db = sqlx::Postgres;
    type Ts = DateTime<Utc>;

    /// Concurrent workers skip rows another worker is claiming instead of waiting on them.
    const CLAIM_LOCK: &'static str = "FOR UPDATE SKIP LOCKED";

    fn to_ts(t: DateTime<Utc>) -> Self::Ts {
        t
    }

    fn from_ts(t: Self::Ts) -> DateTime<Utc> {
        t
    }
}

impl SqlStore<PgDialect> {
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url).map_err(db_err)?;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(std::time::Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(db_err)?;
        Ok(Self {
            writer: pool.clone(),
            pool,
        })
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::migrate!("../infra/migrations/postgres")
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::Database(Box::new(e)))
    }

    /// `migrate`, leaving alone the migrations applied by a newer build.
    pub async fn migrate_tolerating_newer(&self) -> Result<(), StoreError> {
        let mut migrator = sqlx::migrate!("../infra/migrations/postgres");
        migrator.set_ignore_missing(true);
        migrator
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::Database(Box::new(e)))
    }
}
