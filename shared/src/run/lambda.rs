//! The AWS composition: what every Lambda function builds once per container, from its
//! environment, and the shapes of the functions' mains: each binary in `functions/aws`
//! is one `serve…` call naming its handler.

use std::sync::Arc;

use aws_config::SdkConfig;
use lambda_runtime::{LambdaEvent, service_fn};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::adapters::aws::email::SesEmail;
use crate::adapters::aws::push::ApiGatewayPusher;
use crate::adapters::aws::relay::{SqsDeadLetters, SqsRelay};
use crate::adapters::aws::secrets::{self, SlackSecret};
use crate::adapters::aws::sms::SnsSms;
use crate::adapters::aws::timers::{AwsTimers, AwsTimersConfig};
use crate::adapters::changes::BroadcastFeed;
use crate::adapters::clock::SystemClock;
use crate::adapters::http_sender::HttpSender;
use crate::adapters::ids::UuidIds;
use crate::adapters::{dynamodb, sql};
use crate::app::Channels;
use crate::app::outbox::OutboxRelay;
use crate::app::outbox::{JobRunner, RunnerConfig, Tasks};
use crate::app::{App, Ports, Timers};
use crate::domain::TaskKind;
use crate::ports::{Clock, DeadLetters, EmailSender, Pusher, Scheduler, SmsSender};
use crate::run::config::{ChannelsConfig, ConfigError, Database, LambdaConfig, SlackConfig};
use crate::run::handlers::{HandlerError, relay_quietly};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("database credentials: {0}")]
    Credentials(String),
    #[error("database")]
    Store(#[from] crate::ports::StoreError),
}

/// The AWS services a function calls besides its store, its queues and Secrets
/// Manager. Each binary's main names its own (`Calls::NONE.scheduler().pushes()`): an
/// adapter no main names is never built, so the linker leaves its SDK client out of
/// that function's binary, and a function links only the SDKs it calls.
#[derive(Clone, Copy)]
pub struct Calls {
    tasks: Tasks,
    scheduler: Option<MakeScheduler>,
    email: Option<MakeEmail>,
    sms: Option<MakeSms>,
    pusher: Option<MakePusher>,
}

type MakeScheduler = fn(&SdkConfig, AwsTimersConfig, Arc<dyn Clock>) -> Arc<dyn Scheduler>;
/// From the sender's address and the SES configuration set.
type MakeEmail = fn(&SdkConfig, &str, Option<String>) -> Arc<dyn EmailSender>;
type MakeSms = fn(&SdkConfig) -> Arc<dyn SmsSender>;
/// From the WebSocket API's management endpoint.
type MakePusher = fn(&SdkConfig, &str) -> Arc<dyn Pusher>;

impl Calls {
    /// Only the store, the queues and Secrets Manager. Timers are still ordered (the
    /// orders go through the outbox to webhook-fanout, which sets them).
    pub const NONE: Calls = Calls {
        tasks: Tasks::NONE,
        scheduler: None,
        email: None,
        sms: None,
        pusher: None,
    };

    /// Runs the jobs of its queue: those `tasks`.
    pub const fn runs(self, tasks: Tasks) -> Self {
        Calls { tasks, ..self }
    }

    /// EventBridge Scheduler (and the SQS delay queue): sets and clears timers.
    pub const fn scheduler(self) -> Self {
        Calls {
            scheduler: Some(|sdk, config, clock| Arc::new(AwsTimers::new(sdk, config, clock))),
            ..self
        }
    }

    /// SES and SNS: email and text messages to approvers, when configured.
    pub const fn email_and_sms(self) -> Self {
        Calls {
            email: Some(|sdk, from, set| Arc::new(SesEmail::new(sdk, from, set))),
            sms: Some(|sdk| Arc::new(SnsSms::new(sdk))),
            ..self
        }
    }

    /// API Gateway's management API: pushes to the live stream's WebSocket connections.
    pub const fn pushes(self) -> Self {
        Calls {
            pusher: Some(|sdk, endpoint| Arc::new(ApiGatewayPusher::new(sdk, endpoint))),
            ..self
        }
    }
}

