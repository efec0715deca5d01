//! The outbox queues on AWS: relayed jobs as SQS messages, ten to a batch, each on the
//! queue its kind is routed to; and the dead-letter queues that take malformed
//! messages at once.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::types::{MessageAttributeValue, SendMessageBatchRequestEntry};

use crate::domain::TaskKind;
use crate::ports::{DeadLetters, MAX_RELAY_DELAY, Relay, RelayError, Relayed};

/// The kinds a queue takes, and its URL.
type Route = (fn(TaskKind) -> bool, String);

pub struct SqsRelay {
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    /// Which job kinds go to another queue than `queue_url`.
    routes: Vec<Route>,
}

impl SqsRelay {
    pub fn new(sdk: &aws_config::SdkConfig, queue_url: &str) -> Self {
        Self {
            sqs: aws_sdk_sqs::Client::new(sdk),
            queue_url: queue_url.to_owned(),
            routes: Vec::new(),
        }
    }

    /// Sends jobs of the kinds `takes` to `queue_url` instead.
    pub fn route(mut self, takes: fn(TaskKind) -> bool, queue_url: &str) -> Self {
        self.routes.push((takes, queue_url.to_owned()));
        self
    }

    fn queue_for(&self, kind: Option<TaskKind>) -> &str {
        self.routes
            .iter()
            .find(|(takes, _)| kind.is_some_and(takes))
            .map_or(&self.queue_url, |(_, q)| q)
    }

    async fn send(
        &self,
        queue_url: &str,
        jobs: &[&Relayed],
        delay: Duration,
    ) -> Result<(), RelayError> {
        let delay_seconds = i32::try_from(delay.min(MAX_RELAY_DELAY).as_secs()).unwrap_or(0);
        for chunk in jobs.chunks(10) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(serde_json::to_string(r).expect("messages serialize"))
                        .delay_seconds(delay_seconds)
                        .build()
                        .map_err(|e| RelayError(e.to_string()))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let sent = self
                .sqs
                .send_message_batch()
                .queue_url(queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| RelayError(crate::telemetry::error_chain(&e)))?;
            if let Some(first) = sent.failed.first() {
                return Err(RelayError(format!(
                    "{} of {} messages refused: {}",
                    sent.failed.len(),
                    chunk.len(),
                    first.message.as_deref().unwrap_or("no reason given")
                )));
            }
        }
        Ok(())
    }
}

#[async_trait]
impl Relay for SqsRelay {
    async fn publish(&self, jobs: &[Relayed], delay: Duration) -> Result<(), RelayError> {
        let mut by_queue: Vec<(&str, Vec<&Relayed>)> = Vec::new();
        for job in jobs {
            let queue = self.queue_for(job.kind);
            match by_queue.iter_mut().find(|(q, _)| *q == queue) {
                Some((_, list)) => list.push(job),
                None => by_queue.push((queue, vec![job])),
            }
        }
        for (queue, list) in by_queue {
            self.send(queue, &list, delay).await?;
        }
        Ok(())
    }
}

/// A dead-letter queue: the message as it came, and why, in the `greenlight-reason`
/// attribute.
pub struct SqsDeadLetters {
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
}

impl SqsDeadLetters {
    pub fn new(sdk: &aws_config::SdkConfig, queue_url: &str) -> Self {
        Self {
            sqs: aws_sdk_sqs::Client::new(sdk),
            queue_url: queue_url.to_owned(),
        }
    }
}

#[async_trait]
impl DeadLetters for SqsDeadLetters {
    async fn bury(&self, body: &str, reason: &str) -> Result<(), RelayError> {
        let reason = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(reason.chars().take(1000).collect::<String>())
            .build()
            .map_err(|e| RelayError(e.to_string()))?;
        self.sqs
            .send_message()
            .queue_url(&self.queue_url)
            // SQS refuses an empty body.
            .message_body(if body.is_empty() { "(empty)" } else { body })
            .message_attributes("greenlight-reason", reason)
            .send()
            .await
            .map_err(|e| RelayError(crate::telemetry::error_chain(&e)))?;
        Ok(())
    }
}
