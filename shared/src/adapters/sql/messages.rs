//! Messages to approvers: one row per approver per channel per occasion, with its
//! attempts, where it landed, and when its approval link was used.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use sqlx::{ColumnIndex, Encode, Executor, Type};

use super::dialect::{Column, Conn, Dialect, Row, RowsAffected, SqlStore};
use super::{corrupt, db_err};
use crate::domain::Channel;
use crate::domain::message::Purpose;
use crate::domain::{Message, MessageStatus};
use crate::ports::{MessageStore, NewJob, StoreError};

const COLUMNS: &str = "tenant_id, id, approval_id, event_seq, purpose, level, channel, \
     recipient, approver, status, attempts, max_attempts, next_retry_at, last_error, \
     slack_channel, slack_ts, message_id, link_code, link_used_at, created_at, sent_at";

#[derive(sqlx::FromRow)]
struct DeliveryRow<D: Dialect> {
    tenant_id: String,
    id: String,
    approval_id: String,
    event_seq: i64,
    purpose: String,
    level: i32,
    channel: String,
    recipient: String,
    approver: String,
    status: String,
    attempts: i32,
    max_attempts: i32,
    next_retry_at: Option<D::Ts>,
    last_error: Option<String>,
    slack_channel: Option<String>,
    slack_ts: Option<String>,
    message_id: Option<String>,
    link_code: String,
    link_used_at: Option<D::Ts>,
    created_at: Option<D::Ts>,
    sent_at: Option<D::Ts>,
}

impl<D: Dialect> TryFrom<DeliveryRow<D>> for Message {
    type Error = StoreError;

    fn try_from(r: DeliveryRow<D>) -> Result<Self, StoreError> {
        Ok(Message {
            purpose: Purpose::parse(&r.purpose)
                .ok_or_else(|| corrupt("delivery purpose", &r.purpose))?,
            level: u32::try_from(r.level).map_err(|e| corrupt("delivery level", e))?,
            channel: Channel::parse(&r.channel)
                .ok_or_else(|| corrupt("delivery channel", &r.channel))?,
            status: MessageStatus::parse(&r.status)
                .ok_or_else(|| corrupt("delivery status", &r.status))?,
            created_at: r
                .created_at
                .map(D::from_ts)
                .ok_or_else(|| corrupt("delivery", "no created_at"))?,
            tenant_id: r.tenant_id,
            id: r.id,
            approval_id: r.approval_id,
            event_seq: r.event_seq,
            recipient: r.recipient,
            approver: r.approver,
            attempts: r.attempts,
            max_attempts: r.max_attempts,
            next_retry_at: r.next_retry_at.map(D::from_ts),
            last_error: r.last_error,
            slack_channel: r.slack_channel,
            slack_ts: r.slack_ts,
            message_id: r.message_id,
            link_code: r.link_code,
            link_used_at: r.link_used_at.map(D::from_ts),
            sent_at: r.sent_at.map(D::from_ts),
        })
    }
}

impl<D: Dialect> SqlStore<D>
where
    for<'c> &'c mut Conn<D>: Executor<'c, Database = D::Db>,
    for<'q> &'q str: Encode<'q, D::Db> + Type<D::Db>,
    String: Column<D::Db>,
    Option<String>: Column<D::Db>,
    i32: Column<D::Db>,
    Option<D::Ts>: Column<D::Db>,
{
    /// Writes what a delivery has become (status, attempts, where it landed).
    pub(super) async fn update_channel_delivery<'c>(
        executor: impl Executor<'c, Database = D::Db>,
        d: &Message,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE deliveries SET status = $1, attempts = $2, next_retry_at = $3, \
             last_error = $4, slack_channel = $5, slack_ts = $6, message_id = $7, sent_at = $8 \
             WHERE tenant_id = $9 AND id = $10",
        )
        .bind(d.status.as_str())
        .bind(d.attempts)
        .bind(d.next_retry_at.map(D::to_ts))
        .bind(&d.last_error)
        .bind(&d.slack_channel)
        .bind(&d.slack_ts)
        .bind(&d.message_id)
        .bind(d.sent_at.map(D::to_ts))
        .bind(&d.tenant_id)
        .bind(&d.id)
        .execute(executor)
        .await
        .map_err(db_err)?;
        Ok(())
    }
}

#[async_trait]
impl<D: Dialect> MessageStore for SqlStore<D>
where
    for<'c> &'c mut Conn<D>: Executor<'c, Database = D::Db>,
    for<'q> &'q str: Encode<'q, D::Db> + Type<D::Db> + ColumnIndex<Row<D>>,
    usize: ColumnIndex<Row<D>>,
    String: Column<D::Db>,
    Option<String>: Column<D::Db>,
    i64: Column<D::Db>,
    i32: Column<D::Db>,
    Option<D::Ts>: Column<D::Db>,
    Json<Value>: Column<D::Db>,
{
    async fn add_messages(&self, deliveries: Vec<(Message, NewJob)>) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        for (d, job) in &deliveries {
            let inserted = sqlx::query(&format!(
                "INSERT INTO deliveries ({COLUMNS}) VALUES \
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
            .bind(d.next_retry_at.map(D::to_ts))
            .bind(&d.last_error)
            .bind(&d.slack_channel)
            .bind(&d.slack_ts)
            .bind(&d.message_id)
            .bind(&d.link_code)
            .bind(d.link_used_at.map(D::to_ts))
            .bind(D::to_ts(d.created_at))
            .bind(d.sent_at.map(D::to_ts))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            if inserted.rows_affected() == 1 {
                Self::insert_jobs(&mut tx, std::slice::from_ref(job)).await?;
            }
        }
        tx.commit().await.map_err(db_err)?;
        Ok(())
    }

    async fn message(&self, tenant_id: &str, id: &str) -> Result<Option<Message>, StoreError> {
        let row: Option<DeliveryRow<D>> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM deliveries WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(tenant_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.map(Message::try_from).transpose()
    }

    async fn messages(
        &self,
        tenant_id: &str,
        approval_id: &str,
    ) -> Result<Vec<Message>, StoreError> {
        let rows: Vec<DeliveryRow<D>> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM deliveries \
             WHERE tenant_id = $1 AND approval_id = $2 ORDER BY created_at, id"
        ))
        .bind(tenant_id)
        .bind(approval_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.into_iter().map(Message::try_from).collect()
    }

    async fn message_by_code(&self, code: &str) -> Result<Option<Message>, StoreError> {
        let row: Option<DeliveryRow<D>> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM deliveries WHERE link_code = $1"
        ))
        .bind(code)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.map(Message::try_from).transpose()
    }

    async fn message_by_provider_id(
        &self,
        message_id: &str,
    ) -> Result<Option<Message>, StoreError> {
        let row: Option<DeliveryRow<D>> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM deliveries WHERE message_id = $1"
        ))
        .bind(message_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.map(Message::try_from).transpose()
    }

    async fn save_message(&self, d: &Message) -> Result<(), StoreError> {
        Self::update_channel_delivery(&self.writer, d).await
    }

    async fn use_link(
        &self,
        tenant_id: &str,
        id: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE deliveries SET link_used_at = $1 \
             WHERE tenant_id = $2 AND id = $3 AND link_used_at IS NULL",
        )
        .bind(D::to_ts(at))
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