/// What a function container holds between invocations.
#[derive(Clone)]
pub struct Lambda {
    pub app: App,
    pub relay: OutboxRelay,
    pub runner: JobRunner,
    pub dead_letters: Option<Arc<dyn DeadLetters>>,
    /// The live stream's WebSocket URL (`wss://…`), from `GREENLIGHT_WEBSOCKET_ENDPOINT`.
    pub stream_url: Option<String>,
}

/// A function's cold start: logs as Lambda asks (`AWS_LAMBDA_LOG_LEVEL`,
/// `AWS_LAMBDA_LOG_FORMAT`), then everything built from the environment. A bad setting
/// is logged with the variable's name and ends the start, which Lambda reports as an
/// init error.
pub async fn start(calls: Calls) -> Result<Lambda, StartError> {
    crate::telemetry::init(|k| std::env::var(k).ok());
    Lambda::from_env(calls).await.inspect_err(|e| {
        tracing::error!(error = %crate::telemetry::error_chain(e), "the function cannot start");
    })
}

/// A function's whole life: the cold start, then `handle` on every event.
pub async fn serve<E, R>(
    calls: Calls,
    handle: impl AsyncFn(&Lambda, E) -> Result<R, HandlerError>,
) -> Result<(), lambda_runtime::Error>
where
    E: DeserializeOwned,
    R: Serialize,
{
    let lambda = start(calls).await?;
    let (lambda, handle) = (&lambda, &handle);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<E>| async move {
        handle(lambda, event.payload)
            .await
            .map_err(lambda_runtime::Error::from)
    }))
    .await
}

/// `serve` for the functions whose events change things: what an event wrote to the
/// outbox (a message's webhooks, an escalation's timers, an executor's report) is
/// relayed before the invocation returns, since nothing runs after.
pub async fn serve_relaying<E, R>(
    calls: Calls,
    handle: impl AsyncFn(&Lambda, E) -> Result<R, HandlerError>,
) -> Result<(), lambda_runtime::Error>
where
    E: DeserializeOwned,
    R: Serialize,
{
    serve(calls, async |lambda: &Lambda, event: E| {
        let answer = handle(lambda, event).await;
        relay_quietly(&lambda.relay).await;
        answer
    })
    .await
}

/// The HTTP functions' life: the cold start, then `router` (which relays after each
/// change itself) serves every request.
pub async fn serve_http(
    calls: Calls,
    router: impl FnOnce(Lambda) -> axum::Router,
) -> Result<(), lambda_runtime::Error> {
    let lambda = start(calls).await?;
    lambda_http::run(router(lambda)).await
}

impl Lambda {
    /// Builds everything from the environment. Nothing is migrated or made here: the
    /// migrate function migrates PostgreSQL once per deploy (`handlers::migrate`), and
    /// the template makes the DynamoDB table.
    pub async fn from_env(calls: Calls) -> Result<Self, StartError> {
        let config = LambdaConfig::from_env()?;
        let sdk = crate::adapters::sdk::lambda_config(|k| std::env::var(k).ok());
        Self::compose(calls, &config, &sdk).await
    }

