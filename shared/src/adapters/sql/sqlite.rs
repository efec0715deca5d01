//! SQLite: one file, WAL mode; timestamps as integer microseconds since the epoch so
//! they compare and sort as numbers; JSON as text.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::dialect::{Dialect, SqlStore};
use super::{corrupt, db_err};
use crate::ports::StoreError;

#[derive(Debug, Clone, Copy)]
pub struct SqliteDialect;

impl Dialect for SqliteDialect {
    type Db = sqlx::Sqlite;
    type Ts = i64;

    /// SQLite has one writer at a time, so a claim's UPDATE already excludes other claims.
    const CLAIM_LOCK: &'static str = "";

    fn to_ts(t: DateTime<Utc>) -> Self::Ts {
        t.timestamp_micros()
    }

    fn from_ts(t: Self::Ts) -> DateTime<Utc> {
        DateTime::from_timestamp_micros(t).unwrap_or_default()
    }
}

impl SqlStore<SqliteDialect> {
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(db_err)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            // Writers queue for the lock instead of failing; every write transaction
            // starts with its write, so waiting cannot deadlock.
            .busy_timeout(Duration::from_secs(10));
        if let Some(dir) = options.get_filename().parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir)
                .map_err(|e| corrupt("cannot create the database folder", e))?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(max_connections)
            .connect_with(options.clone())
            .await
            .map_err(db_err)?;
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .map_err(db_err)?;
        Ok(Self { pool, writer })
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::migrate!("../infra/migrations/sqlite")
            .run(&self.writer)
            .await
            .map_err(|e| StoreError::Database(Box::new(e)))
    }
}
