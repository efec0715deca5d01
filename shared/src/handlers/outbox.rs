//! The webhook-fanout function: the outbox queue's consumer. Each message names one
//! relayed job (fan-out, webhook send, timer set or clear); it runs here and is settled
//! under the relay's lease. A job that fails for now is rescheduled in the outbox and
//! relayed again when due, so its message is done; only a message that cannot be
//! handled at all (the database is down) is left on the queue to come back.

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};

use super::HandlerError;
use crate::app::jobs::JobRunner;
use crate::ports::Relayed;

pub async fn handle(runner: &JobRunner, batch: SqsEvent) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for message in batch.records {
        let id = message.message_id.clone().unwrap_or_default();
        let handled = match message.body.as_deref().map(serde_json::from_str::<Relayed>) {
            Some(Ok(r)) => runner.run_relayed(&r).await.map_err(HandlerError::from),
            Some(Err(e)) => Err(HandlerError::Malformed(format!("not a relayed job: {e}"))),
            None => Err(HandlerError::Malformed("message has no body".into())),
        };
        if let Err(e) = handled {
            tracing::error!(message = %id, error = %crate::telemetry::error_chain(&e), "outbox message failed");
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            response.batch_item_failures.push(failure);
        }
    }
    response
}