    pub async fn compose(
        calls: Calls,
        config: &LambdaConfig,
        sdk: &SdkConfig,
    ) -> Result<Self, StartError> {
        // Every secret the container needs, in one round trip.
        let slack_arn = config
            .channels
            .slack_secret_arn
            .as_deref()
            .filter(|_| config.common.slack.bot_token.is_none());
        let mut wanted = vec![
            config.audit_key_arn.as_str(),
            config.channels.link_secret_arn.as_str(),
        ];
        wanted.extend(slack_arn);
        if let Database::Secret(s) = &config.database {
            wanted.push(&s.arn);
        }
        // `secret_texts` answers one text per secret asked for, in order.
        let mut texts = secrets::secret_texts(sdk, &wanted)
            .await
            .map_err(StartError::Credentials)?
            .into_iter();
        let mut next = || texts.next().unwrap_or_default();
        let (audit_key, link_key) = (next(), next());
        let slack_secret = slack_arn
            .map(|arn| secrets::slack_secret(&next(), arn))
            .transpose()
            .map_err(StartError::Credentials)?;
        let url: SecretString = match &config.database {
            Database::Url(u) => u.clone(),
            Database::Secret(s) => secrets::database_url(&next(), &s.arn, &s.host, s.port, &s.name)
                .map_err(StartError::Credentials)?
                .into(),
        };
        let url = url.expose_secret();
        let stores = if url.starts_with(crate::adapters::DYNAMODB_SCHEME) {
            dynamodb::open(sdk, url)?
        } else {
            sql::connect_postgres(url, config.common.max_connections).await?
        };
        let channels = channels(
            calls,
            &config.channels,
            &config.common.slack,
            sdk,
            link_key,
            slack_secret,
        );
        let clock = Arc::new(SystemClock);
        let app = App::new(Ports {
            // Containers come and go: the counts live in the database they share.
            limiter: stores.rates.clone(),
            limits: config.common.limits,
            stores,
            clock: clock.clone(),
            ids: Arc::new(UuidIds),
            changes: Arc::new(BroadcastFeed::new()),
            timers: Timers::External(
                calls
                    .scheduler
                    .map(|make| make(sdk, config.timers.clone(), clock)),
            ),
            sender: Arc::new(HttpSender::new(config.common.webhooks_allow_private)),
            completions: config
                .common
                .ai
                .completions()
                .unwrap_or_else(|| Arc::new(crate::adapters::chat::StandInChat)),
            pusher: calls
                .pusher
                .zip(config.websocket_endpoint.as_deref())
                .map(|(make, endpoint)| make(sdk, endpoint)),
            channels,
            audit_key: Arc::from(audit_key.into_bytes()),
        });
        let mut queues = SqsRelay::new(sdk, &config.outbox_queue_url);
        if let Some(url) = &config.delivery_queue_url {
            queues = queues.route(TaskKind::is_message, url);
        }
        if let Some(url) = &config.steps_queue_url {
            queues = queues.route(TaskKind::is_step, url);
        }
        let relay = OutboxRelay::new(app.clone(), Arc::new(queues));
        let runner = JobRunner::new(app.clone(), RunnerConfig::default(), calls.tasks);
        let dead_letters = config
            .dead_letter_queue_url
            .as_deref()
            .map(|url| Arc::new(SqsDeadLetters::new(sdk, url)) as Arc<dyn DeadLetters>);
        Ok(Self {
            app,
            relay,
            runner,
            dead_letters,
            stream_url: config
                .websocket_endpoint
                .as_deref()
                .map(|e| e.replacen("https://", "wss://", 1)),
        })
    }
}

/// The database's URL: as configured, or made from the secret with its credentials.
pub async fn database_url(
    database: &Database,
    sdk: &SdkConfig,
) -> Result<SecretString, StartError> {
    Ok(match database {
        Database::Url(u) => u.clone(),
        Database::Secret(s) => {
            let text = secrets::secret_text(sdk, &s.arn)
                .await
                .map_err(StartError::Credentials)?;
            secrets::database_url(&text, &s.arn, &s.host, s.port, &s.name)
                .map_err(StartError::Credentials)?
                .into()
        }
    })
}

/// The channels the configuration turns on, with the secrets read at the cold start.
fn channels(
    calls: Calls,
    c: &ChannelsConfig,
    slack: &SlackConfig,
    sdk: &SdkConfig,
    link_key: String,
    slack_secret: Option<SlackSecret>,
) -> Channels {
    let mut slack = slack.clone();
    if let Some(s) = slack_secret
        && !s.bot_token.is_empty()
        && !s.signing_secret.is_empty()
    {
        slack.bot_token = Some(s.bot_token.into());
        slack.signing_secret = Some(s.signing_secret.into());
    }
    Channels {
        slack: super::slack_api(&slack),
        email: calls
            .email
            .zip(c.email_from.as_deref())
            .map(|(make, from)| make(sdk, from, c.ses_configuration_set.clone())),
        sms: calls.sms.filter(|_| c.sms_enabled).map(|make| make(sdk)),
        email_offered: c.email_from.is_some(),
        sms_offered: c.sms_enabled,
        slack_signing_secret: slack.signing_secret.map(|s| s.expose_secret().to_owned()),
        link_secret: Arc::from(link_key.into_bytes()),
        public_url: c.public_url.clone().unwrap_or_default(),
        mailbox: None,
    }
}
