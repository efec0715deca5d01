//! Configuration from the environment, typed, with an error that names the variable.
//! The settings both compositions read are one `Common`, checked once; secrets are
//! `SecretString`s, so no `Debug` or log line shows them.

#[cfg(feature = "aws")]
mod lambda;
mod local;

use secrecy::SecretString;

use crate::domain::Limits;

#[cfg(feature = "aws")]
pub use lambda::{ChannelsConfig, Database, DatabaseSecret, LambdaConfig};
pub use local::{Admin, LocalConfig};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{name}={value:?} is invalid: {reason}")]
pub struct ConfigError {
    pub name: &'static str,
    pub value: String,
    pub reason: String,
}

/// The settings the local server and the Lambda functions share; only some defaults
/// differ (see `Defaults`).
#[derive(Debug, Clone)]
pub struct Common {
    /// `GREENLIGHT_DB_MAX_CONNECTIONS`, at least 1.
    pub max_connections: u32,
    /// `GREENLIGHT_WEBHOOKS_ALLOW_PRIVATE`: webhook, callback and executor receivers on
    /// loopback and private networks are allowed.
    pub webhooks_allow_private: bool,
    pub slack: SlackConfig,
    /// `GREENLIGHT_RATE_LIMIT_PER_MINUTE` (default 600) per API key,
    /// `GREENLIGHT_TENANT_RATE_LIMIT_PER_MINUTE` (default five times that) per tenant,
    /// `GREENLIGHT_MESSAGES_PER_HOUR` (default 1,000) messages to approvers per tenant.
    pub limits: Limits,
    pub ai: AiConfig,
}

/// The model of workflow `ai` steps: `GREENLIGHT_AI_BASE_URL` (default OpenAI's),
/// `GREENLIGHT_AI_API_KEY` (without it a stand-in answers), `GREENLIGHT_AI_MODEL`.
#[derive(Debug, Clone)]
pub struct AiConfig {
    pub base_url: String,
    pub api_key: Option<SecretString>,
    pub model: String,
}

impl AiConfig {
    fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let base_url =
            lookup("GREENLIGHT_AI_BASE_URL").unwrap_or_else(|| "https://api.openai.com/v1".into());
        if !matches!(
            url::Url::parse(&base_url)
                .map(|u| u.scheme().to_owned())
                .as_deref(),
            Ok("http" | "https")
        ) {
            return Err(ConfigError {
                name: "GREENLIGHT_AI_BASE_URL",
                value: base_url,
                reason: "must be an http(s) URL".into(),
            });
        }
        Ok(Self {
            base_url,
            api_key: lookup("GREENLIGHT_AI_API_KEY")
                .filter(|k| !k.trim().is_empty())
                .map(SecretString::from),
            model: lookup("GREENLIGHT_AI_MODEL").unwrap_or_else(|| "gpt-4o-mini".into()),
        })
    }

    /// The configured model API; `None` without a key.
    pub fn completions(&self) -> Option<std::sync::Arc<dyn crate::ports::Completions>> {
        let key = self.api_key.clone()?;
        Some(std::sync::Arc::new(crate::adapters::chat::OpenAiChat::new(
            &self.base_url,
            key,
            &self.model,
        )))
    }
}

/// Where the local server and the functions differ on the common settings: a function
/// container serves one event at a time, and only the local server trusts its network.
pub(crate) struct Defaults {
    pub max_connections: u32,
    pub webhooks_allow_private: bool,
}

