//! The local server's dev mailbox: with no Slack workspace or AWS account configured,
//! every message is kept here instead of sent, with its working links, and shown at
//! `GET /v1/dev/mailbox`, so one person can play every approver: each tenant sees only
//! its own messages. Kept in memory: a restart empties it.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::Value;

use crate::ports::{
    Accepted, ChannelError, Clock, Email, EmailSender, Mailbox, MailboxMessage, Posted, SlackApi,
    Sms, SmsSender,
};

/// Messages kept at most; the oldest go first.
const KEPT: usize = 1000;

pub struct DevMailbox {
    clock: Arc<dyn Clock>,
    /// Each message with the tenant it was for, once the app said so.
    messages: Mutex<Vec<(Option<String>, MailboxMessage)>>,
    next: Mutex<u64>,
}

impl DevMailbox {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            messages: Mutex::new(Vec::new()),
            next: Mutex::new(0),
        }
    }

    fn keep(&self, channel: &str, recipient: &str, subject: Option<&str>, text: &str) -> String {
        let n = {
            let mut next = self.next.lock().expect("mailbox counter");
            *next += 1;
            *next
        };
        let id = format!("{channel}-{n}");
        let message = MailboxMessage {
            id: id.clone(),
            channel: channel.to_owned(),
            recipient: recipient.to_owned(),
            subject: subject.map(str::to_owned),
            text: text.to_owned(),
            links: links_in(text),
            updated_at: None,
            sent_at: self.clock.now(),
        };
        let mut messages = self.messages.lock().expect("mailbox");
        if messages.len() >= KEPT {
            messages.remove(0);
        }
        messages.push((None, message));
        id
    }
}

fn links_in(text: &str) -> Vec<String> {
    text.split_whitespace()
        .filter(|w| w.starts_with("http://") || w.starts_with("https://"))
        .map(|w| w.trim_end_matches(['.', ',', ')']).to_owned())
        .collect()
}

/// What a Slack message says, as text: its fallback text, then each block's text.
fn slack_text(text: &str, blocks: &Value) -> String {
    let mut lines = vec![text.to_owned()];
    for b in blocks.as_array().into_iter().flatten() {
        if let Some(t) = b.pointer("/text/text").and_then(Value::as_str) {
            lines.push(t.to_owned());
        }
        for f in b["fields"].as_array().into_iter().flatten() {
            if let Some(t) = f["text"].as_str() {
                lines.push(t.replace('\n', ": "));
            }
        }
        let buttons: Vec<&str> = b["elements"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e.pointer("/text/text").and_then(Value::as_str))
            .collect();
        if b["type"] == "actions" && !buttons.is_empty() {
            lines.push(format!("[{}]", buttons.join("] [")));
        }
    }
    lines.join("\n")
}

impl Mailbox for DevMailbox {
    fn assign(&self, message_id: &str, tenant_id: &str) {
        let mut messages = self.messages.lock().expect("mailbox");
        if let Some((tenant, _)) = messages.iter_mut().find(|(_, m)| m.id == message_id) {
            tenant.get_or_insert_with(|| tenant_id.to_owned());
        }
    }

    fn messages(&self, tenant_id: &str) -> Vec<MailboxMessage> {
        self.messages
            .lock()
            .expect("mailbox")
            .iter()
            .filter(|(tenant, _)| tenant.as_deref() == Some(tenant_id))
            .map(|(_, m)| m.clone())
            .collect()
    }
}

#[async_trait]
impl SlackApi for DevMailbox {
    async fn post_message(
        &self,
        channel: &str,
        text: &str,
        blocks: &Value,
    ) -> Result<Posted, ChannelError> {
        let ts = self.keep("slack", channel, None, &slack_text(text, blocks));
        Ok(Posted {
            channel: channel.to_owned(),
            ts,
        })
    }

    async fn update_message(
        &self,
        at: &Posted,
        text: &str,
        blocks: &Value,
    ) -> Result<(), ChannelError> {
        let mut messages = self.messages.lock().expect("mailbox");
        let m = messages
            .iter_mut()
            .find_map(|(_, m)| (m.id == at.ts).then_some(m))
            .ok_or_else(|| ChannelError::Refused("chat.update: message_not_found".into()))?;
        m.text = slack_text(text, blocks);
        m.links = links_in(&m.text);
        m.updated_at = Some(self.clock.now());
        Ok(())
    }

    async fn post_ephemeral(
        &self,
        channel: &str,
        user: &str,
        text: &str,
    ) -> Result<(), ChannelError> {
        self.keep("slack", &format!("{channel} (only {user})"), None, text);
        Ok(())
    }

    async fn open_view(&self, _trigger_id: &str, _view: &Value) -> Result<(), ChannelError> {
        Err(ChannelError::Refused(
            "the dev mailbox has no Slack to open a form in".into(),
        ))
    }

    async fn user_email(&self, _user: &str) -> Result<Option<String>, ChannelError> {
        Ok(None)
    }
}

#[async_trait]
impl EmailSender for DevMailbox {
    async fn send_email(&self, email: &Email) -> Result<Accepted, ChannelError> {
        let id = self.keep("email", &email.to, Some(&email.subject), &email.text);
        Ok(Accepted { message_id: id })
    }
}

#[async_trait]
impl SmsSender for DevMailbox {
    async fn send_sms(&self, sms: &Sms) -> Result<Accepted, ChannelError> {
        let id = self.keep("sms", &sms.to, None, &sms.text);
        Ok(Accepted { message_id: id })
    }
}
