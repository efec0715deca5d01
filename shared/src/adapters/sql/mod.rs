//! SQL stores through sqlx: PostgreSQL (Aurora in AWS) and SQLite (the embedded default).
//!
//! Both backends share one implementation, `store_body.rs`, compiled once per backend
//! with that backend's database type and timestamp column type in scope. The SQL is
//! the same but for row locking; writing it twice would let the two drift apart.

pub mod postgres;
pub mod sqlite;

pub use crate::app::Stores;
use crate::ports::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// Connects to `url` (`postgres://…` or `sqlite://…`) and applies pending migrations.
pub async fn connect(url: &str, max_connections: u32) -> Result<Stores, StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let store = postgres::Store::connect(url, max_connections).await?;
        store.migrate().await?;
        Ok(store.into_stores())
    } else if url.starts_with("sqlite:") {
        let store = sqlite::Store::connect(url, max_connections).await?;
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
