//! The timeout function. Its timers come back two ways: EventBridge Scheduler invokes
//! it with the schedule's input as the whole event (a `TimerFired`), and the SQS delay
//! queue hands it batches of messages whose bodies are `TimerFired`s.

use serde_json::Value;

use super::{HandlerError, each_message, sqs_batch};
use crate::app::App;
use crate::domain::TimerFired;
use crate::ports::DeadLetters;

/// Handles one invocation; the answer is the SQS partial-batch response for a batch,
/// and the timer's outcome for a schedule.
pub async fn handle(
    app: &App,
    event: Value,
    dead_letters: Option<&dyn DeadLetters>,
) -> Result<Value, HandlerError> {
    if let Some(batch) = sqs_batch(&event) {
        let response = each_message(batch?, dead_letters, |body| async move {
            let timer = parse(&body)?;
            let outcome = app.approvals().fire_timer(&timer).await?;
            tracing::info!(timer = %timer.name(), ?outcome, "timer handled");
            Ok(())
        })
        .await;
        return Ok(serde_json::to_value(response).expect("responses serialize"));
    }
    let timer = parse(&event.to_string())?;
    let outcome = app.approvals().fire_timer(&timer).await?;
    tracing::info!(timer = %timer.name(), ?outcome, "timer handled");
    Ok(serde_json::to_value(outcome).expect("outcomes serialize"))
}

fn parse(body: &str) -> Result<TimerFired, HandlerError> {
    serde_json::from_str(body).map_err(|e| HandlerError::Malformed(format!("not a timer: {e}")))
}
