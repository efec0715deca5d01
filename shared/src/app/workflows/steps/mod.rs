//! The executors of the step kinds that do I/O, registered in one place (`executor`);
//! the pure kinds (condition, transform, fail) end inside the engine.

mod ai;
mod approval;
mod delay;
mod http;
mod webhook;

use async_trait::async_trait;
use serde_json::Value;

use crate::app::{App, AppError};
use crate::domain::workflow::{Branch, Kind, Run};

/// One attempt of one step, as its job names it.
#[derive(Debug)]
pub struct StepCall<'a> {
    pub tenant_id: &'a str,
    pub run: &'a Run,
    pub key: &'a str,
    pub attempt: u32,
    /// The config rendered when the step started.
    pub config: &'a Value,
    /// Whether this runs a step's compensation rather than the step.
    pub compensation: bool,
}

impl StepCall<'_> {
    /// The attempt's key, the same every time its job is delivered:
    /// `<runId>:<stepKey>:<attempt>` (a compensation's ends in `:compensate`).
    pub fn attempt_key(&self) -> String {
        if self.compensation {
            format!("{}:{}:compensate", self.run.id, self.key)
        } else {
            format!("{}:{}:{}", self.run.id, self.key, self.attempt)
        }
    }
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub enum StepResult {
    Succeeded(Value, Branch),
    /// `retryable`: the step's retry policy applies.
    Failed {
        error: String,
        retryable: bool,
    },
    /// An approval step's request exists; the decision resumes the run.
    Waiting {
        approval_id: String,
    },
}

impl StepResult {
    pub fn failed(error: impl Into<String>, retryable: bool) -> Self {
        StepResult::Failed {
            error: error.into(),
            retryable,
        }
    }
}

/// Runs one kind of step. An `Err` is the platform failing (a store), not the step:
/// the job runs again, under the same attempt key.
#[async_trait]
pub trait Executor: Sync {
    async fn execute(&self, app: &App, call: &StepCall<'_>) -> Result<StepResult, AppError>;
}

/// The executor of each kind that does I/O; `None` for the pure kinds.
pub fn executor(kind: Kind) -> Option<&'static dyn Executor> {
    match kind {
        Kind::Approval => Some(&approval::Approval),
        Kind::Http => Some(&http::Http),
        Kind::Webhook => Some(&webhook::Webhook),
        Kind::Delay => Some(&delay::Delay),
        Kind::Ai => Some(&ai::Ai),
        Kind::Condition | Kind::Transform | Kind::Fail => None,
    }
}

/// An answer's body: JSON when it parses, else the text.
fn body_value(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_pure_or_has_an_executor() {
        for k in Kind::ALL {
            assert_eq!(executor(*k).is_none(), k.is_pure(), "{k}");
        }
    }
}
