use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{NewJob, StoreError};
use crate::domain::Message;

#[async_trait]
pub trait MessageStore: Send + Sync {
    /// Adds each delivery that does not exist yet, with its job, in one transaction; one
    /// already there (a plan run twice) is left as it is.
    async fn add_messages(&self, deliveries: Vec<(Message, NewJob)>) -> Result<(), StoreError>;
    async fn message(&self, tenant_id: &str, id: &str) -> Result<Option<Message>, StoreError>;
    /// A request's deliveries, oldest first.
    async fn messages(
        &self,
        tenant_id: &str,
        approval_id: &str,
    ) -> Result<Vec<Message>, StoreError>;
    async fn message_by_code(&self, code: &str) -> Result<Option<Message>, StoreError>;
    async fn message_by_provider_id(&self, message_id: &str)
    -> Result<Option<Message>, StoreError>;
    /// Saves its attempts, retry time and error (a failure that will be retried).
    async fn save_message(&self, d: &Message) -> Result<(), StoreError>;
    /// Marks its link used at `at`; `false` if it already was.
    async fn use_link(
        &self,
        tenant_id: &str,
        id: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// The deployment's secret named `name`, made from `candidate` the first time.
    async fn secret_or_insert(&self, name: &str, candidate: &str) -> Result<String, StoreError>;
}
