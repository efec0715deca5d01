//! The delivery function: the delivery queue's consumer (messages to approvers planned,
//! sent and updated, as relayed outbox jobs), and SES's reports on the emails it sent,
//! which EventBridge hands over from the configuration set: a bounce or a complaint
//! fails the delivery with the reason; a delivery notification marks it delivered.

use serde_json::Value;

use super::{HandlerError, outbox, sqs_batch};
use crate::app::messages::ProviderReport;
use crate::app::outbox::{JobRunner, OutboxRelay};
use crate::ports::DeadLetters;

pub async fn handle(
    relay: &OutboxRelay,
    runner: &JobRunner,
    event: Value,
    dead_letters: Option<&dyn DeadLetters>,
) -> Result<Value, HandlerError> {
    if let Some(batch) = sqs_batch(&event) {
        let answer = outbox::handle(relay, runner, batch?, dead_letters).await;
        return Ok(serde_json::to_value(answer).expect("responses serialize"));
    }
    if event["source"] != "aws.ses" {
        return Err(HandlerError::Malformed(
            "neither an SQS batch nor an SES event".into(),
        ));
    }
    let (message_id, report) = ses_report(&event["detail"])?;
    let known = runner
        .app()
        .messages()
        .provider_report(&message_id, report.clone())
        .await?;
    tracing::info!(%message_id, ?report, known, "SES reported on an email");
    Ok(serde_json::json!({"messageId": message_id, "known": known}))
}

/// What an SES event (`detail` of EventBridge's event) says became of which message.
fn ses_report(detail: &Value) -> Result<(String, ProviderReport), HandlerError> {
    let message_id = detail
        .pointer("/mail/messageId")
        .and_then(Value::as_str)
        .ok_or_else(|| HandlerError::Malformed("an SES event without mail.messageId".into()))?
        .to_owned();
    let first = |list: &str, field: &str| {
        detail
            .pointer(&format!("{list}/0/{field}"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let report = match detail["eventType"].as_str() {
        Some("Bounce") => ProviderReport::Failed(format!(
            "bounced ({} {}): {}",
            detail
                .pointer("/bounce/bounceType")
                .and_then(Value::as_str)
                .unwrap_or("?"),
            first("/bounce/bouncedRecipients", "emailAddress"),
            first("/bounce/bouncedRecipients", "diagnosticCode"),
        )),
        Some("Complaint") => ProviderReport::Failed(format!(
            "the recipient marked it as spam ({})",
            detail
                .pointer("/complaint/complaintFeedbackType")
                .and_then(Value::as_str)
                .unwrap_or("no feedback type")
        )),
        Some("Delivery") => ProviderReport::Delivered,
        other => {
            return Err(HandlerError::Malformed(format!(
                "SES event type {other:?} is not one Greenlight subscribes to"
            )));
        }
    };
    Ok((message_id, report))
}
