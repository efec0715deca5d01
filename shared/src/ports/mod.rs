//! The traits the use-cases need, over the records in `domain`. Adapters implement them;
//! nothing here does I/O.

mod approvals;
mod changes;
mod channels;
mod clock;
mod completions;
mod ids;
mod jobs;
mod messages;
mod rate;
mod relay;
mod scheduler;
mod slack;
mod stream;
mod tenants;
mod users;
mod webhooks;
mod workflows;

pub use approvals::{
    ApprovalStore, CreateOutcome, IdempotencyClaim, ListQuery, NewApprovalRecord, StoredApproval,
    TransitionRecord,
};
pub use changes::{ChangeFeed, Changed};
pub use channels::{
    Accepted, ChannelError, Email, EmailSender, Mailbox, MailboxMessage, Sms, SmsSender,
};
pub use clock::Clock;
pub use completions::{ChatAnswer, ChatError, ChatRequest, Completions};
pub use ids::{IdKind, Ids};
pub use jobs::{Job, JobQueue, JobStatus, NewJob};
pub use messages::MessageStore;
pub use rate::RateLimiter;
pub use relay::{DeadLetters, MAX_RELAY_DELAY, Relay, RelayError, Relayed};
pub use scheduler::{Scheduler, SchedulerError};
pub use slack::{Posted, SlackApi};
pub use stream::{ConnectionStore, PushError, Pusher};
pub use tenants::TenantStore;
pub use users::UserStore;
pub use webhooks::{Answer, Post, SendFailure, WebhookSender, WebhookStore};
pub use workflows::{
    NewRunRecord, RunCreateOutcome, RunQuery, RunTransition, StoredRun, WorkflowStore,
};

/// What any store can answer besides its data.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A compare-and-set lost: the row is no longer at the expected version.
    #[error("version conflict: the row changed since it was read")]
    VersionConflict,
    #[error("already exists: {0}")]
    Duplicate(String),
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    #[error("database error")]
    Database(#[source] Box<dyn std::error::Error + Send + Sync>),
}
