//! The live stream's subscriptions: which events a subscriber asked for, and on AWS the
//! WebSocket connections that receive them.

use chrono::{DateTime, Utc};

use super::{Event, FieldError, webhook};

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
    ) -> Result<Self, Vec<FieldError>> {
        let types = types.map(|t| {
            t.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
        });
        if let Some(t) = &types {
            let errors = webhook::check_patterns(t, "types");
            if !errors.is_empty() {
                return Err(errors);
            }
        }
        Ok(Self {
            approval_id: approval_id.filter(|s| !s.is_empty()),
            agent_id: agent_id.filter(|s| !s.is_empty()),
            types,
        })
    }

    pub fn admits(&self, e: &Event) -> bool {
        self.admits_parts(
            Some(&e.approval_id),
            e.snapshot.get("agentId").and_then(|v| v.as_str()),
            &e.event_type,
        )
    }

    /// Whether an event of `event_type` about `subject` (a request or a run) of agent
    /// `agent` passes: each filter set must match.
    pub fn admits_parts(
        &self,
        subject: Option<&str>,
        agent: Option<&str>,
        event_type: &str,
    ) -> bool {
        self.approval_id
            .as_deref()
            .is_none_or(|id| Some(id) == subject)
            && self.agent_id.as_deref().is_none_or(|a| Some(a) == agent)
            && self
                .types
                .as_ref()
                .is_none_or(|t| webhook::matches(t, event_type))
    }
}

/// A live-stream subscriber on AWS: an open API Gateway WebSocket connection.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamConnection {
    pub connection_id: String,
    pub tenant_id: String,
    pub filter: StreamFilter,
    pub connected_at: DateTime<Utc>,
}
