//! PostgreSQL: `TIMESTAMPTZ` timestamps, `JSONB` state, `FOR UPDATE SKIP LOCKED` claims.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::ports::StoreError;

type Db = sqlx::Postgres;
type Ts = DateTime<Utc>;

fn to_ts(t: DateTime<Utc>) -> Ts {
    t
}

fn from_ts(t: Ts) -> DateTime<Utc> {
    t
}

/// Concurrent workers skip rows another worker is claiming instead of waiting on them.
const CLAIM_LOCK: &str = "FOR UPDATE SKIP LOCKED";

impl Store {
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
}

include!("store_body.rs");
include!("webhooks_body.rs");
include!("connections_body.rs");
include!("deliveries_body.rs");
include!("users_body.rs");
