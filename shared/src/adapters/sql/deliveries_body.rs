// The store of messages to approvers, shared by both SQL backends; included after
// `store_body.rs`.

use crate::domain::Channel;
use crate::domain::message::Purpose as MessagePurpose;
use crate::ports::{MessageStore};
use crate::domain::{Message, MessageStatus};

const CHANNEL_DELIVERY_COLUMNS: &str = "tenant_id, id, approval_id, event_seq, purpose, level, \
     channel, recipient, approver, status, attempts, max_attempts, next_retry_at, last_error, \
     slack_channel, slack_ts, message_id, link_code, link_used_at, created_at, sent_at";

fn decode_channel_delivery(
    row: &<Db as sqlx::Database>::Row,
) -> Result<Message, StoreError> {
    let text = |name: &str| -> Result<String, StoreError> { row.try_get(name).map_err(db_err) };
    let time = |name: &str| -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError> {
        let t: Option<Ts> = row.try_get(name).map_err(db_err)?;
        Ok(t.map(from_ts))
    };
    let purpose = text("purpose")?;
    let channel = text("channel")?;
    let status = text("status")?;
    let level: i32 = row.try_get("level").map_err(db_err)?;
    Ok(Message {
        tenant_id: text("tenant_id")?,
        id: text("id")?,
        approval_id: text("approval_id")?,
        event_seq: row.try_get("event_seq").map_err(db_err)?,
        purpose: MessagePurpose::parse(&purpose).ok_or_else(|| corrupt("delivery purpose", &purpose))?,
        level: u32::try_from(level).map_err(|e| corrupt("delivery level", e))?,
        channel: Channel::parse(&channel).ok_or_else(|| corrupt("delivery channel", &channel))?,
        recipient: text("recipient")?,
        approver: text("approver")?,
        status: MessageStatus::parse(&status)
            .ok_or_else(|| corrupt("delivery status", &status))?,
        attempts: row.try_get("attempts").map_err(db_err)?,
        max_attempts: row.try_get("max_attempts").map_err(db_err)?,
        next_retry_at: time("next_retry_at")?,
        last_error: row.try_get("last_error").map_err(db_err)?,
        slack_channel: row.try_get("slack_channel").map_err(db_err)?,
        slack_ts: row.try_get("slack_ts").map_err(db_err)?,
        message_id: row.try_get("message_id").map_err(db_err)?,
        link_code: text("link_code")?,
        link_used_at: time("link_used_at")?,
        created_at: time("created_at")?.ok_or_else(|| corrupt("delivery", "no created_at"))?,
        sent_at: time("sent_at")?,
    })
}

/// Writes what a delivery has become (status, attempts, where it landed).
async fn update_channel_delivery<'c, E>(executor: E, d: &Message) -> Result<(), StoreError>
where
    E: sqlx::Executor<'c, Database = Db>,
{
    sqlx::query(
        "UPDATE deliveries SET status = $1, attempts = $2, next_retry_at = $3, last_error = $4, \
         slack_channel = $5, slack_ts = $6, message_id = $7, sent_at = $8 \
         WHERE tenant_id = $9 AND id = $10",
    )
    .bind(d.status.as_str())
    .bind(d.attempts)
    .bind(d.next_retry_at.map(to_ts))
    .bind(&d.last_error)
    .bind(&d.slack_channel)
    .bind(&d.slack_ts)
    .bind(&d.message_id)
    .bind(d.sent_at.map(to_ts))
    .bind(&d.tenant_id)
    .bind(&d.id)
    .execute(executor)
    .await
    .map_err(db_err)?;
    Ok(())
}

#[async_trait]
impl MessageStore for Store {
    async fn add_messages(
        &self,
        deliveries: Vec<(Message, NewJob)>,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        for (d, job) in &deliveries {
            let inserted = sqlx::query(&format!(
                "INSERT INTO deliveries ({CHANNEL_DELIVERY_COLUMNS}) VALUES \
                 ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
                 $18, $19, $20, $21) ON CONFLICT (tenant_id, id) DO NOTHING"
            ))
            .bind(&d.tenant_id)
            .bind(&d.id)
            .bind(&d.approval_id)
            .bind(d.event_seq)
            .bind(d.purpose.as_str())
            .bind(i32::try_from(d.level).map_err(|e| corrupt("delivery level", e))?)
            .bind(d.channel.as_str())
            .bind(&d.recipient)
            .bind(&d.approver)
            .bind(d.status.as_str())
            .bind(d.attempts)
            .bind(d.max_attempts)
            .bind(d.next_retry_at.map(to_ts))
            .bind(&d.last_error)
            .bind(&d.slack_channel)
            .bind(&d.slack_ts)
            .bind(&d.message_id)
            .bind(&d.link_code)
            .bind(d.link_used_at.map(to_ts))
            .bind(to_ts(d.created_at))
            .bind(d.sent_at.map(to_ts))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            if inserted.rows_affected() == 1 {
                insert_jobs(&mut tx, std::slice::from_ref(job)).await?;
            }
        }
        tx.commit().await.map_err(db_err)?;
        Ok(())
    }

    async fn message(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<Option<Message>, StoreError> {
        sqlx::query(&format!(
            "SELECT {CHANNEL_DELIVERY_COLUMNS} FROM deliveries WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(tenant_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?
        .as_ref()
        .map(decode_channel_delivery)
        .transpose()
    }

    async fn messages(
        &self,
        tenant_id: &str,
        approval_id: &str,
    ) -> Result<Vec<Message>, StoreError> {
        sqlx::query(&format!(
            "SELECT {CHANNEL_DELIVERY_COLUMNS} FROM deliveries \
             WHERE tenant_id = $1 AND approval_id = $2 ORDER BY created_at, id"
        ))
        .bind(tenant_id)
        .bind(approval_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?
        .iter()
        .map(decode_channel_delivery)
        .collect()
    }

    async fn message_by_code(
        &self,
        code: &str,
    ) -> Result<Option<Message>, StoreError> {
        sqlx::query(&format!(
            "SELECT {CHANNEL_DELIVERY_COLUMNS} FROM deliveries WHERE link_code = $1"
        ))
        .bind(code)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?
        .as_ref()
        .map(decode_channel_delivery)
        .transpose()
    }

    async fn message_by_provider_id(
        &self,
        message_id: &str,
    ) -> Result<Option<Message>, StoreError> {
        sqlx::query(&format!(
            "SELECT {CHANNEL_DELIVERY_COLUMNS} FROM deliveries WHERE message_id = $1"
        ))
        .bind(message_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?
        .as_ref()
        .map(decode_channel_delivery)
        .transpose()
    }

    async fn save_message(&self, d: &Message) -> Result<(), StoreError> {
        update_channel_delivery(&self.writer, d).await
    }

    async fn use_link(
        &self,
        tenant_id: &str,
        id: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE deliveries SET link_used_at = $1 \
             WHERE tenant_id = $2 AND id = $3 AND link_used_at IS NULL",
        )
        .bind(to_ts(at))
        .bind(tenant_id)
        .bind(id)
        .execute(&self.writer)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn secret_or_insert(&self, name: &str, candidate: &str) -> Result<String, StoreError> {
        sqlx::query(
            "INSERT INTO deployment_secrets (name, value) VALUES ($1, $2) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(candidate)
        .execute(&self.writer)
        .await
        .map_err(db_err)?;
        sqlx::query_scalar("SELECT value FROM deployment_secrets WHERE name = $1")
            .bind(name)
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)
    }
}
