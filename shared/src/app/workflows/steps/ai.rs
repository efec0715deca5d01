//! `ai`: a chat completion from the configured model, or the stand-in, which says so.

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::json;

use super::{Executor, StepCall, StepResult};
use crate::app::{App, AppError};
use crate::domain::workflow::Branch;
use crate::ports::{ChatError, ChatRequest};

pub struct Ai;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AiConfig {
    prompt: String,
    #[serde(default)]
    system: Option<String>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    max_tokens: Option<u32>,
}

#[async_trait]
impl Executor for Ai {
    async fn execute(&self, app: &App, call: &StepCall<'_>) -> Result<StepResult, AppError> {
        let c: AiConfig = match serde_json::from_value(call.config.clone()) {
            Ok(c) => c,
            Err(e) => return Ok(StepResult::failed(format!("config: {e}"), false)),
        };
        let request = ChatRequest {
            prompt: c.prompt,
            system: c.system,
            model: c.model,
            max_tokens: c.max_tokens,
        };
        Ok(match app.completions.complete(request).await {
            Ok(a) => StepResult::Succeeded(
                json!({"text": a.text, "model": a.model, "standIn": a.stand_in}),
                Branch::Default,
            ),
            Err(ChatError::Failed(why)) => StepResult::failed(why, true),
            Err(ChatError::Refused(why)) => StepResult::failed(why, false),
        })
    }
}
