//! The AWS composition: what every Lambda function builds once per container, from its
//! environment. The binaries in `functions/aws` call `Lambda::from_env` and then run
//! one handler.

use std::sync::Arc;

use crate::adapters::aws::email::SesEmail;
use crate::adapters::aws::push::ApiGatewayPusher;
use crate::adapters::aws::relay::{SqsDeadLetters, SqsRelay};
use crate::adapters::aws::secrets;
use crate::adapters::aws::sms::SnsSms;
use crate::adapters::aws::timers::{AwsTimers, AwsTimersConfig};
use crate::adapters::changes::BroadcastFeed;
use crate::adapters::clock::SystemClock;
use crate::adapters::http_sender::HttpSender;
use crate::adapters::ids::UuidIds;
use crate::adapters::sql;
use crate::app::Channels;
use crate::app::outbox::OutboxRelay;
use crate::app::outbox::{JobRunner, RunnerConfig};
use crate::app::{App, Ports, Timers};
use crate::domain::TaskKind;
use crate::ports::DeadLetters;
use crate::run::config::{ConfigError, SlackConfig, check_http_url, parse, redact_url};

/// Where the database is: a URL, or the cluster's host and the Secrets Manager secret
/// (ARN or name) with its credentials (what the template passes).
#[derive(Clone, PartialEq, Eq)]
pub enum Database {
    Url(String),
    Secret {
        arn: String,
        host: String,
        port: u16,
        name: String,
    },
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Database::Url(u) => write!(f, "Url({})", redact_url(u)),
            Database::Secret {
                arn,
                host,
                port,
                name,
            } => {
                write!(
                    f,
                    "Secret {{ arn: {arn}, host: {host}, port: {port}, name: {name} }}"
                )
            }
        }
    }
}

/// Every function's settings; all functions of a stack get the same ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LambdaConfig {
    pub database: Database,
    /// `GREENLIGHT_DB_MAX_CONNECTIONS`, default 2: one container serves one event at a time.
    pub max_connections: u32,
    /// `GREENLIGHT_OUTBOX_QUEUE_URL`: where committed jobs are relayed.
    pub outbox_queue_url: String,
    /// `GREENLIGHT_DELIVERY_QUEUE_URL`: where jobs of messages to approvers are relayed
    /// instead, when set (the delivery function's queue).
    pub delivery_queue_url: Option<String>,
    /// `GREENLIGHT_SCHEDULE_GROUP`, `GREENLIGHT_TIMEOUT_FUNCTION_ARN`,
    /// `GREENLIGHT_SCHEDULER_ROLE_ARN`, `GREENLIGHT_TIMER_QUEUE_URL`.
    pub timers: AwsTimersConfig,
    /// `GREENLIGHT_WEBSOCKET_ENDPOINT`: the live stream's WebSocket API management URL.
    pub websocket_endpoint: Option<String>,
    /// `GREENLIGHT_WEBHOOKS_ALLOW_PRIVATE`, default `false`.
    pub webhooks_allow_private: bool,
    /// `GREENLIGHT_DEAD_LETTER_QUEUE_URL`: the dead-letter queue of the queue this
    /// function reads, for messages no retry can help.
    pub dead_letter_queue_url: Option<String>,
    pub channels: ChannelsConfig,
}

/// How approvers are reached from AWS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelsConfig {
    /// `GREENLIGHT_PUBLIC_URL`: the base of approval links, set where messages are made
    /// (the delivery function: the callback function's URL).
    pub public_url: Option<String>,
    /// `GREENLIGHT_LINK_SECRET_ARN`: the secret whose text signs approval links.
    pub link_secret_arn: String,
    /// `GREENLIGHT_SLACK_SECRET_ARN`: the Slack app's signing secret and bot token;
    /// `GREENLIGHT_SLACK_BOT_TOKEN` and `GREENLIGHT_SLACK_SIGNING_SECRET` instead, if set.
    pub slack_secret_arn: Option<String>,
    pub slack: SlackConfig,
    /// `GREENLIGHT_EMAIL_FROM`: the verified SES sender; email is off without it.
    pub email_from: Option<String>,
    /// `GREENLIGHT_SES_CONFIGURATION_SET`: reports bounces and complaints.
    pub ses_configuration_set: Option<String>,
    /// `GREENLIGHT_SMS_ENABLED`, default `false`: text messages through SNS.
    pub sms_enabled: bool,
}

