//! Messages to approvers (`MSG#tenant#id`), on `gsi1` under their request by creation
//! and on `gsi2` by the provider's message id once sent; each link code has an item of
//! its own (`CODE#code`), which keeps codes unique as SQL's unique index does. The
//! deployment's own secrets are here too.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::item::{self, Expr, Got, Item, Put, at_then, key};
use super::{DynamoStore, MAX_ITEMS, Refused, Write, corrupt};
use crate::domain::message::Purpose;
use crate::domain::{Channel, Message, MessageStatus};
use crate::ports::{MessageStore, NewJob, StoreError};

fn message_key(tenant_id: &str, id: &str) -> Item {
    item::pk(key(&["MSG", tenant_id, id]), "MSG")
}

fn code_key(code: &str) -> Item {
    item::pk(key(&["CODE", code]), "CODE")
}

fn provider_pk(message_id: &str) -> String {
    key(&["PROVIDER", message_id])
}

fn message_item(d: &Message) -> Item {
    Put::new(key(&["MSG", &d.tenant_id, &d.id]), "MSG", "message")
        .s("tenant_id", &d.tenant_id)
        .s("id", &d.id)
        .s("approval_id", &d.approval_id)
        .n("event_seq", d.event_seq)
        .s("purpose", d.purpose.as_str())
        .n("level", d.level)
        .s("channel", d.channel.as_str())
        .s("recipient", &d.recipient)
        .s("approver", &d.approver)
        .s("status", d.status.as_str())
        .n("attempts", d.attempts)
        .n("max_attempts", d.max_attempts)
        .opt_ts("next_retry_at", d.next_retry_at)
        .opt_s("last_error", d.last_error.as_deref())
        .opt_s("slack_channel", d.slack_channel.as_deref())
        .opt_s("slack_ts", d.slack_ts.as_deref())
        .opt_s("message_id", d.message_id.as_deref())
        .s("link_code", &d.link_code)
        .opt_ts("link_used_at", d.link_used_at)
        .ts("created_at", d.created_at)
        .opt_ts("sent_at", d.sent_at)
        .s("gsi1pk", key(&["MSGS", &d.tenant_id, &d.approval_id]))
        .s("gsi1sk", at_then(d.created_at, &d.id))
        .opt_s("gsi2pk", d.message_id.as_deref().map(provider_pk))
        .opt_s("gsi2sk", d.message_id.as_ref().map(|_| "MSG"))
        .item()
}

fn message(i: &Item) -> Result<Message, StoreError> {
    let g = Got(i);
    let purpose = g.s("purpose")?;
    let channel = g.s("channel")?;
    let status = g.s("status")?;
    Ok(Message {
        tenant_id: g.s("tenant_id")?,
        id: g.s("id")?,
        approval_id: g.s("approval_id")?,
        event_seq: g.i64("event_seq")?,
        purpose: Purpose::parse(&purpose).ok_or_else(|| corrupt("delivery purpose", &purpose))?,
        level: u32::try_from(g.i64("level")?).map_err(|e| corrupt("delivery level", e))?,
        channel: Channel::parse(&channel).ok_or_else(|| corrupt("delivery channel", &channel))?,
        recipient: g.s("recipient")?,
        approver: g.s("approver")?,
        status: MessageStatus::parse(&status).ok_or_else(|| corrupt("delivery status", &status))?,
        attempts: g.i32("attempts")?,
        max_attempts: g.i32("max_attempts")?,
        next_retry_at: g.opt_ts("next_retry_at")?,
        last_error: g.opt_s("last_error")?,
        slack_channel: g.opt_s("slack_channel")?,
        slack_ts: g.opt_s("slack_ts")?,
        message_id: g.opt_s("message_id")?,
        link_code: g.s("link_code")?,
        link_used_at: g.opt_ts("link_used_at")?,
        created_at: g.ts("created_at")?,
        sent_at: g.opt_ts("sent_at")?,
    })
}

