//! What differs between the two SQL backends, as a type the store is generic over.

use chrono::{DateTime, Utc};
use sqlx::{Database, Decode, Encode, IntoArguments, Type};

use super::Stores;

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::super::postgres::PgDialect {}
    impl Sealed for super::super::sqlite::SqliteDialect {}
}

/// A SQL backend: its sqlx database, how it stores a timestamp, and how a claim locks
/// rows. The SQL text is otherwise the same on both.
///
/// The bounds generic code needs of the database's own associated types are stated
/// here, as associated-type bounds, because Rust implies those wherever `D: Dialect`
/// is. Bounds on other types (`String: Encode<D::Db>`, `&mut Connection: Executor`)
/// are never implied by a trait (rust-lang/rust#20671), so each generic impl states
/// them itself; see [`Column`].
pub trait Dialect: sealed::Sealed + Send + Sync + 'static {
    type Db: for<'q> Database<
            Arguments<'q>: IntoArguments<'q, Self::Db> + Default,
            QueryResult: RowsAffected,
        >;

    /// The type of a timestamp column.
    type Ts: Copy
        + Send
        + Sync
        + Unpin
        + 'static
        + Type<Self::Db>
        + for<'q> Encode<'q, Self::Db>
        + for<'r> Decode<'r, Self::Db>;

    /// What makes concurrent claims of jobs exclude each other.
    const CLAIM_LOCK: &'static str;

    fn to_ts(t: DateTime<Utc>) -> Self::Ts;

    fn from_ts(t: Self::Ts) -> DateTime<Utc>;
}

/// What a write reports; each backend's result type has this as an inherent method.
pub trait RowsAffected {
    fn rows_affected(&self) -> u64;
}

impl RowsAffected for sqlx::postgres::PgQueryResult {
    fn rows_affected(&self) -> u64 {
        self.rows_affected()
    }
}

impl RowsAffected for sqlx::sqlite::SqliteQueryResult {
    fn rows_affected(&self) -> u64 {
        self.rows_affected()
    }
}

/// A Rust type the store writes to and reads from columns of `DB`.
///
/// One bound per value type in a generic impl's where-clause, which elaborates to the
/// three sqlx bounds it stands for (supertraits are implied; other bounds are not).
pub trait Column<DB: Database>:
    Type<DB> + for<'q> Encode<'q, DB> + for<'r> Decode<'r, DB> + Send + Sync
{
}

impl<DB: Database, T> Column<DB> for T where
    T: Type<DB> + for<'q> Encode<'q, DB> + for<'r> Decode<'r, DB> + Send + Sync
{
}

/// A connection of the dialect's database: what a transaction's queries run on.
pub type Conn<D> = <<D as Dialect>::Db as Database>::Connection;

/// A row of the dialect's database.
pub type Row<D> = <<D as Dialect>::Db as Database>::Row;

/// Every store port on one database.
#[derive(Debug, Clone)]
pub struct SqlStore<D: Dialect> {
    pub(super) pool: sqlx::Pool<D::Db>,
    /// Where write transactions run: the same pool on PostgreSQL; on SQLite a pool of
    /// one connection, so writers queue in order instead of polling SQLite's lock.
    pub(super) writer: sqlx::Pool<D::Db>,
}

impl<D: Dialect> SqlStore<D>
where
    Self: crate::ports::ApprovalStore
        + crate::ports::JobQueue
        + crate::ports::TenantStore
        + crate::ports::WebhookStore
        + crate::ports::ConnectionStore
        + crate::ports::MessageStore
        + crate::ports::UserStore
        + crate::ports::RateLimiter
        + crate::ports::WorkflowStore,
{
    pub fn into_stores(self) -> Stores {
        Stores::all_in(self)
    }
}
