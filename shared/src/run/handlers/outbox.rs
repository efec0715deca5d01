//! The webhook-fanout function: the outbox queue's consumer. Each message names one
//! relayed job (fan-out, webhook send, timer set or clear); it runs here and is settled
//! under the relay's lease. A job that fails for now is rescheduled in the outbox and
//! relayed again when due, so its message is done; only a message that cannot be
//! handled at all (the database is down) is left on the queue to come back.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};

use super::{HandlerError, each_message};
use crate::app::outbox::JobRunner;
use crate::ports::{DeadLetters, Relayed};

pub async fn handle(
    runner: &JobRunner,
    batch: SqsEvent,
    dead_letters: Option<&dyn DeadLetters>,
) -> SqsBatchResponse {
    each_message(batch, dead_letters, |body| async move {
        let relayed: Relayed = serde_json::from_str(&body)
            .map_err(|e| HandlerError::Malformed(format!("not a relayed job: {e}")))?;
        Ok(runner.run_relayed(&relayed).await?)
    })
    .await
}