impl Common {
    pub(crate) fn from_lookup(
        lookup: &impl Fn(&str) -> Option<String>,
        defaults: Defaults,
    ) -> Result<Self, ConfigError> {
        let max_connections = parse(
            lookup,
            "GREENLIGHT_DB_MAX_CONNECTIONS",
            defaults.max_connections,
        )?;
        if max_connections == 0 {
            return Err(ConfigError {
                name: "GREENLIGHT_DB_MAX_CONNECTIONS",
                value: "0".into(),
                reason: "must be at least 1".into(),
            });
        }
        let at_least_one = |name: &'static str, default: u32| -> Result<u32, ConfigError> {
            let n = parse(lookup, name, default)?;
            if n == 0 {
                return Err(ConfigError {
                    name,
                    value: "0".into(),
                    reason: "must be at least 1".into(),
                });
            }
            Ok(n)
        };
        let per_key = at_least_one("GREENLIGHT_RATE_LIMIT_PER_MINUTE", Limits::DEFAULT_PER_KEY)?;
        let limits = Limits::new(
            per_key,
            at_least_one(
                "GREENLIGHT_TENANT_RATE_LIMIT_PER_MINUTE",
                per_key.saturating_mul(5),
            )?,
            at_least_one(
                "GREENLIGHT_MESSAGES_PER_HOUR",
                Limits::DEFAULT_MESSAGES_PER_HOUR,
            )?,
        );
        Ok(Self {
            limits,
            max_connections,
            webhooks_allow_private: parse(
                lookup,
                "GREENLIGHT_WEBHOOKS_ALLOW_PRIVATE",
                defaults.webhooks_allow_private,
            )?,
            slack: SlackConfig::from_lookup(lookup)?,
            ai: AiConfig::from_lookup(lookup)?,
        })
    }
}

/// Slack, when configured: without a bot token messages go to the dev mailbox (the
/// local server) or the Slack channel is off (Lambda).
#[derive(Debug, Clone, Default)]
pub struct SlackConfig {
    /// `GREENLIGHT_SLACK_BOT_TOKEN`.
    pub bot_token: Option<SecretString>,
    /// `GREENLIGHT_SLACK_SIGNING_SECRET`.
    pub signing_secret: Option<SecretString>,
    /// `GREENLIGHT_SLACK_API_URL`, default Slack's own.
    pub api_url: String,
}

impl SlackConfig {
    fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let api_url = non_blank(lookup, "GREENLIGHT_SLACK_API_URL")
            .unwrap_or_else(|| crate::adapters::slack_api::DEFAULT_API_URL.to_owned());
        let api_url = base_url("GREENLIGHT_SLACK_API_URL", api_url)?;
        let bot_token = non_blank(lookup, "GREENLIGHT_SLACK_BOT_TOKEN");
        let signing_secret = non_blank(lookup, "GREENLIGHT_SLACK_SIGNING_SECRET");
        if bot_token.is_some() && signing_secret.is_none() {
            return Err(ConfigError {
                name: "GREENLIGHT_SLACK_SIGNING_SECRET",
                value: String::new(),
                reason: "must be set with GREENLIGHT_SLACK_BOT_TOKEN, to check Slack's calls"
                    .into(),
            });
        }
        Ok(Self {
            bot_token: bot_token.map(SecretString::from),
            signing_secret: signing_secret.map(SecretString::from),
            api_url,
        })
    }
}

/// A variable's value unless it is unset or blank.
fn non_blank(lookup: &impl Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    lookup(name).filter(|v| !v.trim().is_empty())
}

/// An absolute http(s) URL, without a final `/` (links and API paths are appended).
fn base_url(name: &'static str, value: String) -> Result<String, ConfigError> {
    match url::Url::parse(&value) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
            Ok(value.trim_end_matches('/').to_owned())
        }
        _ => Err(ConfigError {
            name,
            value,
            reason: "must be an absolute http:// or https:// URL".into(),
        }),
    }
}

/// `GREENLIGHT_DATABASE_URL` when it starts with one of `schemes`; the error shows it
/// without its password.
fn database_url(url: String, schemes: &[&str], reason: &str) -> Result<SecretString, ConfigError> {
    if schemes.iter().any(|s| url.starts_with(s)) {
        return Ok(url.into());
    }
    Err(ConfigError {
        name: "GREENLIGHT_DATABASE_URL",
        value: redact_url(&url),
        reason: reason.into(),
    })
}

/// Hides a password in a database URL, for logs.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

fn parse<T: std::str::FromStr>(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: T,
) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match lookup(name) {
        None => Ok(default),
        Some(v) => v.trim().parse().map_err(|e: T::Err| ConfigError {
            name,
            value: v.clone(),
            reason: e.to_string(),
        }),
    }
}
