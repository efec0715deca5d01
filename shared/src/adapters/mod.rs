//! One module per technology, each implementing ports.

#[cfg(feature = "aws")]
pub mod aws;
pub mod changes;
pub mod chat;
pub mod clock;
pub mod dev_mailbox;
#[cfg(feature = "dynamodb")]
pub mod dynamodb;
pub mod http_sender;
pub mod ids;
pub mod rate_memory;
#[cfg(feature = "dynamodb")]
pub mod sdk;
pub mod slack_api;
pub mod sql;

use crate::app::Stores;
use crate::ports::StoreError;

/// Opens the store `url` names: `dynamodb://TABLE…` (with the `dynamodb` feature), else
/// a SQL database (`sqlite:`, `postgres://`). Either way its schema is made or brought
/// up to date first.
pub async fn connect(url: &str, max_connections: u32) -> Result<Stores, StoreError> {
    if url.starts_with(DYNAMODB_SCHEME) {
        #[cfg(feature = "dynamodb")]
        return dynamodb::connect(url).await;
        #[cfg(not(feature = "dynamodb"))]
        return Err(StoreError::Database(
            "this build has no DynamoDB store (build with the `dynamodb` feature)".into(),
        ));
    }
    sql::connect(url, max_connections).await
}

/// The DynamoDB store's URL scheme, known to every build so that one without the store
/// can say so.
pub const DYNAMODB_SCHEME: &str = "dynamodb://";
