use async_trait::async_trait;

use super::StoreError;
use crate::domain::StreamConnection;

#[async_trait]
pub trait ConnectionStore: Send + Sync {
    async fn add_connection(&self, c: &StreamConnection) -> Result<(), StoreError>;
    async fn remove_connection(&self, connection_id: &str) -> Result<(), StoreError>;
    async fn connections(&self, tenant_id: &str) -> Result<Vec<StreamConnection>, StoreError>;
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PushError {
    /// The client went away; forget the connection.
    #[error("the connection is gone")]
    Gone,
    #[error("{0}")]
    Failed(String),
}

/// Sends one message down an open connection (API Gateway's PostToConnection).
#[async_trait]
pub trait Pusher: Send + Sync {
    async fn push(&self, connection_id: &str, data: &str) -> Result<(), PushError>;
}