impl ChannelsConfig {
    fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let set = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let public_url = set("GREENLIGHT_PUBLIC_URL");
        if let Some(url) = &public_url {
            check_http_url("GREENLIGHT_PUBLIC_URL", url)?;
        }
        Ok(Self {
            public_url: public_url.map(|u| u.trim_end_matches('/').to_owned()),
            link_secret_arn: required(lookup, "GREENLIGHT_LINK_SECRET_ARN")?,
            slack_secret_arn: set("GREENLIGHT_SLACK_SECRET_ARN"),
            slack: SlackConfig::from_lookup(lookup)?,
            email_from: set("GREENLIGHT_EMAIL_FROM"),
            ses_configuration_set: set("GREENLIGHT_SES_CONFIGURATION_SET"),
            sms_enabled: parse(lookup, "GREENLIGHT_SMS_ENABLED", false)?,
        })
    }
}

fn required(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<String, ConfigError> {
    lookup(name)
        .filter(|v| !v.trim().is_empty())
        .ok_or(ConfigError {
            name,
            value: String::new(),
            reason: "must be set".into(),
        })
}

impl LambdaConfig {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let database = match lookup("GREENLIGHT_DATABASE_URL").filter(|v| !v.is_empty()) {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Database::Url(url)
            }
            Some(url) => {
                return Err(ConfigError {
                    name: "GREENLIGHT_DATABASE_URL",
                    value: redact_url(&url),
                    reason: "must be a postgres:// URL on AWS".into(),
                });
            }
            None => Database::Secret {
                arn: required(&lookup, "GREENLIGHT_DATABASE_SECRET_ARN")?,
                host: required(&lookup, "GREENLIGHT_DATABASE_HOST")?,
                port: parse(&lookup, "GREENLIGHT_DATABASE_PORT", 5432u16)?,
                name: parse(&lookup, "GREENLIGHT_DATABASE_NAME", "greenlight".to_owned())?,
            },
        };
        let max_connections = parse(&lookup, "GREENLIGHT_DB_MAX_CONNECTIONS", 2u32)?;
        if max_connections == 0 {
            return Err(ConfigError {
                name: "GREENLIGHT_DB_MAX_CONNECTIONS",
                value: "0".into(),
                reason: "must be at least 1".into(),
            });
        }
        Ok(Self {
            database,
            max_connections,
            outbox_queue_url: required(&lookup, "GREENLIGHT_OUTBOX_QUEUE_URL")?,
            delivery_queue_url: lookup("GREENLIGHT_DELIVERY_QUEUE_URL").filter(|v| !v.is_empty()),
            timers: AwsTimersConfig {
                schedule_group: required(&lookup, "GREENLIGHT_SCHEDULE_GROUP")?,
                target_arn: required(&lookup, "GREENLIGHT_TIMEOUT_FUNCTION_ARN")?,
                role_arn: required(&lookup, "GREENLIGHT_SCHEDULER_ROLE_ARN")?,
                delay_queue_url: required(&lookup, "GREENLIGHT_TIMER_QUEUE_URL")?,
            },
            websocket_endpoint: lookup("GREENLIGHT_WEBSOCKET_ENDPOINT").filter(|v| !v.is_empty()),
            webhooks_allow_private: parse(&lookup, "GREENLIGHT_WEBHOOKS_ALLOW_PRIVATE", false)?,
            dead_letter_queue_url: lookup("GREENLIGHT_DEAD_LETTER_QUEUE_URL")
                .filter(|v| !v.is_empty()),
            channels: ChannelsConfig::from_lookup(&lookup)?,
        })
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("database credentials: {0}")]
    Credentials(String),
    #[error("database")]
    Store(#[from] crate::ports::StoreError),
}

