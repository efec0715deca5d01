//! Messages to approvers. The events that call for them (creation, escalation, a
//! reminder) write a plan job; the plan makes one delivery per approver per channel,
//! each sent by its own job with retries, and each send or loss is recorded as an event
//! in the same transaction as the delivery's new state. Once the request is answered,
//! every Slack message of it is updated to say how, and its buttons are gone.

pub mod links;
pub mod messages;
pub mod slack;

use chrono::{DateTime, Utc};
use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::jobs::backoff;
use super::{App, AppError, Caller};
use crate::domain::delivery::{self, DeliveryFailed, Sent};
use crate::domain::link::{self, LinkGrant};
use crate::domain::policy::identity;
use crate::domain::{Actor, Approval, Change, Channel, Event, Source, Status};
use crate::ports::{
    ChannelDelivery, ChannelDeliveryStatus, ChannelError, DELIVERY_SEND_KIND, DELIVERY_UPDATE_KIND,
    Email, IdKind, NewJob, Posted, Sms, StoreError,
};
use messages::ButtonValue;

/// Plans the messages an event calls for.
pub const PLAN: &str = "delivery.plan";

/// Every job kind of messages to approvers: on AWS they have a queue and a function
/// of their own.
pub const DELIVERY_KINDS: &[&str] = &[PLAN, DELIVERY_SEND_KIND, DELIVERY_UPDATE_KIND];

/// Attempts per message before it is failed.
pub const MAX_ATTEMPTS: i32 = 8;

/// The payload of a `delivery.plan` job: the event to plan from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub tenant_id: String,
    pub approval_id: String,
    pub seq: i64,
}

/// The payload of `delivery.send` and `delivery.update` jobs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryJob {
    pub tenant_id: String,
    pub delivery_id: String,
}

/// How one attempt at a message ended.
#[derive(Debug, Clone, PartialEq)]
pub enum SendOutcome {
    Settled,
    RetryAt(DateTime<Utc>, String),
}

fn job(
    app: &App,
    tenant_id: &str,
    approval_id: &str,
    kind: &str,
    payload: serde_json::Value,
) -> NewJob {
    NewJob {
        id: app.ids.next(IdKind::Job),
        tenant_id: tenant_id.to_owned(),
        kind: kind.to_owned(),
        approval_id: Some(approval_id.to_owned()),
        payload,
        run_at: app.clock.now(),
        max_attempts: 20,
    }
}

fn delivery_job(app: &App, d: &ChannelDelivery, kind: &str) -> NewJob {
    let payload = serde_json::to_value(DeliveryJob {
        tenant_id: d.tenant_id.clone(),
        delivery_id: d.id.clone(),
    })
    .expect("payloads serialize");
    job(app, &d.tenant_id, &d.approval_id, kind, payload)
}

/// The message work a change writes with itself: a plan when the change calls for
/// messages or ends the asking; and, when a Slack message is recorded as sent after
/// its request was answered, that message's update.
pub(super) fn follow_up(
    app: &App,
    tenant_id: &str,
    change: &Change,
    before: Option<&Approval>,
    after: &Approval,
    recorded: Option<&ChannelDelivery>,
) -> Vec<NewJob> {
    let mut jobs = Vec::new();
    let updates_slack = (delivery::ends_asking(before, after)
        || matches!(change, Change::Escalated(_)))
        && has_slack_approvers(after);
    if !delivery::recipients(change, after).is_empty() || updates_slack {
        let plan = Plan {
            tenant_id: tenant_id.to_owned(),
            approval_id: after.id.clone(),
            seq: after.version,
        };
        jobs.push(job(
            app,
            tenant_id,
            &after.id,
            PLAN,
            serde_json::to_value(plan).expect("payloads serialize"),
        ));
    }
    if let Some(d) = recorded
        && d.slack_ts.is_some()
        && after.status != Status::Pending
    {
        jobs.push(delivery_job(app, d, DELIVERY_UPDATE_KIND));
    }
    jobs
}

