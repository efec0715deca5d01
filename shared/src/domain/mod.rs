//! Pure types and rules: the approval request, its state machine, decisions, events and
//! the hash chain that makes the event log tamper-evident; the records the stores keep;
//! the tasks a change leaves to do. No I/O, no async, no randomness.

pub mod account;
pub mod approval;
pub mod chain;
pub mod error;
pub mod event;
pub mod form;
pub mod limits;
pub mod message;
pub mod policy;
pub mod protocol;
pub mod rate;
pub mod retry;
pub mod status;
pub mod stream;
pub mod task;
pub mod timer;
pub mod values;
pub mod webhook;
pub mod workflow;

pub use account::{ApiKey, Invite, KeyRole, Role, Session, Tenant, User};
pub use approval::{
    Approval, ApprovalSpec, Approver, Cancellation, Command, Decision, Execution, ExecutionReport,
    ExecutionStatus, NewApproval,
};
pub use error::{DomainError, FieldError};
pub use event::{Change, Event};
pub use message::{Message, MessageStatus, Purpose};
pub use policy::{EscalationLevel, Reminder, Timer, TimerKind, Vote};
pub use rate::{Limits, Quota, Verdict};
pub use status::{Status, Transition};
pub use stream::{StreamConnection, StreamFilter};
pub use task::{
    DeliveryRef, EventRef, Lane, Outcome, RunEventRef, StepApprovalRef, StepRef, Task, TaskError,
    TaskKind,
};
pub use timer::TimerFired;
pub use values::{Actor, Channel, DecisionKind, Source, TimeoutAction};
pub use webhook::{Attempt, Endpoint, WebhookDelivery, WebhookDeliveryStatus, WebhookPurpose};