/// What a delivery has become (status, attempts, where it landed), as an update of an
/// existing item: a missing one is left missing, as SQL's `UPDATE` leaves no row.
fn message_update(d: &Message) -> (Expr, String) {
    let mut e = Expr::default();
    e.set("status", item::s(d.status.as_str()))
        .set("attempts", item::n(d.attempts))
        .set_opt(
            "next_retry_at",
            d.next_retry_at.map(|t| item::s(item::ts(t))),
        )
        .set_opt("last_error", d.last_error.clone().map(item::s))
        .set_opt("slack_channel", d.slack_channel.clone().map(item::s))
        .set_opt("slack_ts", d.slack_ts.clone().map(item::s))
        .set_opt("message_id", d.message_id.clone().map(item::s))
        .set_opt("sent_at", d.sent_at.map(|t| item::s(item::ts(t))))
        .set_opt(
            "gsi2pk",
            d.message_id.as_deref().map(|m| item::s(provider_pk(m))),
        )
        .set_opt("gsi2sk", d.message_id.as_ref().map(|_| item::s("MSG")));
    let condition = e.exists("pk");
    (e, condition)
}

impl DynamoStore {
    /// The write of a delivery's new state within a transition.
    pub(super) fn message_update_write(&self, d: &Message) -> Write {
        let (e, condition) = message_update(d);
        Write::new(
            self.update_write(message_key(&d.tenant_id, &d.id), &e, &condition),
            Refused::Skip,
        )
    }
}

#[async_trait]
impl MessageStore for DynamoStore {
    /// One transaction per delivery with its link code and its job: a delivery already
    /// there is left as it is, and so are those after it.
    async fn add_messages(&self, deliveries: Vec<(Message, NewJob)>) -> Result<(), StoreError> {
        for (d, job) in &deliveries {
            let code = Put::new(key(&["CODE", &d.link_code]), "CODE", "link_code")
                .s("tenant_id", &d.tenant_id)
                .s("id", &d.id)
                .item();
            let mut writes = vec![
                Write::new(self.put_new_write(message_item(d)), Refused::Report),
                Write::new(self.put_new_write(code), Refused::Duplicate("link code")),
            ];
            writes.extend(self.job_writes(std::slice::from_ref(job)));
            self.transact(writes).await?;
        }
        Ok(())
    }

    async fn message(&self, tenant_id: &str, id: &str) -> Result<Option<Message>, StoreError> {
        self.get_item(message_key(tenant_id, id))
            .await?
            .as_ref()
            .map(message)
            .transpose()
    }

    /// On `gsi1`: a delivery added a moment ago may be missing yet.
    async fn messages(
        &self,
        tenant_id: &str,
        approval_id: &str,
    ) -> Result<Vec<Message>, StoreError> {
        let q = self.index("gsi1", key(&["MSGS", tenant_id, approval_id]), None);
        self.query_all(q, MAX_ITEMS)
            .await?
            .iter()
            .map(message)
            .collect()
    }

    async fn message_by_code(&self, code: &str) -> Result<Option<Message>, StoreError> {
        let Some(i) = self.get_item(code_key(code)).await? else {
            return Ok(None);
        };
        let g = Got(&i);
        self.message(&g.s("tenant_id")?, &g.s("id")?).await
    }

    /// On `gsi2`: providers report on a message well after it was sent.
    async fn message_by_provider_id(
        &self,
        message_id: &str,
    ) -> Result<Option<Message>, StoreError> {
        let q = self.index("gsi2", provider_pk(message_id), None).limit(1);
        self.query_all(q, 1).await?.first().map(message).transpose()
    }

    async fn save_message(&self, d: &Message) -> Result<(), StoreError> {
        let (e, condition) = message_update(d);
        self.update(message_key(&d.tenant_id, &d.id), &e, &condition)
            .await?;
        Ok(())
    }

    async fn use_link(
        &self,
        tenant_id: &str,
        id: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut e = Expr::default();
        e.set("link_used_at", item::s(item::ts(at)));
        let condition = format!("{} AND {}", e.exists("pk"), e.missing("link_used_at"));
        self.update(message_key(tenant_id, id), &e, &condition)
            .await
    }

    async fn secret_or_insert(&self, name: &str, candidate: &str) -> Result<String, StoreError> {
        let secret_key = key(&["SECRET", name]);
        let item = Put::new(secret_key.clone(), "SECRET", "secret")
            .s("value", candidate)
            .item();
        self.put_new(item).await?;
        let got = self
            .get_item(item::pk(secret_key, "SECRET"))
            .await?
            .ok_or_else(|| corrupt("deployment secret", "written but absent"))?;
        Got(&got).s("value")
    }
}
