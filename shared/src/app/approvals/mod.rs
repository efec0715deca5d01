//! Approval requests: create, the one commit path every change takes, queries, timers
//! and the sweep; `work` decides what each change leaves for others to do.

mod checks;
mod commit;
mod create;
mod query;
mod response;
mod timers;
mod work;

pub use commit::DecisionInput;
pub use create::Created;
pub(crate) use create::idempotency_claim;
pub(crate) use query::{DEFAULT_PAGE, WAIT_POLL, cursor_at, decode_cursor};
pub use query::{MAX_PAGE, MAX_WAIT, Page, PageRequest, Verification};
pub use timers::TimerOutcome;
pub use work::Work;

crate::app::feature_view!(
    /// Approval requests: `app.approvals()`.
    Approvals
);