/// What a function container holds between invocations.
#[derive(Clone)]
pub struct Lambda {
    pub app: App,
    pub relay: OutboxRelay,
    pub runner: JobRunner,
    pub dead_letters: Option<Arc<dyn DeadLetters>>,
}

/// A function's cold start: logs as Lambda asks (`AWS_LAMBDA_LOG_LEVEL`,
/// `AWS_LAMBDA_LOG_FORMAT`), then everything built from the environment. A bad setting
/// is logged with the variable's name and ends the start, which Lambda reports as an
/// init error.
pub async fn start() -> Result<Lambda, StartError> {
    crate::telemetry::init(|k| std::env::var(k).ok());
    Lambda::from_env().await.inspect_err(|e| {
        tracing::error!(error = %crate::telemetry::error_chain(e), "the function cannot start");
    })
}

impl Lambda {
    /// Builds everything from the environment. Migrations run here, at each cold start:
    /// applied ones are skipped, and PostgreSQL's advisory lock keeps two starting
    /// containers from running the same one.
    pub async fn from_env() -> Result<Self, StartError> {
        let config = LambdaConfig::from_env()?;
        let sdk = crate::adapters::aws::config_loader().load().await;
        Self::compose(&config, &sdk).await
    }

    pub async fn compose(
        config: &LambdaConfig,
        sdk: &aws_config::SdkConfig,
    ) -> Result<Self, StartError> {
        let url = match &config.database {
            Database::Url(u) => u.clone(),
            Database::Secret {
                arn,
                host,
                port,
                name,
            } => secrets::database_url(sdk, arn, host, *port, name)
                .await
                .map_err(StartError::Credentials)?,
        };
        let stores = sql::connect(&url, config.max_connections).await?;
        let clock = Arc::new(SystemClock);
        let app = App::new(Ports {
            stores,
            clock: clock.clone(),
            ids: Arc::new(UuidIds),
            changes: Arc::new(BroadcastFeed::new()),
            timers: Timers::External(Arc::new(AwsTimers::new(sdk, config.timers.clone(), clock))),
            sender: Arc::new(HttpSender::new(config.webhooks_allow_private)),
            pusher: config
                .websocket_endpoint
                .as_deref()
                .map(|e| Arc::new(ApiGatewayPusher::new(sdk, e)) as Arc<dyn crate::ports::Pusher>),
            channels: channels(&config.channels, sdk).await?,
        });
        let mut queues = SqsRelay::new(sdk, &config.outbox_queue_url);
        if let Some(url) = &config.delivery_queue_url {
            queues = queues.route(TaskKind::is_message, url);
        }
        let relay = OutboxRelay::new(app.clone(), Arc::new(queues));
        let runner = JobRunner::new(app.clone(), RunnerConfig::default());
        let dead_letters = config
            .dead_letter_queue_url
            .as_deref()
            .map(|url| Arc::new(SqsDeadLetters::new(sdk, url)) as Arc<dyn DeadLetters>);
        Ok(Self {
            app,
            relay,
            runner,
            dead_letters,
        })
    }
}

