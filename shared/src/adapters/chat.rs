//! Chat completions for workflow `ai` steps: an OpenAI-compatible API
//! (`POST {GREENLIGHT_AI_BASE_URL}/chat/completions`), or, without an API key, a
//! deterministic stand-in that says it is one.

use std::time::Duration;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::ports::{ChatAnswer, ChatError, ChatRequest, Completions};

const TIMEOUT: Duration = Duration::from_secs(60);
/// The most of an answer kept.
const MAX_ANSWER_BYTES: usize = 256 * 1024;

pub struct OpenAiChat {
    client: reqwest::Client,
    base_url: String,
    api_key: SecretString,
    default_model: String,
}

impl OpenAiChat {
    pub fn new(base_url: &str, api_key: SecretString, default_model: &str) -> Self {
        Self {
            client: reqwest::Client::builder()
                .timeout(TIMEOUT)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("a client with a timeout builds"),
            base_url: base_url.trim_end_matches('/').to_owned(),
            api_key,
            default_model: default_model.to_owned(),
        }
    }
}

#[async_trait]
impl Completions for OpenAiChat {
    async fn complete(&self, r: ChatRequest) -> Result<ChatAnswer, ChatError> {
        let model = r.model.unwrap_or_else(|| self.default_model.clone());
        let mut messages = Vec::new();
        if let Some(system) = &r.system {
            messages.push(json!({"role": "system", "content": system}));
        }
        messages.push(json!({"role": "user", "content": r.prompt}));
        let mut body = json!({"model": model, "messages": messages});
        if let Some(n) = r.max_tokens {
            body["max_tokens"] = json!(n);
        }
        let response = self
            .client
            .post(format!("{}/chat/completions", self.base_url))
            .bearer_auth(self.api_key.expose_secret())
            .json(&body)
            .send()
            .await
            .map_err(|e| {
                ChatError::Failed(format!("the model API did not answer: {}", e.without_url()))
            })?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| {
            ChatError::Failed(format!("the answer was cut off: {}", e.without_url()))
        })?;
        if bytes.len() > MAX_ANSWER_BYTES {
            return Err(ChatError::Refused(format!(
                "the answer is over {MAX_ANSWER_BYTES} bytes"
            )));
        }
        if !status.is_success() {
            let excerpt: String = String::from_utf8_lossy(&bytes).chars().take(300).collect();
            let why = format!("the model API answered {status}: {excerpt}");
            return Err(if status.as_u16() == 429 || status.is_server_error() {
                ChatError::Failed(why)
            } else {
                ChatError::Refused(why)
            });
        }
        let answer: Value = serde_json::from_slice(&bytes)
            .map_err(|e| ChatError::Failed(format!("the answer is not JSON: {e}")))?;
        let text = answer["choices"][0]["message"]["content"]
            .as_str()
            .ok_or_else(|| {
                ChatError::Failed("the answer has no choices[0].message.content".into())
            })?;
        Ok(ChatAnswer {
            text: text.to_owned(),
            model: answer["model"].as_str().unwrap_or(&model).to_owned(),
            stand_in: false,
        })
    }
}

/// Answers without a model, the same way for the same request, and says so: for
/// running workflows where no API key is configured.
#[derive(Debug, Default, Clone, Copy)]
pub struct StandInChat;

#[async_trait]
impl Completions for StandInChat {
    async fn complete(&self, r: ChatRequest) -> Result<ChatAnswer, ChatError> {
        let digest = Sha256::digest(format!("{:?}\n{}", r.system, r.prompt).as_bytes());
        let words = r.prompt.split_whitespace().count();
        Ok(ChatAnswer {
            text: format!(
                "[stand-in: no GREENLIGHT_AI_API_KEY is configured] a prompt of {words} words, \
                 fingerprint {}",
                &hex::encode(digest)[..12]
            ),
            model: "stand-in".into(),
            stand_in: true,
        })
    }
}
