//! Sending: one attempt at one message, recorded with its event in one transaction;
//! retries on the messages' schedule; provider reports; Slack updates.

use super::render::{self, ButtonValue};
use super::{Messages, actor};
use crate::app::AppError;
use crate::domain::message::{DeliveryFailed, Sent};
use crate::domain::retry::Backoff;
use crate::domain::{
    Approval, Change, Channel, DeliveryRef, Message, MessageStatus, Outcome, Status, message,
};
use crate::ports::{ChannelError, Email, Posted, Sms};

fn seconds(s: u64) -> chrono::Duration {
    chrono::Duration::seconds(i64::try_from(s).unwrap_or(3600))
}

impl Messages<'_> {
    /// One attempt at one message: sent and recorded, retried later, or failed.
    pub(crate) async fn send(&self, j: &DeliveryRef) -> Result<Outcome, AppError> {
        let Some(mut d) = self
            .stores
            .messages
            .message(&j.tenant_id, &j.delivery_id)
            .await?
        else {
            return Ok(Outcome::Done);
        };
        if d.status != MessageStatus::Pending {
            return Ok(Outcome::Done);
        }
        let a = self.approvals().get(&d.tenant_id, &d.approval_id).await?;
        if a.status != Status::Pending || a.level != d.level {
            d.status = MessageStatus::Cancelled;
            d.next_retry_at = None;
            d.last_error = Some(format!(
                "not sent: the request was {} before its turn came",
                if a.status == Status::Pending {
                    "escalated".to_owned()
                } else {
                    a.status.as_str().to_lowercase()
                }
            ));
            self.stores.messages.save_message(&d).await?;
            return Ok(Outcome::Done);
        }
        let now = self.clock.now();
        // A tenant's messages an hour are capped, so one request (or one runaway agent)
        // cannot send thousands of texts; a message past the cap waits, untried.
        let cap = self.limits.messages;
        let verdict = self.limiter.take(&cap, &d.tenant_id, now).await?;
        if !verdict.allowed {
            let at = now + seconds(verdict.reset_seconds);
            let why = format!(
                "the tenant's cap of {} messages an hour is reached",
                cap.limit
            );
            d.next_retry_at = Some(at);
            d.last_error = Some(why.clone());
            self.stores.messages.save_message(&d).await?;
            return Ok(Outcome::RetryAt(at, why));
        }
        d.attempts += 1;
        match self.deliver(&d, &a).await {
            Ok(landed) => {
                d.status = MessageStatus::Sent;
                d.sent_at = Some(now);
                d.next_retry_at = None;
                d.last_error = None;
                let message_id = match landed {
                    Landed::Slack(p) => {
                        d.slack_channel = Some(p.channel);
                        d.slack_ts = Some(p.ts.clone());
                        p.ts
                    }
                    Landed::Provider(id) => {
                        d.message_id = Some(id.clone());
                        id
                    }
                };
                if let Some(mailbox) = &self.channels.mailbox {
                    mailbox.assign(&message_id, &d.tenant_id);
                }
                let change = message::sent(
                    d.channel,
                    Sent {
                        delivery_id: d.id.clone(),
                        recipient: d.recipient.clone(),
                        approver: d.approver.clone(),
                        purpose: d.purpose,
                        message_id: Some(message_id),
                    },
                );
                self.record_delivery(&d, change).await?;
                Ok(Outcome::Done)
            }
            Err(ChannelError::Refused(why)) => {
                self.fail_delivery(d, why).await?;
                Ok(Outcome::Done)
            }
            Err(e) if d.attempts >= d.max_attempts => {
                let why = format!("{e} (after {} attempts)", d.attempts);
                self.fail_delivery(d, why).await?;
                Ok(Outcome::Done)
            }
            Err(e) => {
                let at = match &e {
                    ChannelError::Throttled {
                        retry_after_seconds,
                        ..
                    } => now + seconds(*retry_after_seconds),
                    _ => Backoff::MESSAGES.after(d.attempts, now, rand::random()),
                };
                d.next_retry_at = Some(at);
                d.last_error = Some(e.to_string());
                self.stores.messages.save_message(&d).await?;
                Ok(Outcome::RetryAt(at, e.to_string()))
            }
        }
    }

    async fn deliver(&self, d: &Message, a: &Approval) -> Result<Landed, ChannelError> {
        let missing = |c: Channel| {
            ChannelError::Refused(format!("the {} channel is not configured", c.as_str()))
        };
        if matches!(d.channel, Channel::Email | Channel::Sms) && self.channels.public_url.is_empty()
        {
            return Err(ChannelError::Refused(
                "GREENLIGHT_PUBLIC_URL is not set where messages are made, so links cannot be"
                    .into(),
            ));
        }
        match d.channel {
            Channel::Slack => {
                let slack = self.channels.slack.as_ref().ok_or(missing(d.channel))?;
                let value = ButtonValue {
                    tenant_id: d.tenant_id.clone(),
                    approval_id: d.approval_id.clone(),
                    delivery_id: d.id.clone(),
                };
                let (text, blocks) = render::slack_request(a, d.purpose, &value);
                Ok(Landed::Slack(
                    slack.post_message(&d.recipient, &text, &blocks).await?,
                ))
            }
            Channel::Email => {
                let email = self.channels.email.as_ref().ok_or(missing(d.channel))?;
                let link = format!("{}/a/{}", self.channels.public_url, self.link_token(d, a));
                let parts = render::email(a, d.purpose, &link);
                let accepted = email
                    .send_email(&Email {
                        to: d.recipient.clone(),
                        subject: parts.subject,
                        html: parts.html,
                        text: parts.text,
                    })
                    .await?;
                Ok(Landed::Provider(accepted.message_id))
            }
            Channel::Sms => {
                let sms = self.channels.sms.as_ref().ok_or(missing(d.channel))?;
                let link = format!("{}/s/{}", self.channels.public_url, d.link_code);
                let accepted = sms
                    .send_sms(&Sms {
                        to: d.recipient.clone(),
                        text: render::sms(a, d.purpose, &link),
                    })
                    .await?;
                Ok(Landed::Provider(accepted.message_id))
            }
            Channel::Web => Err(ChannelError::Refused(
                "the dashboard shows requests; it sends nothing".into(),
            )),
        }
    }

    /// Records a delivery's new state with the event saying so, in one transaction.
    async fn record_delivery(&self, d: &Message, change: Change) -> Result<(), AppError> {
        self.approvals()
            .commit(
                &d.tenant_id,
                &d.approval_id,
                &actor(),
                Some(d.clone()),
                |_, _| Ok(change.clone()),
            )
            .await
            .map(|_| ())
    }

    async fn fail_delivery(&self, mut d: Message, error: String) -> Result<(), AppError> {
        tracing::warn!(delivery = %d.id, channel = d.channel.as_str(), %error, "a message to an approver failed");
        d.status = MessageStatus::Failed;
        d.next_retry_at = None;
        d.last_error = Some(error.clone());
        let change = Change::DeliveryFailed(DeliveryFailed {
            delivery_id: d.id.clone(),
            channel: d.channel,
            recipient: d.recipient.clone(),
            error,
        });
        self.record_delivery(&d, change).await
    }

    /// Updates one Slack message to the request's state now (its outcome, no buttons).
    pub(crate) async fn update_slack(&self, j: &DeliveryRef) -> Result<Outcome, AppError> {
        let d = self
            .stores
            .messages
            .message(&j.tenant_id, &j.delivery_id)
            .await?
            .ok_or(AppError::NotFound("message"))?;
        let (Some(channel), Some(ts)) = (d.slack_channel.clone(), d.slack_ts.clone()) else {
            return Ok(Outcome::Done);
        };
        let a = self.approvals().get(&d.tenant_id, &d.approval_id).await?;
        let Some(slack) = self.channels.slack.as_ref() else {
            return Ok(Outcome::Permanent(
                "the slack channel is not configured".into(),
            ));
        };
        let (text, blocks) = render::slack_outcome(&a);
        Ok(
            match slack
                .update_message(&Posted { channel, ts }, &text, &blocks)
                .await
            {
                Ok(()) => Outcome::Done,
                Err(ChannelError::Refused(why)) => Outcome::Permanent(why),
                Err(ChannelError::Throttled {
                    retry_after_seconds,
                    reason,
                }) => Outcome::RetryAt(self.clock.now() + seconds(retry_after_seconds), reason),
                Err(e) => Outcome::Retry(e.to_string()),
            },
        )
    }

    /// A provider's report on a message it accepted (SES bounce, complaint, delivery).
    pub async fn provider_report(
        &self,
        message_id: &str,
        report: ProviderReport,
    ) -> Result<bool, AppError> {
        let Some(mut d) = self
            .stores
            .messages
            .message_by_provider_id(message_id)
            .await?
        else {
            return Ok(false);
        };
        match report {
            ProviderReport::Delivered => {
                if d.status == MessageStatus::Sent {
                    d.status = MessageStatus::Delivered;
                    self.stores.messages.save_message(&d).await?;
                }
            }
            ProviderReport::Failed(why) => {
                if d.status != MessageStatus::Failed {
                    self.fail_delivery(d, why).await?;
                }
            }
        }
        Ok(true)
    }
}

/// What a provider says became of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderReport {
    Delivered,
    /// Bounced or complained about: why.
    Failed(String),
}

/// Where a sent message is.
enum Landed {
    Slack(Posted),
    Provider(String),
}
