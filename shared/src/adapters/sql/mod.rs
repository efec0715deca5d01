//! SQL stores through sqlx: PostgreSQL (Aurora in AWS) and SQLite (the embedded default).
//!
//! Both backends share one implementation, generic over [`Dialect`]: the SQL is the
//! same but for row locking and timestamp columns, and writing it twice would let the
//! two drift apart. One module per aggregate; rows decode into `FromRow` structs that
//! convert into the port records.

mod approvals;
mod connections;
mod dialect;
mod jobs;
mod messages;
pub mod postgres;
mod rates;
pub mod sqlite;
mod tenants;
mod users;
mod webhooks;
mod workflows;

pub use dialect::{Dialect, SqlStore};

pub use crate::app::Stores;
use crate::ports::StoreError;

/// Connects to `url` (`postgres://…` or `sqlite://…`) and applies pending migrations.
pub async fn connect(url: &str, max_connections: u32) -> Result<Stores, StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let store = SqlStore::<postgres::PgDialect>::connect(url, max_connections).await?;
        store.migrate().await?;
        Ok(store.into_stores())
    } else if url.starts_with("sqlite:") {
        let store = SqlStore::<sqlite::SqliteDialect>::connect(url, max_connections).await?;
        store.migrate().await?;
        Ok(store.into_stores())
    } else {
        Err(StoreError::Database(
            format!("unsupported database URL scheme in {url:?}: use postgres:// or sqlite://")
                .into(),
        ))
    }
}

fn db_err(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(d) = &e
        && d.is_unique_violation()
    {
        return StoreError::Duplicate(d.message().to_owned());
    }
    StoreError::Database(Box::new(e))
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}
