//! The webhook-fanout function: the outbox queue's consumer. Each message names one
//! relayed job (fan-out, webhook send, timer set or clear); it runs here and is settled
//! under the relay's lease. A job that fails for now is rescheduled in the outbox and
//! handed over again for its retry time, so its message is done; only a message that
//! cannot be handled at all (the database is down) is left on the queue to come back.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};

use serde_json::Value;

use super::{HandlerError, each_message, sqs_batch, stream};
use crate::app::outbox::{JobRunner, OutboxRelay};
use crate::ports::{DeadLetters, Relayed};

pub async fn handle(
    relay: &OutboxRelay,
    runner: &JobRunner,
    batch: SqsEvent,
    dead_letters: Option<&dyn DeadLetters>,
) -> SqsBatchResponse {
    each_message(batch, dead_letters, |body| async move {
        let relayed: Relayed = serde_json::from_str(&body)
            .map_err(|e| HandlerError::Malformed(format!("not a relayed job: {e}")))?;
        Ok(relay.run(runner, &relayed).await?)
    })
    .await
}

/// The function's every trigger: its queue's SQS batches, and on DynamoDB the table's
/// stream of the jobs written.
pub async fn handle_event(
    relay: &OutboxRelay,
    runner: &JobRunner,
    event: Value,
    dead_letters: Option<&dyn DeadLetters>,
) -> Result<Value, HandlerError> {
    let answer = if let Some(batch) = stream::stream_batch(&event) {
        serde_json::to_value(stream::handle(relay, batch?).await)
    } else if let Some(batch) = sqs_batch(&event) {
        serde_json::to_value(handle(relay, runner, batch?, dead_letters).await)
    } else {
        return Err(HandlerError::Malformed(
            "neither an SQS batch nor a DynamoDB stream batch".into(),
        ));
    };
    Ok(answer.expect("responses serialize"))
}
