use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{NewJob, StoreError};
use crate::domain::Channel;
use crate::domain::delivery::Purpose;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelDeliveryStatus {
    /// Not sent yet, or waiting for another attempt.
    Pending,
    /// The provider accepted it.
    Sent,
    /// The provider reported it arrived (SES delivery notification).
    Delivered,
    /// Out of attempts, refused, bounced or complained about.
    Failed,
    /// Not sent: the request was answered before its turn came.
    Cancelled,
}

impl ChannelDeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Pending,
            Self::Sent,
            Self::Delivered,
            Self::Failed,
            Self::Cancelled,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

/// One message to one approver on one channel.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelDelivery {
    pub tenant_id: String,
    pub id: String,
    pub approval_id: String,
    /// The event that asked for this message.
    pub event_seq: i64,
    pub purpose: Purpose,
    /// The ladder level whose approvers this message is for: its links decide only there.
    pub level: u32,
    pub channel: Channel,
    pub recipient: String,
    /// The approver's identity (its `id`, else its recipient).
    pub approver: String,
    pub status: ChannelDeliveryStatus,
    pub attempts: i32,
    pub max_attempts: i32,
    pub next_retry_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    /// Where the Slack message is, to update it once the request is answered.
    pub slack_channel: Option<String>,
    pub slack_ts: Option<String>,
    /// The SES or SNS message id.
    pub message_id: Option<String>,
    /// The short code of the message's approval link (`/s/{code}`).
    pub link_code: String,
    /// When its link decided; a used link decides nothing more.
    pub link_used_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

#[async_trait]
pub trait ChannelDeliveryStore: Send + Sync {
    /// Adds each delivery that does not exist yet, with its job, in one transaction; one
    /// already there (a plan run twice) is left as it is.
    async fn add_channel_deliveries(
        &self,
        deliveries: Vec<(ChannelDelivery, NewJob)>,
    ) -> Result<(), StoreError>;
    async fn channel_delivery(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<Option<ChannelDelivery>, StoreError>;
    /// A request's deliveries, oldest first.
    async fn channel_deliveries(
        &self,
        tenant_id: &str,
        approval_id: &str,
    ) -> Result<Vec<ChannelDelivery>, StoreError>;
    async fn channel_delivery_by_code(
        &self,
        code: &str,
    ) -> Result<Option<ChannelDelivery>, StoreError>;
    async fn channel_delivery_by_message(
        &self,
        message_id: &str,
    ) -> Result<Option<ChannelDelivery>, StoreError>;
    /// Saves its attempts, retry time and error (a failure that will be retried).
    async fn save_channel_delivery(&self, d: &ChannelDelivery) -> Result<(), StoreError>;
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
