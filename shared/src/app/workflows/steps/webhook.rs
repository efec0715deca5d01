//! `webhook`: a Standard Webhooks message signed with the tenant's callback secret;
//! its `webhook-id` is the same on every attempt of the step, so the receiver can drop
//! repeats.

use async_trait::async_trait;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::{Executor, StepCall, StepResult, body_value};
use crate::app::{App, AppError};
use crate::domain::webhook::{self, ATTEMPT_TIMEOUT, RESPONSE_EXCERPT};
use crate::domain::workflow::Branch;
use crate::domain::workflow::step::WebhookConfig;
use crate::ports::{Post, SendFailure};

pub struct Webhook;

#[async_trait]
impl Executor for Webhook {
    async fn execute(&self, app: &App, call: &StepCall<'_>) -> Result<StepResult, AppError> {
        let config: WebhookConfig = match serde_json::from_value(call.config.clone()) {
            Ok(c) => c,
            Err(e) => return Ok(StepResult::failed(format!("config: {e}"), false)),
        };
        let secret = app.webhooks().callback_secret(call.tenant_id).await?;
        let purpose = if call.compensation {
            "compensate"
        } else {
            "step"
        };
        let digest = Sha256::digest(format!("{}|{}|{purpose}", call.run.id, call.key).as_bytes());
        let id = format!("msg_{}", &hex::encode(digest)[..32]);
        let now = app.clock.now();
        let body = json!({
            "type": format!("workflow.{purpose}"),
            "timestamp": now,
            "data": {
                "runId": call.run.id,
                "workflowId": call.run.workflow_id,
                "version": call.run.version,
                "stepKey": call.key,
                "attempt": call.attempt,
                "body": config.body,
            }
        })
        .to_string();
        let timestamp = now.timestamp();
        let signature = webhook::signature_header(&[&secret], &id, timestamp, body.as_bytes());
        let (_, answer) = app
            .sender
            .post(Post {
                method: "POST",
                url: config.url,
                headers: vec![
                    ("content-type".into(), "application/json".into()),
                    ("webhook-id".into(), id.clone()),
                    ("webhook-timestamp".into(), timestamp.to_string()),
                    ("webhook-signature".into(), signature),
                ],
                body,
                timeout: ATTEMPT_TIMEOUT,
                max_body: RESPONSE_EXCERPT,
            })
            .await;
        Ok(match answer {
            Ok(a) if (200..300).contains(&a.status) => StepResult::Succeeded(
                json!({"status": a.status, "webhookId": id, "body": body_value(&a.excerpt)}),
                Branch::Default,
            ),
            Ok(a) => StepResult::failed(format!("the receiver answered HTTP {}", a.status), true),
            Err(SendFailure::Refused(why)) => StepResult::failed(format!("not sent: {why}"), false),
            Err(SendFailure::Failed(why)) => StepResult::failed(why, true),
        })
    }
}