/// The channels the configuration turns on; secrets are read once per container.
async fn channels(c: &ChannelsConfig, sdk: &aws_config::SdkConfig) -> Result<Channels, StartError> {
    let link_key = secrets::secret_text(sdk, &c.link_secret_arn)
        .await
        .map_err(StartError::Credentials)?;
    let mut slack = c.slack.clone();
    if slack.bot_token.is_none()
        && let Some(arn) = &c.slack_secret_arn
    {
        let s = secrets::slack_secret(sdk, arn)
            .await
            .map_err(StartError::Credentials)?;
        if !s.bot_token.is_empty() && !s.signing_secret.is_empty() {
            slack.bot_token = Some(s.bot_token);
            slack.signing_secret = Some(s.signing_secret);
        }
    }
    Ok(Channels {
        slack: crate::adapters::slack_api::from_config(&slack),
        email: c.email_from.as_deref().map(|from| {
            Arc::new(SesEmail::new(sdk, from, c.ses_configuration_set.clone()))
                as Arc<dyn crate::ports::EmailSender>
        }),
        sms: c
            .sms_enabled
            .then(|| Arc::new(SnsSms::new(sdk)) as Arc<dyn crate::ports::SmsSender>),
        slack_signing_secret: slack.signing_secret,
        link_secret: Arc::from(link_key.into_bytes()),
        public_url: c.public_url.clone().unwrap_or_default(),
        mailbox: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(pairs: &[(&str, &str)]) -> Result<LambdaConfig, ConfigError> {
        let base = [
            ("GREENLIGHT_OUTBOX_QUEUE_URL", "https://sqs/outbox"),
            ("GREENLIGHT_TIMER_QUEUE_URL", "https://sqs/timers"),
            ("GREENLIGHT_SCHEDULE_GROUP", "greenlight"),
            (
                "GREENLIGHT_TIMEOUT_FUNCTION_ARN",
                "arn:aws:lambda:eu-west-1:1:function:t",
            ),
            ("GREENLIGHT_SCHEDULER_ROLE_ARN", "arn:aws:iam::1:role/s"),
            ("GREENLIGHT_PUBLIC_URL", "https://api.example.com/"),
            (
                "GREENLIGHT_LINK_SECRET_ARN",
                "arn:aws:secretsmanager:eu-west-1:1:secret:l",
            ),
        ];
        let map: HashMap<String, String> = base
            .iter()
            .chain(pairs)
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        LambdaConfig::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn the_database_comes_from_a_url_or_a_secret() {
        let c = cfg(&[("GREENLIGHT_DATABASE_URL", "postgres://u:p@h/db")]).unwrap();
        assert_eq!(c.database, Database::Url("postgres://u:p@h/db".into()));
        assert_eq!(c.max_connections, 2);
        assert!(!c.webhooks_allow_private);
        let c = cfg(&[
            ("GREENLIGHT_DATABASE_SECRET_ARN", "arn:secret"),
            ("GREENLIGHT_DATABASE_HOST", "cluster.example"),
        ])
        .unwrap();
        assert_eq!(
            c.database,
            Database::Secret {
                arn: "arn:secret".into(),
                host: "cluster.example".into(),
                port: 5432,
                name: "greenlight".into()
            }
        );
    }

    #[test]
    fn missing_or_bad_settings_are_named() {
        assert_eq!(cfg(&[]).unwrap_err().name, "GREENLIGHT_DATABASE_SECRET_ARN");
        assert_eq!(
            cfg(&[("GREENLIGHT_DATABASE_URL", "sqlite://x.db")])
                .unwrap_err()
                .name,
            "GREENLIGHT_DATABASE_URL"
        );
        let e = cfg(&[
            ("GREENLIGHT_DATABASE_URL", "postgres://h/db"),
            ("GREENLIGHT_DB_MAX_CONNECTIONS", "many"),
        ])
        .unwrap_err();
        assert_eq!(e.name, "GREENLIGHT_DB_MAX_CONNECTIONS");
        let map: HashMap<&str, &str> = [("GREENLIGHT_DATABASE_URL", "postgres://h/db")].into();
        let e = LambdaConfig::from_lookup(|k| map.get(k).map(|v| v.to_string())).unwrap_err();
        assert_eq!(
            (e.name, e.reason.as_str()),
            ("GREENLIGHT_OUTBOX_QUEUE_URL", "must be set")
        );
    }
}
