//! Planning: the messages an event calls for, one per approver per channel, each with
//! the job that sends it; and the updates of Slack messages that no longer decide.

use rand::Rng;
use sha2::{Digest, Sha256};

use super::{MAX_ATTEMPTS, Messages};
use crate::app::{AppError, Caller};
use crate::domain::policy::identity;
use crate::domain::{
    Approval, Change, Channel, Event, EventRef, Message, MessageStatus, Status, Task, message,
};
use crate::ports::{MailboxMessage, NewJob, StoreError};

impl Messages<'_> {
    /// A request's messages, oldest first.
    pub async fn of(&self, caller: &Caller, approval_id: &str) -> Result<Vec<Message>, AppError> {
        self.approvals().read(caller, approval_id).await?;
        Ok(self
            .stores
            .messages
            .messages(&caller.tenant_id, approval_id)
            .await?)
    }

    /// The dev mailbox's messages of the caller's tenant. Its links answer for any
    /// approver, so only agents and admins (who play every approver locally) read it.
    pub fn mailbox(&self, caller: &Caller) -> Result<Vec<MailboxMessage>, AppError> {
        caller.require_agent_side("read the dev mailbox")?;
        let mailbox = self
            .channels
            .mailbox
            .as_ref()
            .ok_or(AppError::NotFound("dev mailbox"))?;
        Ok(mailbox.messages(&caller.tenant_id))
    }

    /// Runs a plan: the event's messages, or, for an outcome, the Slack updates.
    pub(crate) async fn plan(&self, p: &EventRef) -> Result<usize, AppError> {
        let event = self
            .stores
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
        let outdated = |d: &Message| {
            d.slack_ts.is_some()
                && (after.status != Status::Pending
                    || (matches!(change, Change::Escalated(_)) && d.level < after.level))
        };
        let updates: Vec<NewJob> = self
            .stores
            .messages
            .messages(&p.tenant_id, &p.approval_id)
            .await?
            .iter()
            .filter(|d| outdated(d))
            .map(|d| self.job(d, Task::UpdateMessage(d.delivery_ref())))
            .collect();
        self.stores.jobs.enqueue(updates).await?;
        let wanted = message::recipients(&change, &after);
        if wanted.is_empty() {
            return Ok(0);
        }
        let now = self.clock.now();
        let rows: Vec<(Message, NewJob)> = wanted
            .into_iter()
            .map(|(approver, purpose)| {
                let d = Message {
                    tenant_id: p.tenant_id.clone(),
                    id: delivery_id(&event, approver.channel, &approver.recipient),
                    approval_id: p.approval_id.clone(),
                    event_seq: event.seq,
                    purpose,
                    level: after.level,
                    channel: approver.channel,
                    recipient: approver.recipient.clone(),
                    approver: identity(&approver).to_owned(),
                    status: MessageStatus::Pending,
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
                let job = self.job(&d, Task::SendMessage(d.delivery_ref()));
                (d, job)
            })
            .collect();
        let n = rows.len();
        self.stores.messages.add_messages(rows).await?;
        // Wakes the workers that send.
        self.approvals().announce(&p.tenant_id, &after, true);
        Ok(n)
    }
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
