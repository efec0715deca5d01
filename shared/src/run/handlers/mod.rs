//! What each Lambda function does with the events its trigger hands it. Each binary in
//! `functions/aws` hands one of these to a `run::lambda::serve…`.

pub mod api;
pub mod delivery;
pub mod migrate;
pub mod outbox;
pub mod realtime;
pub mod stream;
pub mod sweeper;
pub mod timeout;

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use serde::Deserialize;

use crate::ports::DeadLetters;

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

/// The SQS batch a function that has other triggers too was handed, if it is one.
fn sqs_batch(event: &serde_json::Value) -> Option<Result<SqsEvent, HandlerError>> {
    event.get("Records")?;
    Some(
        SqsEvent::deserialize(event)
            .map_err(|e| HandlerError::Malformed(format!("not an SQS batch: {e}"))),
    )
}

/// Runs `each` on the body of every message of an SQS batch. A message no retry can
/// help (malformed) goes straight to the dead-letter queue when there is one, and
/// counts as handled; any other failure is named in the answer, so SQS retries only
/// those messages (and moves them to the dead-letter queue after the last try).
pub async fn each_message<F, Fut>(
    batch: SqsEvent,
    dead_letters: Option<&dyn DeadLetters>,
    each: F,
) -> SqsBatchResponse
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = Result<(), HandlerError>>,
{
    let mut response = SqsBatchResponse::default();
    for message in batch.records {
        let id = message.message_id.clone().unwrap_or_default();
        let body = message.body.unwrap_or_default();
        let failed = match each(body.clone()).await {
            Ok(()) => continue,
            Err(HandlerError::Malformed(why)) => match dead_letters {
                Some(dlq) => match dlq.bury(&body, &why).await {
                    Ok(()) => {
                        tracing::error!(message = %id, %why, "malformed message moved to the dead-letter queue");
                        continue;
                    }
                    Err(e) => format!("{why}; and the dead-letter queue refused it: {e}"),
                },
                None => why,
            },
            Err(e) => crate::telemetry::error_chain(&e),
        };
        tracing::error!(message = %id, error = %failed, "message failed");
        let mut failure = BatchItemFailure::default();
        failure.item_identifier = id;
        response.batch_item_failures.push(failure);
    }
    response
}

/// Relays the outbox jobs an invocation wrote before it returns (nothing runs after).
/// A failure only delays them: the sweeper relays what is left at its next run.
pub async fn relay_quietly(relay: &crate::app::outbox::OutboxRelay) {
    if let Err(e) = relay.relay_due().await {
        tracing::error!(error = %crate::telemetry::error_chain(&e), "relay failed");
    }
}
