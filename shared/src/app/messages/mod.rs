//! Messages to approvers. The events that call for them (creation, escalation, a
//! reminder) write a plan job; the plan makes one delivery per approver per channel,
//! each sent by its own job with retries, and each send or loss is recorded as an event
//! in the same transaction as the delivery's new state. Once the request is answered,
//! every Slack message of it is updated to say how, and its buttons are gone.

mod answer;
mod links;
mod plan;
pub mod render;
mod send;
mod slack;

pub use answer::FormAnswer;
pub use links::{LinkPage, LinkRefused, LinkState};
pub use send::ProviderReport;
pub use slack::SlackReply;

use crate::domain::{Actor, Message, Source, Task};
use crate::ports::{IdKind, NewJob};

/// Attempts per message before it is failed.
pub const MAX_ATTEMPTS: i32 = 8;

crate::app::feature_view!(
    /// Messages to approvers: `app.messages()`.
    Messages
);

impl Messages<'_> {
    /// A job for one message's task, tied to its request.
    fn job(&self, m: &Message, task: Task) -> NewJob {
        NewJob {
            id: self.ids.next(IdKind::Job),
            tenant_id: m.tenant_id.clone(),
            task,
            approval_id: Some(m.approval_id.clone()),
            run_at: self.clock.now(),
            max_attempts: 20,
        }
    }
}

/// Who records what becomes of messages.
fn actor() -> Actor {
    Actor {
        id: "system:delivery".into(),
        source: Source::System,
    }
}
