//! The webhook-fanout function's trigger on DynamoDB: the table's stream, filtered by
//! its event source mapping to the jobs written (`INSERT`s whose new image has `type` =
//! `job`). Each job is handed to its queue (`OutboxRelay::hand_over`), delayed until it
//! falls due, and run by that queue's consumer as any relayed job. A record that cannot
//! be handled is named by its sequence number in `batchItemFailures`: Lambda retries the
//! batch from there and, past its retries, sends it to the mapping's on-failure
//! destination.

use aws_lambda_events::dynamodb::{Event, EventRecord};
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use serde::Deserialize;
use serde_json::Value;

use super::HandlerError;
use crate::app::outbox::OutboxRelay;

/// The stream batch a function that has other triggers too was handed, if it is one.
pub fn stream_batch(event: &Value) -> Option<Result<Event, HandlerError>> {
    let first = event.get("Records")?.get(0)?;
    (first.get("eventSource")? == "aws:dynamodb").then(|| {
        Event::deserialize(event)
            .map_err(|e| HandlerError::Malformed(format!("not a DynamoDB stream batch: {e}")))
    })
}

/// The id of the job a record wrote; `None` for a record that is not a job's insert
/// (which the mapping's filter keeps away).
fn job_id(record: &EventRecord) -> Result<Option<String>, HandlerError> {
    let image = serde_json::to_value(&record.change.new_image)
        .map_err(|e| HandlerError::Malformed(format!("unreadable new image: {e}")))?;
    if record.event_name != "INSERT" || image["type"]["S"] != "job" {
        return Ok(None);
    }
    match image["id"]["S"].as_str() {
        Some(id) if !id.is_empty() => Ok(Some(id.to_owned())),
        _ => Err(HandlerError::Malformed(
            "a job record without its id".into(),
        )),
    }
}

pub async fn handle(relay: &OutboxRelay, batch: Event) -> DynamoDbEventResponse {
    let mut response = DynamoDbEventResponse::default();
    for record in batch.records {
        let sequence = record.change.sequence_number.clone();
        let handed = match job_id(&record) {
            Ok(Some(id)) => relay
                .hand_over(&id)
                .await
                .map(|_| ())
                .map_err(HandlerError::from),
            Ok(None) => Ok(()),
            Err(e) => Err(e),
        };
        if let Err(e) = handed {
            tracing::error!(sequence = ?sequence, error = %crate::telemetry::error_chain(&e), "stream record failed");
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = sequence;
            response.batch_item_failures.push(failure);
        }
    }
    response
}
