//! The sweeper function, run every minute: finishes deadlines whose timers were lost,
//! relays the outbox jobs that are due (retries) or whose relay was lost, and forgets
//! expired dashboard sessions.

use serde_json::{Value, json};

use super::HandlerError;
use crate::app::App;
use crate::app::outbox::OutboxRelay;

/// How late a pending request must be before the sweeper expires it in place of its
/// timer (which normally lands within seconds).
const GRACE_SECONDS: i64 = 60;

pub async fn handle(app: &App, relay: &OutboxRelay) -> Result<Value, HandlerError> {
    let expired = app
        .approvals()
        .sweep_overdue(chrono::Duration::seconds(GRACE_SECONDS), 500)
        .await?;
    let relayed = relay.relay_due().await?;
    let sessions = app.accounts().prune_sessions().await?;
    Ok(json!({"expired": expired, "relayed": relayed, "sessionsForgotten": sessions}))
}
