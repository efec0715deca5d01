//! Telling approvers: who gets a message when, and the events that record each message
//! sent or lost. Recording them never changes what the request is, only its history.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::approval::{Approval, Approver};
use super::event::Change;
use super::values::Channel;

/// Why a message goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Purpose {
    /// The request reached this approver (created, or escalated to their level).
    Request,
    /// A reminder to an approver who has not answered.
    Reminder,
}

text_enum!(Purpose {
    Request = "request",
    Reminder = "reminder",
});

text_enum!(Channel {
    Slack = "slack",
    Email = "email",
    Sms = "sms",
    Web = "web",
});

impl Channel {
    /// Whether a message is sent on this channel (the dashboard shows, it does not send).
    pub fn sends(self) -> bool {
        self != Channel::Web
    }
}

/// One message that went out: `approval.sent.<channel>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sent {
    pub delivery_id: String,
    pub recipient: String,
    /// The approver's identity (its `id`, else its recipient).
    pub approver: String,
    pub purpose: Purpose,
    /// What the provider calls it: the Slack `ts`, the SES or SNS message id.
    pub message_id: Option<String>,
}

/// One message that will not arrive: `delivery.failed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryFailed {
    pub delivery_id: String,
    pub channel: Channel,
    pub recipient: String,
    pub error: String,
}

/// The event recording that `sent` went out on `channel`.
pub fn sent(channel: Channel, sent: Sent) -> Change {
    match channel {
        Channel::Slack => Change::SentSlack(sent),
        Channel::Sms => Change::SentSms(sent),
        Channel::Email | Channel::Web => Change::SentEmail(sent),
    }
}

/// Who is told what after `change` turned the request into `after`: everyone of the
/// level that now has it, on creation and escalation; who has not answered, on a
/// reminder. Dashboard approvers see the request without a message.
pub fn recipients(change: &Change, after: &Approval) -> Vec<(Approver, Purpose)> {
    let (list, purpose) = match change {
        Change::Created(_) | Change::Escalated(_) => {
            (after.current_approvers().to_vec(), Purpose::Request)
        }
        Change::ReminderSent(r) => (r.recipients.clone(), Purpose::Reminder),
        _ => return Vec::new(),
    };
    list.into_iter()
        .filter(|a| a.channel.sends())
        .map(|a| (a, purpose))
        .collect()
}

/// Whether `change` is the request's outcome, after which its messages say so.
pub fn ends_asking(before: Option<&Approval>, after: &Approval) -> bool {
    before.is_some_and(|b| b.status == super::Status::Pending)
        && after.status != super::Status::Pending
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageStatus {
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

text_enum!(MessageStatus {
    Pending = "pending",
    Sent = "sent",
    Delivered = "delivered",
    Failed = "failed",
    Cancelled = "cancelled",
});

/// One message to one approver on one channel.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
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
    pub status: MessageStatus,
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

impl Message {
    pub fn delivery_ref(&self) -> super::DeliveryRef {
        super::DeliveryRef {
            tenant_id: self.tenant_id.clone(),
            delivery_id: self.id.clone(),
        }
    }
}