fn has_slack_approvers(a: &Approval) -> bool {
    std::iter::once(&a.spec.approvers)
        .chain(a.spec.escalation.iter().map(|l| &l.approvers))
        .flatten()
        .any(|ap| ap.channel == Channel::Slack)
}

/// A delivery's id: the same for the same event, approver and channel, so a plan run
/// twice makes each message once.
fn delivery_id(event: &Event, channel: Channel, recipient: &str) -> String {
    let digest = Sha256::digest(format!("{}\n{}\n{recipient}", event.id, channel.as_str()));
    format!("dlv_{}", &hex::encode(digest)[..24])
}

/// The short code of an SMS link: 10 characters of [A-Za-z0-9], about 59 bits.
fn link_code() -> String {
    rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(10)
        .map(char::from)
        .collect()
}

fn actor() -> Actor {
    Actor {
        id: "system:delivery".into(),
        source: Source::System,
    }
}

impl App {
    /// Which channels a request's approvers (on every level) need: those not configured
    /// are named.
    pub(super) fn check_channels(&self, a: &Approval) -> Result<(), AppError> {
        let lists = std::iter::once(("/approvers".to_owned(), &a.spec.approvers)).chain(
            a.spec
                .escalation
                .iter()
                .enumerate()
                .map(|(i, l)| (format!("/escalation/{i}/approvers"), &l.approvers)),
        );
        let mut errors = Vec::new();
        for (at, list) in lists {
            for (i, approver) in list.iter().enumerate() {
                let configured = match approver.channel {
                    Channel::Slack => self.channels.slack.is_some(),
                    Channel::Email => self.channels.email.is_some(),
                    Channel::Sms => self.channels.sms.is_some(),
                    Channel::Web => true,
                };
                if !configured {
                    errors.push(crate::domain::FieldError::new(
                        format!("{at}/{i}/channel"),
                        format!(
                            "the {} channel is not configured on this Greenlight",
                            approver.channel.as_str()
                        ),
                    ));
                }
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(AppError::Invalid(errors))
        }
    }

    /// A request's messages, oldest first.
    pub async fn deliveries_of(
        &self,
        caller: &Caller,
        approval_id: &str,
    ) -> Result<Vec<ChannelDelivery>, AppError> {
        self.get_approval(&caller.tenant_id, approval_id).await?;
        Ok(self
            .deliveries
            .channel_deliveries(&caller.tenant_id, approval_id)
            .await?)
    }

    /// Runs a plan: the event's messages, or, for an outcome, the Slack updates.
    pub(super) async fn plan_deliveries(&self, p: &Plan) -> Result<usize, AppError> {
        let event = self
            .approvals
            .events(&p.tenant_id, &p.approval_id)
            .await?
            .into_iter()
            .find(|e| e.seq == p.seq)
            .ok_or(AppError::NotFound("event"))?;
        let after: Approval = serde_json::from_value(event.snapshot.clone())
            .map_err(|e| StoreError::Corrupt(format!("event snapshot: {e}")))?;
        let change = event
            .change()
            .map_err(|e| StoreError::Corrupt(format!("event {}: {e}", event.seq)))?;
        // The Slack messages that no longer decide: all of them once the request is
        // answered, those of the levels below after an escalation.
        let outdated = |d: &ChannelDelivery| {
            d.slack_ts.is_some()
                && (after.status != Status::Pending
                    || (matches!(change, Change::Escalated(_)) && d.level < after.level))
        };
        let updates: Vec<NewJob> = self
            .deliveries
            .channel_deliveries(&p.tenant_id, &p.approval_id)
            .await?
            .iter()
            .filter(|d| outdated(d))
            .map(|d| delivery_job(self, d, DELIVERY_UPDATE_KIND))
            .collect();
        self.jobs.enqueue(updates).await?;
        let wanted = delivery::recipients(&change, &after);
        if wanted.is_empty() {
            return Ok(0);
        }
        let now = self.clock.now();
        let rows: Vec<(ChannelDelivery, NewJob)> = wanted
            .into_iter()
            .map(|(approver, purpose)| {
                let d = ChannelDelivery {
                    tenant_id: p.tenant_id.clone(),
                    id: delivery_id(&event, approver.channel, &approver.recipient),
                    approval_id: p.approval_id.clone(),
                    event_seq: event.seq,
                    purpose,
                    level: after.level,
                    channel: approver.channel,
                    recipient: approver.recipient.clone(),
                    approver: identity(&approver).to_owned(),
                    status: ChannelDeliveryStatus::Pending,
                    attempts: 0,
                    max_attempts: MAX_ATTEMPTS,
                    next_retry_at: Some(now),
                    last_error: None,
                    slack_channel: None,
                    slack_ts: None,
                    message_id: None,
                    link_code: link_code(),
                    link_used_at: None,
                    created_at: now,
                    sent_at: None,
                };
                let job = delivery_job(self, &d, DELIVERY_SEND_KIND);
                (d, job)
            })
            .collect();
        let n = rows.len();
        self.deliveries.add_channel_deliveries(rows).await?;
        // Wakes the workers that send.
        self.announce(&p.tenant_id, &after, true);
        Ok(n)
    }

    /// The signed link of a delivery, valid until its level's deadline.
    pub(super) fn link_token(&self, d: &ChannelDelivery, a: &Approval) -> String {
        link::issue(
            &self.channels.link_secret,
            &LinkGrant {
                tenant_id: d.tenant_id.clone(),
                approval_id: d.approval_id.clone(),
                approver: d.approver.clone(),
                channel: d.channel,
                level: d.level,
                expires_at: a.due_at,
                nonce: d.id.clone(),
            },
        )
    }

    /// One attempt at one message: sent and recorded, retried later, or failed.
    pub(super) async fn send_delivery(&self, j: &DeliveryJob) -> Result<SendOutcome, AppError> {
        let Some(mut d) = self
            .deliveries
            .channel_delivery(&j.tenant_id, &j.delivery_id)
            .await?
        else {
            return Ok(SendOutcome::Settled);
        };
        if d.status != ChannelDeliveryStatus::Pending {
            return Ok(SendOutcome::Settled);
        }
        let a = self
            .approvals
            .get(&d.tenant_id, &d.approval_id)
            .await?
            .ok_or(AppError::NotFound("approval"))?
            .approval;
        if a.status != Status::Pending || a.level != d.level {
            d.status = ChannelDeliveryStatus::Cancelled;
            d.next_retry_at = None;
            d.last_error = Some(format!(
                "not sent: the request was {} before its turn came",
                if a.status == Status::Pending {
                    "escalated".to_owned()
                } else {
                    a.status.as_str().to_lowercase()
                }
            ));
            self.deliveries.save_channel_delivery(&d).await?;
            return Ok(SendOutcome::Settled);
        }
        let now = self.clock.now();
        d.attempts += 1;
        match self.deliver(&d, &a).await {
            Ok(landed) => {
                d.status = ChannelDeliveryStatus::Sent;
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
                let change = delivery::sent(
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
                Ok(SendOutcome::Settled)
            }
            Err(ChannelError::Refused(why)) => {
                self.fail_delivery(d, why).await?;
                Ok(SendOutcome::Settled)
            }
            Err(e) if d.attempts >= d.max_attempts => {
                let why = format!("{e} (after {} attempts)", d.attempts);
                self.fail_delivery(d, why).await?;
                Ok(SendOutcome::Settled)
            }
            Err(e) => {
                let wait = match &e {
                    ChannelError::Throttled {
                        retry_after_seconds,
                        ..
                    } => std::time::Duration::from_secs(*retry_after_seconds),
                    _ => backoff(&retry_policy(), d.attempts),
                };
                let at =
                    now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::hours(1));
                d.next_retry_at = Some(at);
                d.last_error = Some(e.to_string());
                self.deliveries.save_channel_delivery(&d).await?;
                Ok(SendOutcome::RetryAt(at, e.to_string()))
            }
        }
    }

    async fn deliver(&self, d: &ChannelDelivery, a: &Approval) -> Result<Landed, ChannelError> {
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
                let (text, blocks) = messages::slack_request(a, d.purpose, &value);
                Ok(Landed::Slack(
                    slack.post_message(&d.recipient, &text, &blocks).await?,
                ))
            }
            Channel::Email => {
                let email = self.channels.email.as_ref().ok_or(missing(d.channel))?;
                let link = format!("{}/a/{}", self.channels.public_url, self.link_token(d, a));
                let parts = messages::email(a, d.purpose, &link);
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
                        text: messages::sms(a, d.purpose, &link),
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
    async fn record_delivery(&self, d: &ChannelDelivery, change: Change) -> Result<(), AppError> {
        self.commit(
            &d.tenant_id,
            &d.approval_id,
            &actor(),
            Some(d.clone()),
            |_, _| Ok(change.clone()),
        )
        .await
        .map(|_| ())
    }

    async fn fail_delivery(&self, mut d: ChannelDelivery, error: String) -> Result<(), AppError> {
        tracing::warn!(delivery = %d.id, channel = d.channel.as_str(), %error, "a message to an approver failed");
        d.status = ChannelDeliveryStatus::Failed;
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
    pub(super) async fn update_slack_message(&self, j: &DeliveryJob) -> Result<(), UpdateError> {
        let d = self
            .deliveries
            .channel_delivery(&j.tenant_id, &j.delivery_id)
            .await?
            .ok_or(AppError::NotFound("delivery"))?;
        let (Some(channel), Some(ts)) = (d.slack_channel.clone(), d.slack_ts.clone()) else {
            return Ok(());
        };
        let a = self
            .approvals
            .get(&d.tenant_id, &d.approval_id)
            .await?
            .ok_or(AppError::NotFound("approval"))?
            .approval;
        let slack =
            self.channels.slack.as_ref().ok_or_else(|| {
                ChannelError::Refused("the slack channel is not configured".into())
            })?;
        let (text, blocks) = messages::slack_outcome(&a);
        slack
            .update_message(&Posted { channel, ts }, &text, &blocks)
            .await?;
        Ok(())
    }

    /// A provider's report on a message it accepted (SES bounce, complaint, delivery).
    pub async fn delivery_reported(
        &self,
        message_id: &str,
        report: ProviderReport,
    ) -> Result<bool, AppError> {
        let Some(mut d) = self
            .deliveries
            .channel_delivery_by_message(message_id)
            .await?
        else {
            return Ok(false);
        };
        match report {
            ProviderReport::Delivered => {
                if d.status == ChannelDeliveryStatus::Sent {
                    d.status = ChannelDeliveryStatus::Delivered;
                    self.deliveries.save_channel_delivery(&d).await?;
                }
            }
            ProviderReport::Failed(why) => {
                if d.status != ChannelDeliveryStatus::Failed {
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

/// Why a Slack update did not happen.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error(transparent)]
    App(#[from] AppError),
    #[error(transparent)]
    Channel(#[from] ChannelError),
}

impl From<StoreError> for UpdateError {
    fn from(e: StoreError) -> Self {
        UpdateError::App(e.into())
    }
}

/// Retries of one message: 2 s doubling to at most 5 min, with jitter; the eighth
/// attempt comes about 8 minutes after the first.
fn retry_policy() -> super::jobs::RunnerConfig {
    super::jobs::RunnerConfig {
        min_backoff: std::time::Duration::from_secs(2),
        max_backoff: std::time::Duration::from_secs(300),
        ..Default::default()
    }
}
