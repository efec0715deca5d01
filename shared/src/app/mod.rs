//! Use-cases: load → domain → store, over the ports. Nothing here knows whether it runs
//! in Lambda or in the local server.

mod accounts;
mod create;
pub mod deliveries;
pub mod jobs;
mod query;
pub mod relay;
mod stream;
mod tenants;
mod timers;
mod transition;
pub mod webhooks;

use std::sync::Arc;

use crate::domain::{Approval, FieldError};
use crate::ports::{
    ApprovalStore, ChangeFeed, ChannelDeliveryStore, Clock, ConnectionStore, EmailSender, Ids,
    JobQueue, Outbox, Pusher, Scheduler, SchedulerError, SlackApi, SmsSender, StoreError,
    TenantStore, UserStore, WebhookSender, WebhookStore,
};

pub use accounts::{Account, FirstAdmin, SESSION_HOURS, SignedIn};
pub use create::Created;
pub use query::{MAX_PAGE, Page, PageRequest, Verification};
pub use stream::StreamFilter;
pub use tenants::{Caller, DEFAULT_TENANT};
pub use timers::TimerOutcome;
pub use transition::DecisionInput;

/// The ports the use-cases run on; cheap to clone.
#[derive(Clone)]
pub struct App {
    pub approvals: Arc<dyn ApprovalStore>,
    pub jobs: Arc<dyn JobQueue>,
    pub tenants: Arc<dyn TenantStore>,
    pub clock: Arc<dyn Clock>,
    pub ids: Arc<dyn Ids>,
    pub changes: Arc<dyn ChangeFeed>,
    pub timers: Timers,
    pub webhooks: Arc<dyn WebhookStore>,
    /// Calls to webhook, callback and executor receivers.
    pub sender: Arc<dyn WebhookSender>,
    pub connections: Arc<dyn ConnectionStore>,
    /// Pushes to live-stream WebSocket connections (AWS); `None` where the stream is
    /// served over SSE straight from the event log (the local server).
    pub pusher: Option<Arc<dyn Pusher>>,
    pub deliveries: Arc<dyn ChannelDeliveryStore>,
    pub channels: Channels,
    /// The dashboard's people and their sessions.
    pub users: Arc<dyn UserStore>,
}

/// How approvers are reached: a channel left `None` is not configured, and a request
/// naming an approver on it is refused.
#[derive(Clone)]
pub struct Channels {
    pub slack: Option<Arc<dyn SlackApi>>,
    pub email: Option<Arc<dyn EmailSender>>,
    pub sms: Option<Arc<dyn SmsSender>>,
    /// Checks that calls to `/slack/interactions` come from Slack.
    pub slack_signing_secret: Option<String>,
    /// Signs approval links.
    pub link_secret: Arc<[u8]>,
    /// The base of the links in messages (`GREENLIGHT_PUBLIC_URL`), without a final `/`;
    /// empty where no messages are made (AWS functions other than delivery).
    pub public_url: String,
    /// Where the local server keeps the messages it does not send.
    pub outbox: Option<Arc<dyn Outbox>>,
}

/// Where a request's timers live.
#[derive(Clone)]
pub enum Timers {
    /// Delayed jobs in the outbox, run by the worker when they fall due (local mode).
    Outbox,
    /// An outside scheduler (AWS). The outbox still records the order to set or clear
    /// them in the transition's own transaction, so a crash after commit loses none.
    External(Arc<dyn Scheduler>),
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    /// The request is not in a state that allows this; `current` is how it is now.
    #[error("{message}")]
    Conflict {
        message: String,
        current: Box<Approval>,
    },
    #[error("this Idempotency-Key was already used with a different request body")]
    IdempotencyKeyReused,
    #[error("not due before {0}")]
    NotDue(chrono::DateTime<chrono::Utc>),
    #[error("{0}")]
    Forbidden(String),
    #[error("missing or unknown API key")]
    Unauthorized,
    #[error("storage failed")]
    Store(#[from] StoreError),
    #[error("setting a timer failed")]
    Scheduler(#[from] SchedulerError),
}

impl AppError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::Invalid(vec![FieldError::new(field, message)])
    }
}
