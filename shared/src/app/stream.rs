//! The live stream's subscriptions: which events a subscriber asked for, and on AWS the
//! WebSocket connections that receive them.

use super::webhooks::event_message;
use super::{App, AppError, Caller};
use crate::domain::{Event, webhook};
use crate::ports::{PushError, StreamConnection};

/// What a subscriber asked to see; every part is optional.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamFilter {
    pub approval_id: Option<String>,
    pub agent_id: Option<String>,
    /// Event types or patterns (`approval.*`).
    pub types: Option<Vec<String>>,
}

impl StreamFilter {
    /// A filter from its query-string form (`types` comma-separated); a bad pattern is
    /// refused, named `types/<i>`.
    pub fn parse(
        approval_id: Option<String>,
        agent_id: Option<String>,
        types: Option<&str>,
    ) -> Result<Self, AppError> {
        let types = types.map(|t| {
            t.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
        });
        if let Some(t) = &types {
            let errors = webhook::check_patterns(t, "types");
            if !errors.is_empty() {
                return Err(AppError::Invalid(errors));
            }
        }
        Ok(Self {
            approval_id: approval_id.filter(|s| !s.is_empty()),
            agent_id: agent_id.filter(|s| !s.is_empty()),
            types,
        })
    }

    pub fn admits(&self, e: &Event) -> bool {
        self.approval_id
            .as_ref()
            .is_none_or(|id| *id == e.approval_id)
            && self.agent_id.as_ref().is_none_or(|a| {
                e.snapshot.get("agentId").and_then(|v| v.as_str()) == Some(a.as_str())
            })
            && self
                .types
                .as_ref()
                .is_none_or(|t| webhook::matches(t, &e.event_type))
    }
}

impl App {
    /// A WebSocket client connected with this key and filter.
    pub async fn open_stream_connection(
        &self,
        caller: &Caller,
        connection_id: &str,
        filter: StreamFilter,
    ) -> Result<(), AppError> {
        let c = StreamConnection {
            connection_id: connection_id.to_owned(),
            tenant_id: caller.tenant_id.clone(),
            filter,
            connected_at: self.clock.now(),
        };
        Ok(self.connections.add_connection(&c).await?)
    }

    pub async fn close_stream_connection(&self, connection_id: &str) -> Result<(), AppError> {
        Ok(self.connections.remove_connection(connection_id).await?)
    }

    /// Pushes an event to the tenant's open connections that want it, forgetting those
    /// that are gone; returns how many received it. Nothing to do without a pusher (the
    /// local server streams over SSE instead).
    pub(super) async fn push_to_connections(
        &self,
        tenant_id: &str,
        event: &Event,
    ) -> Result<usize, AppError> {
        let Some(pusher) = &self.pusher else {
            return Ok(0);
        };
        let message = event_message(event).to_string();
        let mut pushed = 0;
        for c in self.connections.connections(tenant_id).await? {
            if !c.filter.admits(event) {
                continue;
            }
            match pusher.push(&c.connection_id, &message).await {
                Ok(()) => pushed += 1,
                Err(PushError::Gone) => {
                    self.connections.remove_connection(&c.connection_id).await?;
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
