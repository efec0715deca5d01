//! The Lambda functions' settings; all functions of a stack get the same ones.

use secrecy::SecretString;

use super::{Common, ConfigError, Defaults, base_url, database_url, non_blank, parse};
use crate::adapters::aws::timers::AwsTimersConfig;

#[derive(Debug, Clone)]
pub struct LambdaConfig {
    pub database: Database,
    /// At most 2 database connections by default (one container serves one event at a
    /// time), and no private receivers unless `GREENLIGHT_WEBHOOKS_ALLOW_PRIVATE=true`.
    pub common: Common,
    /// `GREENLIGHT_OUTBOX_QUEUE_URL`: where committed jobs are relayed.
    pub outbox_queue_url: String,
    /// `GREENLIGHT_DELIVERY_QUEUE_URL`: where jobs of messages to approvers are relayed
    /// instead, when set (the delivery function's queue).
    pub delivery_queue_url: Option<String>,
    /// `GREENLIGHT_STEPS_QUEUE_URL`: where jobs of workflow steps are relayed instead,
    /// when set (the workflow-steps function's queue).
    pub steps_queue_url: Option<String>,
    /// `GREENLIGHT_SCHEDULE_GROUP`, `GREENLIGHT_TIMEOUT_FUNCTION_ARN`,
    /// `GREENLIGHT_SCHEDULER_ROLE_ARN`, `GREENLIGHT_TIMER_QUEUE_URL`,
    /// `GREENLIGHT_SCHEDULE_DEAD_LETTER_ARN` (optional).
    pub timers: AwsTimersConfig,
    /// `GREENLIGHT_WEBSOCKET_ENDPOINT`: the live stream's WebSocket API management URL.
    pub websocket_endpoint: Option<String>,
    /// `GREENLIGHT_DEAD_LETTER_QUEUE_URL`: the dead-letter queue of the queue this
    /// function reads, for messages no retry can help.
    pub dead_letter_queue_url: Option<String>,
    pub channels: ChannelsConfig,
    /// `GREENLIGHT_AUDIT_KEY_ARN`: the secret whose text seals each request's audit head.
    pub audit_key_arn: String,
}

/// Where the database is: a URL, or the cluster's host and the Secrets Manager secret
/// with its credentials (what the template passes).
#[derive(Debug, Clone)]
pub enum Database {
    /// `GREENLIGHT_DATABASE_URL`: a `postgres://` URL, or `dynamodb://TABLE` (the table
    /// in the function's own account and region).
    Url(SecretString),
    Secret(DatabaseSecret),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseSecret {
    /// `GREENLIGHT_DATABASE_SECRET_ARN`: the secret's ARN or name.
    pub arn: String,
    /// `GREENLIGHT_DATABASE_HOST`.
    pub host: String,
    /// `GREENLIGHT_DATABASE_PORT`, default 5432.
    pub port: u16,
    /// `GREENLIGHT_DATABASE_NAME`, default `greenlight`.
    pub name: String,
}

/// How approvers are reached from AWS; Slack is in `Common`.
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
    /// `GREENLIGHT_EMAIL_FROM`: the verified SES sender; email is off without it.
    pub email_from: Option<String>,
    /// `GREENLIGHT_SES_CONFIGURATION_SET`: reports bounces and complaints.
    pub ses_configuration_set: Option<String>,
    /// `GREENLIGHT_SMS_ENABLED`, default `false`: text messages through SNS.
    pub sms_enabled: bool,
}

impl ChannelsConfig {
    fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Ok(Self {
            public_url: non_blank(lookup, "GREENLIGHT_PUBLIC_URL")
                .map(|url| base_url("GREENLIGHT_PUBLIC_URL", url))
                .transpose()?,
            link_secret_arn: required(lookup, "GREENLIGHT_LINK_SECRET_ARN")?,
            slack_secret_arn: non_blank(lookup, "GREENLIGHT_SLACK_SECRET_ARN"),
            email_from: non_blank(lookup, "GREENLIGHT_EMAIL_FROM"),
            ses_configuration_set: non_blank(lookup, "GREENLIGHT_SES_CONFIGURATION_SET"),
            sms_enabled: parse(lookup, "GREENLIGHT_SMS_ENABLED", false)?,
        })
    }
}

