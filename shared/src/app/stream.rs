//! The live stream's subscriptions: which events a subscriber asked for, and on AWS the
//! WebSocket connections that receive them.

use chrono::{DateTime, Utc};

use super::{Account, AppError, Caller};
use crate::domain::protocol::ticket::{self, Holder, StreamTicket};
use crate::domain::{Event, StreamConnection, StreamFilter, limits};
use crate::ports::PushError;

/// A ticket to open the live stream's WebSocket (`POST /v1/stream/ticket`, and the
/// dashboard's own for its pages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    pub ticket: String,
    pub expires_at: DateTime<Utc>,
}

crate::app::feature_view!(
    /// The live stream's WebSocket connections (AWS): `app.stream()`.
    Stream
);

impl Stream<'_> {
    /// A ticket for `caller`'s key, good for `ticket::TICKET_SECONDS`.
    pub fn ticket(&self, caller: &Caller) -> Ticket {
        self.issue(&caller.tenant_id, Holder::Key(caller.key_id.clone()))
    }

    /// A ticket for a signed-in person, for the dashboard's pages on AWS.
    pub fn person_ticket(&self, account: &Account) -> Ticket {
        self.issue(
            &account.user.tenant_id,
            Holder::Person(account.user.id.clone()),
        )
    }

    fn issue(&self, tenant_id: &str, holder: Holder) -> Ticket {
        let grant = StreamTicket {
            tenant_id: tenant_id.to_owned(),
            holder,
            expires_at: limits::after(self.clock.now(), ticket::TICKET_SECONDS),
        };
        Ticket {
            ticket: ticket::issue(&self.channels.link_secret, &grant),
            expires_at: grant.expires_at,
        }
    }

    /// The caller a ticket stands for, while it is fresh and its key not revoked, or
    /// its person still has an account (with the role they have now).
    pub async fn redeem(&self, token: &str) -> Result<Caller, AppError> {
        let grant = ticket::open(&self.channels.link_secret, token, self.clock.now())
            .ok_or(AppError::Unauthorized)?;
        match grant.holder {
            Holder::Key(key_id) => {
                let keys = self.stores.tenants.api_keys(&grant.tenant_id).await?;
                let key = keys
                    .into_iter()
                    .find(|k| k.id == key_id && k.revoked_at.is_none())
                    .ok_or(AppError::Unauthorized)?;
                Ok(Caller::of_key(key))
            }
            Holder::Person(user_id) => {
                let user = self
                    .stores
                    .users
                    .user(&grant.tenant_id, &user_id)
                    .await?
                    .ok_or(AppError::Unauthorized)?;
                Ok(Caller::of_person(&user))
            }
        }
    }

    /// A WebSocket client connected with this key and filter.
    pub async fn open(
        &self,
        caller: &Caller,
        connection_id: &str,
        filter: StreamFilter,
    ) -> Result<(), AppError> {
        // A connection's pushes are filtered by what it asked for, not by who it is, so
        // only callers that read every request of the tenant may open one: agent and
        // admin keys and the dashboard's people, not approver keys.
        if !caller.reads_all {
            return Err(AppError::Forbidden(format!(
                "{} keys may not open a WebSocket stream: they read only the requests that name them",
                caller.role.as_str()
            )));
        }
        let c = StreamConnection {
            connection_id: connection_id.to_owned(),
            tenant_id: caller.tenant_id.clone(),
            filter,
            connected_at: self.clock.now(),
        };
        Ok(self.stores.connections.add_connection(&c).await?)
    }

    pub async fn close(&self, connection_id: &str) -> Result<(), AppError> {
        Ok(self
            .stores
            .connections
            .remove_connection(connection_id)
            .await?)
    }

    /// Pushes an event to the tenant's open connections that want it, forgetting those
    /// that are gone; returns how many received it. Nothing to do without a pusher (the
    /// local server streams over SSE instead).
    pub(crate) async fn push(&self, tenant_id: &str, event: &Event) -> Result<usize, AppError> {
        let agent = event.snapshot.get("agentId").and_then(|v| v.as_str());
        let message = event.message().to_string();
        self.push_message(
            tenant_id,
            &event.event_type,
            Some(&event.approval_id),
            agent,
            &message,
        )
        .await
    }

    /// Pushes one message (an approval's or a run's event) of type `event_type`, about
    /// `subject_id` of agent `agent_id`, to the connections whose filter admits it.
    pub(crate) async fn push_message(
        &self,
        tenant_id: &str,
        event_type: &str,
        subject_id: Option<&str>,
        agent_id: Option<&str>,
        message: &str,
    ) -> Result<usize, AppError> {
        let Some(pusher) = &self.pusher else {
            return Ok(0);
        };
        let mut pushed = 0;
        for c in self.stores.connections.connections(tenant_id).await? {
            if !c.filter.admits_parts(subject_id, agent_id, event_type) {
                continue;
            }
            match pusher.push(&c.connection_id, message).await {
                Ok(()) => pushed += 1,
                Err(PushError::Gone) => {
                    self.stores
                        .connections
                        .remove_connection(&c.connection_id)
                        .await?;
                }
                // One client's trouble is not a reason to retry the others.
                Err(PushError::Failed(why)) => {
                    tracing::warn!(connection = %c.connection_id, %why, "push failed");
                }
            }
        }
        Ok(pushed)
    }
}
