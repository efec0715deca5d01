//! Pure types and rules: the approval request, its state machine, decisions, events and
//! the hash chain that makes the event log tamper-evident. No I/O, no async.

pub mod approval;
pub mod chain;
pub mod delivery;
pub mod error;
pub mod event;
pub mod form;
pub mod limits;
pub mod link;
pub mod policy;
pub mod slack;
pub mod status;
pub mod webhook;

pub use approval::{
    Actor, Approval, ApprovalSpec, Approver, Cancellation, Channel, Command, Decision,
    DecisionKind, Execution, ExecutionReport, ExecutionStatus, NewApproval, Source, TimeoutAction,
};
pub use error::{DomainError, FieldError};
pub use event::{Change, Event};
pub use policy::{EscalationLevel, Reminder, Timer, TimerKind, Vote};
pub use status::{Status, Transition};
