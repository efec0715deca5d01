//! Use-cases, one folder per feature: `approvals` (create, commit, query, timers, and
//! `work`, the one place that builds a change's follow-up work), `messages` (to approvers:
//! plan, send, answer, render), `webhooks` (endpoints, fan-out, send), `accounts`
//! (tenants, keys, people, sessions), `stream`; `outbox` runs the follow-up work and
//! `sweep` the backstop. A feature reaches another only through `approvals::commit` and
//! the tasks of `approvals::work`. Nothing here knows whether it runs in Lambda or in
//! the local server.

pub mod accounts;
pub mod approvals;
pub mod messages;
pub mod outbox;
mod stream;
mod sweep;
pub mod webhooks;
pub mod workflows;

use std::ops::Deref;
use std::sync::Arc;

use crate::domain::{Approval, FieldError, Limits, Quota, Verdict};
use crate::ports::{
    ApprovalStore, ChangeFeed, Clock, Completions, ConnectionStore, EmailSender, Ids, JobQueue,
    Mailbox, MessageStore, Pusher, RateLimiter, RelayError, Scheduler, SchedulerError, SlackApi,
    SmsSender, StoreError, TenantStore, UserStore, WebhookSender, WebhookStore, WorkflowStore,
};

pub use accounts::{Account, Caller, DEFAULT_TENANT, FirstAdmin, NewKey, SESSION_HOURS, SignedIn};
pub use approvals::{
    Approvals, Created, DecisionInput, MAX_PAGE, Page, PageRequest, TimerOutcome, Verification,
};
pub use messages::Messages;
pub use stream::{Stream, Ticket};
pub use sweep::Swept;
pub use webhooks::Webhooks;
pub use workflows::{RunPage, RunPageRequest, RunVerification, Workflows};

/// The stores one database provides.
#[derive(Clone)]
pub struct Stores {
    pub approvals: Arc<dyn ApprovalStore>,
    pub jobs: Arc<dyn JobQueue>,
    pub tenants: Arc<dyn TenantStore>,
    pub webhooks: Arc<dyn WebhookStore>,
    pub connections: Arc<dyn ConnectionStore>,
    pub messages: Arc<dyn MessageStore>,
    pub users: Arc<dyn UserStore>,
    /// Rate counts kept in the database, for deployments of many processes.
    pub rates: Arc<dyn RateLimiter>,
    pub workflows: Arc<dyn WorkflowStore>,
}

impl Stores {
    /// Every store from the one type that implements them all (one database).
    pub fn all_in<S>(store: S) -> Stores
    where
        S: ApprovalStore
            + JobQueue
            + TenantStore
            + WebhookStore
            + ConnectionStore
            + MessageStore
            + UserStore
            + RateLimiter
            + WorkflowStore
            + 'static,
    {
        let me = Arc::new(store);
        Stores {
            approvals: me.clone(),
            jobs: me.clone(),
            tenants: me.clone(),
            webhooks: me.clone(),
            connections: me.clone(),
            messages: me.clone(),
            users: me.clone(),
            workflows: me.clone(),
            rates: me,
        }
    }
}

/// Everything the use-cases run on, built once per process by a composition root.
#[derive(Clone)]
pub struct Ports {
    pub stores: Stores,
    pub clock: Arc<dyn Clock>,
    pub ids: Arc<dyn Ids>,
    pub changes: Arc<dyn ChangeFeed>,
    pub timers: Timers,
    /// Calls to webhook, callback and executor receivers, and workflow `http` steps.
    pub sender: Arc<dyn WebhookSender>,
    /// The model workflow `ai` steps ask.
    pub completions: Arc<dyn Completions>,
    /// Pushes to live-stream WebSocket connections (AWS); `None` where the stream is
    /// served over SSE straight from the event log (the local server).
    pub pusher: Option<Arc<dyn Pusher>>,
    pub channels: Channels,
    /// Counts calls, sign-ins and messages against `limits`.
    pub limiter: Arc<dyn RateLimiter>,
    pub limits: Limits,
    /// Seals each request's audit head (`domain::chain::seal`); kept outside the
    /// database, so that whoever can write the database cannot forge history.
    pub audit_key: Arc<[u8]>,
}

/// The use-cases over one set of ports; cheap to clone. Each feature is a view:
/// `app.approvals().create(…)`, `app.webhooks().send(…)`.
#[derive(Clone)]
pub struct App {
    ports: Arc<Ports>,
    /// Workflow versions compiled, by tenant, workflow and version: versions never
    /// change, so a run's every transition need not compile its definition again.
    compiled: Arc<workflows::CompiledVersions>,
}

