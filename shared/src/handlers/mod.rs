//! What each Lambda function does with the events its trigger hands it. The binaries in
//! `functions/` only build the adapters and call one of these.

pub mod api;
pub mod outbox;
pub mod realtime;
pub mod sweeper;
pub mod timeout;

/// Why a handler could not take an event.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// No retry can help: the event is not what this function takes.
    #[error("malformed event: {0}")]
    Malformed(String),
    /// A retry may succeed.
    #[error("handling failed")]
    Failed(#[from] crate::app::AppError),
}

/// Relays the outbox jobs an invocation wrote before it returns (nothing runs after).
/// A failure only delays them: the sweeper relays what is left within a minute.
pub async fn relay_quietly(relay: &crate::app::relay::OutboxRelay) {
    if let Err(e) = relay.relay_due().await {
        tracing::error!(error = %crate::telemetry::error_chain(&e), "relay failed");
    }
}
