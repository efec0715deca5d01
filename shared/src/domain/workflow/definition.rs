//! What a workflow is: its record, its immutable versions, and a version's definition
//! as written (`{inputSchema?, vars?, steps, edges}`), before validation.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// A workflow: a name over a line of immutable versions, one of them active.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Workflow {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub category: Option<String>,
    pub tags: Vec<String>,
    /// The version new runs start on.
    pub active_version: u32,
    /// The highest version written.
    pub latest_version: u32,
    pub enabled: bool,
    /// Deleted workflows are hidden and start no runs; their runs stay readable.
    #[serde(skip)]
    pub deleted: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One version of a workflow's definition; never changed once written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowVersion {
    pub workflow_id: String,
    pub version: u32,
    pub definition: Definition,
    pub created_at: DateTime<Utc>,
}

/// A workflow definition as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Definition {
    /// JSON Schema (type object) a run's `input` must satisfy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub input_schema: Option<Value>,
    /// Named values, computed once when a run starts (strings beginning with `=` are
    /// CEL over `input` and `run`); expressions read them as `vars.<name>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub vars: Option<Value>,
    pub steps: Vec<StepDef>,
    #[serde(default)]
    pub edges: Vec<EdgeDef>,
}

/// One step: what it does (`kind`, `config`), how often it is tried, and what undoes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StepDef {
    /// Unique in the definition; `steps.<key>` in expressions.
    pub key: String,
    /// `approval`, `http`, `webhook`, `condition`, `transform`, `delay`, `ai` or `fail`.
    pub kind: String,
    /// Checked against the kind's JSON Schema; strings beginning with `=` are CEL.
    #[serde(default = "empty_object")]
    #[schema(value_type = Object)]
    pub config: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryPolicy>,
    /// Run when the run fails or is cancelled after this step succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compensate: Option<Compensate>,
}

fn empty_object() -> Value {
    Value::Object(Default::default())
}

/// A step body run to undo a step that succeeded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Compensate {
    pub kind: String,
    #[serde(default = "empty_object")]
    #[schema(value_type = Object)]
    pub config: Value,
}

/// `from` → `to`, taken when `from` ends on `branch` (default `default`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EdgeDef {
    pub from: String,
    pub to: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum BackoffKind {
    #[default]
    Fixed,
    Exponential,
}

/// How often a step is tried, and how long between tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RetryPolicy {
    /// 1 to 10, default 1 (no retry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff: Option<BackoffKind>,
    /// The wait before the second attempt (default 1 s, at most a day).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_seconds: Option<u32>,
    /// The longest wait under exponential backoff (default an hour, at most a day).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_delay_seconds: Option<u32>,
}

pub const MAX_RETRY_ATTEMPTS: u32 = 10;
pub const MAX_RETRY_DELAY_SECONDS: u32 = 24 * 3600;

impl RetryPolicy {
    pub fn attempts(&self) -> u32 {
        self.max_attempts.unwrap_or(1).clamp(1, MAX_RETRY_ATTEMPTS)
    }

    /// The wait after failed attempt `attempt` (1-based).
    pub fn delay_after(&self, attempt: u32) -> chrono::Duration {
        let first = u64::from(self.delay_seconds.unwrap_or(1));
        let max = u64::from(self.max_delay_seconds.unwrap_or(3600)).max(first);
        let secs = match self.backoff.unwrap_or_default() {
            BackoffKind::Fixed => first,
            BackoffKind::Exponential => {
                let factor = 1u64
                    .checked_shl(attempt.saturating_sub(1))
                    .unwrap_or(u64::MAX);
                first.saturating_mul(factor).min(max)
            }
        };
        chrono::Duration::seconds(i64::try_from(secs).unwrap_or(i64::MAX).min(86_400))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponential_backoff_doubles_to_its_ceiling_and_fixed_stays() {
        let p = RetryPolicy {
            max_attempts: Some(5),
            backoff: Some(BackoffKind::Exponential),
            delay_seconds: Some(2),
            max_delay_seconds: Some(10),
        };
        let waits: Vec<i64> = (1..=5).map(|a| p.delay_after(a).num_seconds()).collect();
        assert_eq!(waits, [2, 4, 8, 10, 10]);
        let fixed = RetryPolicy {
            delay_seconds: Some(3),
            ..Default::default()
        };
        assert_eq!(fixed.delay_after(7).num_seconds(), 3);
        assert_eq!(fixed.attempts(), 1);
    }
}
