//! A request's messages to approvers, and the local server's dev mailbox.

use axum::Json;
use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::app::App;
use crate::domain::Message;
use crate::http::Problem;
use crate::http::extract::Authed;
use crate::http::problem::{ApiCall, NotFound, RoleForbidden};
use crate::ports::MailboxMessage;

/// One message to one approver on one channel.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessageView {
    pub id: String,
    pub approval_id: String,
    /// `slack`, `email` or `sms`.
    pub channel: String,
    pub recipient: String,
    /// The approver's identity (its `id`, else its recipient).
    pub approver: String,
    /// `request` (the request reached them) or `reminder`.
    pub purpose: String,
    pub level: u32,
    /// `pending`, `sent`, `delivered`, `failed`, or `cancelled` (answered before it went).
    pub status: String,
    pub attempts: i32,
    pub max_attempts: i32,
    pub next_retry_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub slack_channel: Option<String>,
    pub slack_ts: Option<String>,
    /// The SES or SNS message id.
    pub message_id: Option<String>,
    /// When its approval link decided.
    pub link_used_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

impl From<Message> for MessageView {
    fn from(d: Message) -> Self {
        Self {
            id: d.id,
            approval_id: d.approval_id,
            channel: d.channel.as_str().to_owned(),
            recipient: d.recipient,
            approver: d.approver,
            purpose: d.purpose.as_str().to_owned(),
            level: d.level,
            status: d.status.as_str().to_owned(),
            attempts: d.attempts,
            max_attempts: d.max_attempts,
            next_retry_at: d.next_retry_at,
            last_error: d.last_error,
            slack_channel: d.slack_channel,
            slack_ts: d.slack_ts,
            message_id: d.message_id,
            link_used_at: d.link_used_at,
            created_at: d.created_at,
            sent_at: d.sent_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessageList {
    pub items: Vec<MessageView>,
}

#[utoipa::path(get, path = "/v1/approvals/{id}/messages", tag = "approvals",
    params(("id" = String, Path)),
    responses((status = 200, description = "Oldest first", body = MessageList), NotFound, ApiCall),
    security(("bearer" = [])))]
pub async fn list(
    State(app): State<App>,
    Authed(caller): Authed,
    Path(id): Path<String>,
) -> Result<Json<MessageList>, Problem> {
    let items = app.messages().of(&caller, &id).await?;
    Ok(Json(MessageList {
        items: items.into_iter().map(MessageView::from).collect(),
    }))
}

/// `/messages` under its former name, for one release.
#[utoipa::path(get, path = "/v1/approvals/{id}/deliveries", tag = "approvals",
    operation_id = "list_deprecated",
    params(("id" = String, Path)),
    responses((status = 200, description = "Oldest first (use `/messages`)", body = MessageList), NotFound, ApiCall),
    security(("bearer" = [])))]
#[deprecated = "use /v1/approvals/{id}/messages"]
pub async fn list_deprecated(
    app: State<App>,
    caller: Authed,
    id: Path<String>,
) -> Result<Json<MessageList>, Problem> {
    list(app, caller, id).await
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MailboxList {
    pub items: Vec<MailboxMessage>,
}

#[utoipa::path(get, path = "/v1/dev/mailbox", tag = "local",
    responses(
        (status = 200, description = "What the local server would have sent, oldest first", body = MailboxList),
        RoleForbidden, NotFound, ApiCall),
    security(("bearer" = [])))]
pub async fn mailbox(
    State(app): State<App>,
    Authed(caller): Authed,
) -> Result<Json<MailboxList>, Problem> {
    Ok(Json(MailboxList {
        items: app.messages().mailbox(&caller)?,
    }))
}

/// The dev mailbox under its former name, for one release.
#[utoipa::path(get, path = "/v1/dev/outbox", tag = "local",
    operation_id = "mailbox_deprecated",
    responses(
        (status = 200, description = "The dev mailbox (use `/v1/dev/mailbox`)", body = MailboxList),
        RoleForbidden, NotFound, ApiCall),
    security(("bearer" = [])))]
#[deprecated = "use /v1/dev/mailbox"]
pub async fn mailbox_deprecated(
    app: State<App>,
    caller: Authed,
) -> Result<Json<MailboxList>, Problem> {
    mailbox(app, caller).await
}
