use async_trait::async_trait;
use serde_json::Value;

use super::ChannelError;

/// Where a posted message is: what `chat.update` needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posted {
    pub channel: String,
    pub ts: String,
}

/// The Slack Web API calls Greenlight makes, with the bot token.
#[async_trait]
pub trait SlackApi: Send + Sync {
    /// `chat.postMessage` to a user or channel id.
    async fn post_message(
        &self,
        channel: &str,
        text: &str,
        blocks: &Value,
    ) -> Result<Posted, ChannelError>;
    /// `chat.update`.
    async fn update_message(
        &self,
        at: &Posted,
        text: &str,
        blocks: &Value,
    ) -> Result<(), ChannelError>;
    /// `chat.postEphemeral`: seen only by `user`.
    async fn post_ephemeral(
        &self,
        channel: &str,
        user: &str,
        text: &str,
    ) -> Result<(), ChannelError>;
    /// `views.open`.
    async fn open_view(&self, trigger_id: &str, view: &Value) -> Result<(), ChannelError>;
    /// `users.info`: the user's email, when the app may read it.
    async fn user_email(&self, user: &str) -> Result<Option<String>, ChannelError>;
}