fn required(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<String, ConfigError> {
    non_blank(lookup, name).ok_or(ConfigError {
        name,
        value: String::new(),
        reason: "must be set".into(),
    })
}

impl LambdaConfig {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let database = match lookup("GREENLIGHT_DATABASE_URL").filter(|v| !v.is_empty()) {
            Some(url) => Database::Url(database_url(
                url,
                &["postgres://", "postgresql://", "dynamodb://"],
                "must be a postgres:// or dynamodb:// URL on AWS",
            )?),
            None => Database::Secret(DatabaseSecret {
                arn: required(&lookup, "GREENLIGHT_DATABASE_SECRET_ARN")?,
                host: required(&lookup, "GREENLIGHT_DATABASE_HOST")?,
                port: parse(&lookup, "GREENLIGHT_DATABASE_PORT", 5432u16)?,
                name: parse(&lookup, "GREENLIGHT_DATABASE_NAME", "greenlight".to_owned())?,
            }),
        };
        let common = Common::from_lookup(
            &lookup,
            Defaults {
                max_connections: 2,
                webhooks_allow_private: false,
            },
        )?;
        Ok(Self {
            database,
            common,
            outbox_queue_url: required(&lookup, "GREENLIGHT_OUTBOX_QUEUE_URL")?,
            delivery_queue_url: lookup("GREENLIGHT_DELIVERY_QUEUE_URL").filter(|v| !v.is_empty()),
            steps_queue_url: lookup("GREENLIGHT_STEPS_QUEUE_URL").filter(|v| !v.is_empty()),
            timers: AwsTimersConfig {
                schedule_group: required(&lookup, "GREENLIGHT_SCHEDULE_GROUP")?,
                target_arn: required(&lookup, "GREENLIGHT_TIMEOUT_FUNCTION_ARN")?,
                role_arn: required(&lookup, "GREENLIGHT_SCHEDULER_ROLE_ARN")?,
                delay_queue_url: required(&lookup, "GREENLIGHT_TIMER_QUEUE_URL")?,
                dead_letter_arn: non_blank(&lookup, "GREENLIGHT_SCHEDULE_DEAD_LETTER_ARN"),
            },
            websocket_endpoint: lookup("GREENLIGHT_WEBSOCKET_ENDPOINT").filter(|v| !v.is_empty()),
            dead_letter_queue_url: lookup("GREENLIGHT_DEAD_LETTER_QUEUE_URL")
                .filter(|v| !v.is_empty()),
            channels: ChannelsConfig::from_lookup(&lookup)?,
            audit_key_arn: required(&lookup, "GREENLIGHT_AUDIT_KEY_ARN")?,
        })
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;
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
            (
                "GREENLIGHT_AUDIT_KEY_ARN",
                "arn:aws:secretsmanager:eu-west-1:1:secret:a",
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
        let Database::Url(url) = &c.database else {
            panic!("{:?}", c.database)
        };
        assert_eq!(url.expose_secret(), "postgres://u:p@h/db");
        let table = cfg(&[("GREENLIGHT_DATABASE_URL", "dynamodb://greenlight-prod")]).unwrap();
        assert!(
            matches!(&table.database, Database::Url(u) if u.expose_secret() == "dynamodb://greenlight-prod")
        );
        assert_eq!(c.common.max_connections, 2);
        assert!(!c.common.webhooks_allow_private);
        let c = cfg(&[
            ("GREENLIGHT_DATABASE_SECRET_ARN", "arn:secret"),
            ("GREENLIGHT_DATABASE_HOST", "cluster.example"),
        ])
        .unwrap();
        let Database::Secret(secret) = &c.database else {
            panic!("{:?}", c.database)
        };
        assert_eq!(
            *secret,
            DatabaseSecret {
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
