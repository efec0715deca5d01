//! What goes into the engine (a `Signal`) and what comes out of it (an `Outcome`: the
//! changes with their states, and the `Effect`s for the app), or why nothing does.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::event::RunChange;
use super::run::{Illegal, Run, RunStatus};
use super::step::Branch;

/// What happened to a run from outside it.
#[derive(Debug, Clone, PartialEq)]
pub enum Signal {
    /// An attempt of an I/O step ended well, on `branch`.
    Succeeded {
        key: String,
        attempt: u32,
        output: Value,
        branch: Branch,
    },
    /// An attempt failed; `retryable` is false for a failure no retry can fix.
    Failed {
        key: String,
        attempt: u32,
        error: String,
        retryable: bool,
    },
    /// A pure step started in a transition that had no room for it: end it now.
    Evaluate {
        key: String,
        attempt: u32,
    },
    /// The approval request of attempt `attempt` of an approval step exists.
    Waiting {
        key: String,
        attempt: u32,
        approval_id: String,
    },
    /// An approval step's request left `PENDING`: its output and branch, or why the
    /// step fails.
    Resumed {
        key: String,
        approval_id: String,
        outcome: Result<(Value, Branch), String>,
    },
    Cancel {
        reason: Option<String>,
        by: String,
    },
    /// A compensating step ended with an output or an error.
    Compensated {
        key: String,
        result: Result<Value, String>,
    },
}

/// Work the app carries out after committing the changes.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Run attempt `attempt` of step `key`, not before `at`.
    Execute {
        key: String,
        attempt: u32,
        at: DateTime<Utc>,
    },
    /// Run the compensation of step `key` (its config is rendered in the run's state).
    Compensate { key: String },
    /// Cancel the request of an approval step the run no longer waits on.
    CancelApproval { key: String, approval_id: String },
}

/// The changes a signal makes, each with the state after it, and the effects to run.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Outcome {
    pub changes: Vec<(RunChange, Run)>,
    pub effects: Vec<Effect>,
}

impl Outcome {
    /// The state after the last change.
    pub fn run(&self) -> Option<&Run> {
        self.changes.last().map(|(_, r)| r)
    }
}

/// Why a signal changes nothing.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refused {
    /// The run has ended.
    #[error("the run is {0}")]
    Ended(RunStatus),
    /// The signal is about an attempt or request the run has moved past (a redelivered
    /// job, a late result): nothing to do.
    #[error("{0}")]
    Stale(String),
    /// The run's state does not fit its definition (a bug or a corrupt row).
    #[error("{0}")]
    Illegal(#[from] Illegal),
}
