//! `http`: the call goes through the same sender and SSRF guard as webhooks; a non-2xx
//! answer is a failed attempt (retried by the step's policy), a refused address is not.

use async_trait::async_trait;
use serde_json::{Value, json};

use super::{Executor, StepCall, StepResult, body_value};
use crate::app::{App, AppError};
use crate::domain::workflow::Branch;
use crate::domain::workflow::step::{HttpConfig, HttpMethod};
use crate::ports::{Post, SendFailure};

pub struct Http;

/// The most of an answer's body a step keeps as its output.
const MAX_BODY: usize = 64 * 1024;

#[async_trait]
impl Executor for Http {
    async fn execute(&self, app: &App, call: &StepCall<'_>) -> Result<StepResult, AppError> {
        let config: HttpConfig = match serde_json::from_value(call.config.clone()) {
            Ok(c) => c,
            Err(e) => return Ok(StepResult::failed(format!("config: {e}"), false)),
        };
        let method = match config.method {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
            HttpMethod::Put => "PUT",
            HttpMethod::Patch => "PATCH",
            HttpMethod::Delete => "DELETE",
        };
        let mut headers: Vec<(String, String)> = config
            .headers
            .iter()
            .filter(|(k, _)| !k.eq_ignore_ascii_case("idempotency-key"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        headers.push(("idempotency-key".into(), call.attempt_key()));
        let body = match &config.body {
            None => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(v) => {
                if !headers
                    .iter()
                    .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
                {
                    headers.push(("content-type".into(), "application/json".into()));
                }
                v.to_string()
            }
        };
        let (_, answer) = app
            .sender
            .post(Post {
                method,
                url: config.url.clone(),
                headers,
                body,
                timeout: config.timeout(),
                max_body: MAX_BODY,
            })
            .await;
        Ok(match answer {
            Ok(a) => {
                let output = json!({
                    "status": a.status,
                    "headers": a
                        .headers
                        .iter()
                        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                        .collect::<serde_json::Map<String, Value>>(),
                    "body": body_value(&a.excerpt),
                });
                if (200..300).contains(&a.status) {
                    StepResult::Succeeded(output, Branch::Default)
                } else {
                    StepResult::failed(format!("{method} answered HTTP {}", a.status), true)
                }
            }
            Err(SendFailure::Refused(why)) => StepResult::failed(format!("not sent: {why}"), false),
            Err(SendFailure::Failed(why)) => StepResult::failed(why, true),
        })
    }
}
