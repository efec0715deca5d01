//! The sweeper function, the backstop run on a schedule (hourly with DynamoDB, every
//! five minutes with PostgreSQL): finishes deadlines whose timers were lost, relays the
//! outbox jobs that are due (retries) or whose relay was lost, and forgets expired
//! dashboard sessions.

use serde_json::{Value, json};

use super::HandlerError;
use crate::app::App;
use crate::app::outbox::OutboxRelay;

pub async fn handle(app: &App, relay: &OutboxRelay) -> Result<Value, HandlerError> {
    // The relay runs even when the sweep failed: lost jobs must not wait on a deadline
    // that cannot be expired. The invocation still fails, so the failure shows.
    let swept = app.sweep().await;
    let relayed = relay.relay_due().await?;
    let swept = swept?;
    Ok(json!({
        "expired": swept.expired,
        "relayed": relayed,
        "sessionsForgotten": swept.sessions_forgotten,
    }))
}
