use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{NewJob, StoreError};
use crate::domain::webhook::Secret;
use crate::domain::{Attempt, Endpoint, WebhookDelivery};

#[async_trait]
pub trait WebhookStore: Send + Sync {
    async fn insert_endpoint(&self, e: &Endpoint) -> Result<(), StoreError>;
    /// `false` if it does not exist.
    async fn update_endpoint(&self, e: &Endpoint) -> Result<bool, StoreError>;
    /// Starts the endpoint's run of failures at `now`, unless one is under way.
    async fn endpoint_failing(
        &self,
        tenant_id: &str,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Ends its run of failures.
    async fn endpoint_succeeding(&self, tenant_id: &str, id: &str) -> Result<(), StoreError>;
    /// Disables the endpoint if it is active and has failed since `cutoff` or earlier;
    /// `true` if it did.
    async fn disable_failing_endpoint(
        &self,
        tenant_id: &str,
        id: &str,
        cutoff: DateTime<Utc>,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    async fn delete_endpoint(&self, tenant_id: &str, id: &str) -> Result<bool, StoreError>;
    async fn endpoint(&self, tenant_id: &str, id: &str) -> Result<Option<Endpoint>, StoreError>;
    /// Oldest first.
    async fn endpoints(&self, tenant_id: &str) -> Result<Vec<Endpoint>, StoreError>;

    async fn callback_secret(&self, tenant_id: &str) -> Result<Option<Secret>, StoreError>;
    async fn set_callback_secret(&self, tenant_id: &str, secret: &Secret)
    -> Result<(), StoreError>;

    /// Adds each delivery that does not exist yet, with its send job, in one
    /// transaction; one already there (a fan-out run twice) is left as it is.
    async fn add_deliveries(
        &self,
        deliveries: Vec<(WebhookDelivery, NewJob)>,
    ) -> Result<(), StoreError>;
    async fn delivery(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<Option<WebhookDelivery>, StoreError>;
    /// An endpoint's deliveries, newest first, optionally only those created at or
    /// after `since`.
    async fn deliveries(
        &self,
        tenant_id: &str,
        endpoint_id: &str,
        since: Option<DateTime<Utc>>,
        limit: u32,
    ) -> Result<Vec<WebhookDelivery>, StoreError>;
    async fn attempts(
        &self,
        tenant_id: &str,
        delivery_id: &str,
    ) -> Result<Vec<Attempt>, StoreError>;
    /// Records an attempt and the delivery's state after it.
    async fn record_attempt(&self, d: &WebhookDelivery, a: &Attempt) -> Result<(), StoreError>;
    /// Sets deliveries pending again, each with its new send job, in one transaction.
    async fn redeliver(
        &self,
        tenant_id: &str,
        jobs: Vec<(String, NewJob)>,
    ) -> Result<(), StoreError>;
}

/// What a receiver answered.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: u16,
    /// The `Retry-After` header as sent.
    pub retry_after: Option<String>,
    /// The first `Post::max_body` bytes of the body, as text.
    pub excerpt: String,
    /// The response's headers (names in lower case), in order.
    pub headers: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SendFailure {
    /// The address is not allowed (SSRF guard): retrying cannot help.
    #[error("address not allowed: {0}")]
    Refused(String),
    /// No answer: DNS, connection, TLS, timeout.
    #[error("{0}")]
    Failed(String),
}

/// One call to a receiver (a POST, but for workflow `http` steps): redirects are not
/// followed; addresses are checked when the connection is made, so a DNS answer cannot
/// be swapped after the check.
#[derive(Debug, Clone)]
pub struct Post {
    /// `POST`, `GET`, `PUT`, `PATCH` or `DELETE`.
    pub method: &'static str,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub timeout: Duration,
    /// How much of the answer's body to keep.
    pub max_body: usize,
}

#[async_trait]
pub trait WebhookSender: Send + Sync {
    /// Whether `url` may be sent to at all (its host resolves to allowed addresses).
    async fn check(&self, url: &url::Url) -> Result<(), SendFailure>;
    /// Sends; the latency is measured whatever the outcome.
    async fn post(&self, post: Post) -> (Duration, Result<Answer, SendFailure>);
}
