use async_trait::async_trait;

/// One email to one approver: both an HTML and a plain-text body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub html: String,
    pub text: String,
}

/// One text message to one phone number (E.164).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sms {
    pub to: String,
    pub text: String,
}

/// What the provider calls the message it accepted (SES or SNS message id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub message_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChannelError {
    /// Throttled, a network error, a 5xx: another attempt may go through.
    #[error("the channel is unavailable: {0}")]
    Unavailable(String),
    /// Rate limited: try again after this many seconds.
    #[error("rate limited for {retry_after_seconds} s: {reason}")]
    Throttled {
        retry_after_seconds: u64,
        reason: String,
    },
    /// This message will never go through as it is (an unverified sender, an invalid
    /// number, a rejected address): the delivery fails with this reason.
    #[error("the channel refused the message: {0}")]
    Refused(String),
}

#[async_trait]
pub trait EmailSender: Send + Sync {
    async fn send_email(&self, email: &Email) -> Result<Accepted, ChannelError>;
}

#[async_trait]
pub trait SmsSender: Send + Sync {
    async fn send_sms(&self, sms: &Sms) -> Result<Accepted, ChannelError>;
}

/// A message the local server kept instead of sending it (no accounts configured).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MailboxMessage {
    pub id: String,
    /// `slack`, `email` or `sms`.
    pub channel: String,
    pub recipient: String,
    pub subject: Option<String>,
    pub text: String,
    /// The approval links in the message, in order.
    pub links: Vec<String>,
    /// Set once the message was updated (a Slack message after the outcome).
    pub updated_at: Option<chrono::DateTime<chrono::Utc>>,
    pub sent_at: chrono::DateTime<chrono::Utc>,
}

/// The dev mailbox: what it holds, by tenant. The senders do not know whose message
/// they carry, so the app tells the mailbox once a message landed; until then it is
/// shown to no one.
pub trait Mailbox: Send + Sync {
    /// Marks the message with this provider id (or Slack `ts`) as the tenant's.
    fn assign(&self, message_id: &str, tenant_id: &str);
    /// The tenant's messages, oldest first.
    fn messages(&self, tenant_id: &str) -> Vec<MailboxMessage>;
}
