//! The compositions: the one place that reads settings, picks the adapters and drives
//! the app. `local` is the all-in-one server (API, `worker`, sweeper) and `lambda` what
//! every AWS function builds at its cold start, with `handlers` for their events.

pub mod config;
#[cfg(feature = "aws")]
pub mod handlers;
#[cfg(feature = "aws")]
pub mod lambda;
pub mod local;
mod worker;

use std::sync::Arc;

use secrecy::ExposeSecret;

use crate::adapters::slack_api::SlackWebApi;
use crate::ports::SlackApi;
use config::SlackConfig;

/// The Slack Web API when a bot token is configured.
fn slack_api(config: &SlackConfig) -> Option<Arc<dyn SlackApi>> {
    config.bot_token.as_ref().map(|token| {
        Arc::new(SlackWebApi::new(&config.api_url, token.expose_secret())) as Arc<dyn SlackApi>
    })
}
