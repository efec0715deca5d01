//! Workflows: versioned definitions (a DAG of steps joined by branch-labelled edges),
//! their validation, the CEL expressions in step configs, the step kinds, and a run's
//! state machine with its hash-chained event log. Pure: the app executes the steps that
//! do I/O and feeds their results back in as signals.

pub mod definition;
pub mod engine;
pub mod event;
pub mod expr;
pub mod run;
mod signal;
pub mod step;
pub mod validate;

pub use definition::{
    BackoffKind, Compensate, Definition, EdgeDef, RetryPolicy, StepDef, Workflow, WorkflowVersion,
};
pub use engine::{Compiled, Effect, Outcome, Refused, Signal};
pub use event::{RunChange, RunEvent};
pub use run::{
    Compensation, CompensationStatus, CompensationStep, Run, RunStatus, StepState, StepStatus,
};
pub use step::{Branch, Kind};