impl App {
    pub fn new(ports: Ports) -> App {
        App {
            ports: Arc::new(ports),
            compiled: Arc::default(),
        }
    }

    pub fn approvals(&self) -> Approvals<'_> {
        Approvals(self)
    }

    pub fn messages(&self) -> Messages<'_> {
        Messages(self)
    }

    pub fn webhooks(&self) -> Webhooks<'_> {
        Webhooks(self)
    }

    pub fn accounts(&self) -> accounts::Accounts<'_> {
        accounts::Accounts(self)
    }

    pub fn stream(&self) -> Stream<'_> {
        Stream(self)
    }

    pub fn workflows(&self) -> Workflows<'_> {
        Workflows(self)
    }
}

/// The ports are read through the app: `app.clock.now()`, `app.stores.jobs`.
impl Deref for App {
    type Target = Ports;

    fn deref(&self) -> &Ports {
        &self.ports
    }
}

/// A feature's view of the app: `Deref` to it, so a feature reads the ports as
/// `self.clock` and reaches `approvals::commit` as `self.approvals()`.
macro_rules! feature_view {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy)]
        pub struct $name<'a>(pub(crate) &'a $crate::app::App);

        impl std::ops::Deref for $name<'_> {
            type Target = $crate::app::App;

            fn deref(&self) -> &$crate::app::App {
                self.0
            }
        }
    };
}
pub(crate) use feature_view;

/// Refuses a receiver URL (a webhook endpoint, a request's callback or executor) that
/// is malformed or that the sender may not call, naming `field`.
pub(crate) async fn check_receiver(
    sender: &dyn WebhookSender,
    url: &str,
    field: &str,
) -> Result<(), AppError> {
    let parsed =
        crate::domain::webhook::check_url(url, field).map_err(|e| AppError::Invalid(vec![e]))?;
    sender
        .check(&parsed)
        .await
        .map_err(|e| AppError::invalid(field, e.to_string()))
}

/// How approvers are reached: a channel left `None` is not configured, and a request
/// naming an approver on it is refused.
#[derive(Clone)]
pub struct Channels {
    pub slack: Option<Arc<dyn SlackApi>>,
    pub email: Option<Arc<dyn EmailSender>>,
    pub sms: Option<Arc<dyn SmsSender>>,
    /// Whether the deployment offers email and text messages, which is what a new
    /// request's approvers are checked against: on AWS only the delivery function
    /// holds the senders, and the api function still takes requests for them.
    pub email_offered: bool,
    pub sms_offered: bool,
    /// Checks that calls to `/slack/interactions` come from Slack.
    pub slack_signing_secret: Option<String>,
    /// Signs approval links.
    pub link_secret: Arc<[u8]>,
    /// The base of the links in messages (`GREENLIGHT_PUBLIC_URL`), without a final `/`;
    /// empty where no messages are made (AWS functions other than delivery).
    pub public_url: String,
    /// Where the local server keeps the messages it does not send: the dev mailbox.
    pub mailbox: Option<Arc<dyn Mailbox>>,
}

/// Where a request's timers live.
#[derive(Clone)]
pub enum Timers {
    /// Delayed jobs in the outbox, run by the worker when they fall due (local mode).
    Delayed,
    /// An outside scheduler (AWS). The outbox still records the order to set or clear
    /// them in the transition's own transaction, so a crash after commit loses none.
    /// `None` in the functions that only write those orders: the outbox's consumer
    /// carries them out.
    External(Option<Arc<dyn Scheduler>>),
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
    /// A workflow run is not in a state that allows this.
    #[error("{0}")]
    RunConflict(String),
    #[error("this Idempotency-Key was already used with a different request body")]
    IdempotencyKeyReused,
    #[error("not due before {0}")]
    NotDue(chrono::DateTime<chrono::Utc>),
    #[error("{0}")]
    Forbidden(String),
    #[error("missing or unknown API key")]
    Unauthorized,
    /// Past a quota: what it is, and when a call is allowed again.
    #[error("rate limit {} reached", .quota.name)]
    RateLimited { quota: Quota, verdict: Verdict },
    #[error("storage failed")]
    Store(#[from] StoreError),
    #[error("setting a timer failed")]
    Scheduler(#[from] SchedulerError),
    #[error("handing a job to its queue failed")]
    Relay(#[from] RelayError),
}

impl AppError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::Invalid(vec![FieldError::new(field, message)])
    }
}
