use async_trait::async_trait;

/// One chat completion asked for by a workflow `ai` step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatRequest {
    pub prompt: String,
    pub system: Option<String>,
    pub model: Option<String>,
    pub max_tokens: Option<u32>,
}

/// The model's answer; `stand_in` when no model was asked (no API key configured).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatAnswer {
    pub text: String,
    pub model: String,
    pub stand_in: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChatError {
    /// No answer, or one a later attempt may get right (timeouts, 429, 5xx).
    #[error("{0}")]
    Failed(String),
    /// The API refused the request itself (4xx): retrying cannot help.
    #[error("{0}")]
    Refused(String),
}

/// An OpenAI-compatible chat completions API.
#[async_trait]
pub trait Completions: Send + Sync {
    async fn complete(&self, request: ChatRequest) -> Result<ChatAnswer, ChatError>;
}
