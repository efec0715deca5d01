//! The timeout function. Its timers come back two ways: EventBridge Scheduler invokes
//! it with the schedule's input as the whole event (a `TimerFired`), and the SQS delay
//! queue hands it batches of messages whose bodies are `TimerFired`s.

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use serde_json::Value;

use super::HandlerError;
use crate::app::App;
use crate::app::jobs::TimerFired;

/// Handles one invocation; the answer is the SQS partial-batch response for a batch,
/// and the timer's outcome for a schedule.
pub async fn handle(app: &App, event: Value) -> Result<Value, HandlerError> {
    if event.get("Records").is_some() {
        let batch: SqsEvent = serde_json::from_value(event)
            .map_err(|e| HandlerError::Malformed(format!("not an SQS batch: {e}")))?;
        let response = handle_batch(app, batch).await;
        return Ok(serde_json::to_value(response).expect("responses serialize"));
    }
    let timer = parse(&event.to_string())?;
    let outcome = app.fire_timer(&timer).await?;
    tracing::info!(timer = %timer.name(), ?outcome, "timer handled");
    Ok(serde_json::to_value(outcome).expect("outcomes serialize"))
}

/// Every message is handled; those that failed are named in the response, so SQS
/// retries only them (and moves them to the dead-letter queue after the last).
pub async fn handle_batch(app: &App, batch: SqsEvent) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for message in batch.records {
        let id = message.message_id.clone().unwrap_or_default();
        let handled = match message.body.as_deref().map(parse) {
            Some(Ok(timer)) => app.fire_timer(&timer).await.map_err(HandlerError::from),
            Some(Err(e)) => Err(e),
            None => Err(HandlerError::Malformed("message has no body".into())),
        };
        match handled {
            Ok(outcome) => tracing::info!(message = %id, ?outcome, "timer handled"),
            Err(e) => {
                tracing::error!(message = %id, error = %crate::telemetry::error_chain(&e), "timer message failed");
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = id;
                response.batch_item_failures.push(failure);
            }
        }
    }
    response
}

fn parse(body: &str) -> Result<TimerFired, HandlerError> {
    serde_json::from_str(body).map_err(|e| HandlerError::Malformed(format!("not a timer: {e}")))
}
