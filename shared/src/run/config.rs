//! Configuration from the environment, typed, with an error that names the variable.

use std::net::SocketAddr;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{name}={value:?} is invalid: {reason}")]
pub struct ConfigError {
    pub name: &'static str,
    pub value: String,
    pub reason: String,
}

/// The local server's settings.
#[derive(Clone, PartialEq, Eq)]
pub struct LocalConfig {
    /// `GREENLIGHT_DATABASE_URL`: `sqlite://…` (default `sqlite://.greenlight/greenlight.db`)
    /// or `postgres://…`.
    pub database_url: String,
    /// `GREENLIGHT_BIND`, default `127.0.0.1:8080`.
    pub bind: SocketAddr,
    /// `GREENLIGHT_API_KEY`: a key the default tenant accepts.
    pub api_key: Option<String>,
    /// `GREENLIGHT_DB_MAX_CONNECTIONS`, default 10.
    pub max_connections: u32,
    /// `GREENLIGHT_WEBHOOKS_ALLOW_PRIVATE`, default `true`: webhook, callback and
    /// executor receivers on loopback and private networks are allowed.
    pub webhooks_allow_private: bool,
    pub slack: SlackConfig,
    /// `GREENLIGHT_PUBLIC_URL`: the base of links in messages; default `http://{bind}`.
    pub public_url: String,
    /// `GREENLIGHT_ADMIN_EMAIL` and `GREENLIGHT_ADMIN_PASSWORD`: the dashboard's first
    /// admin, made at the first start (without them a one-time link is printed).
    pub admin: Option<(String, String)>,
}

/// Slack, when configured: without a bot token messages go to the local outbox (the
/// local server) or the Slack channel is off (Lambda).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct SlackConfig {
    /// `GREENLIGHT_SLACK_BOT_TOKEN`.
    pub bot_token: Option<String>,
    /// `GREENLIGHT_SLACK_SIGNING_SECRET`.
    pub signing_secret: Option<String>,
    /// `GREENLIGHT_SLACK_API_URL`, default Slack's own.
    pub api_url: String,
}

impl SlackConfig {
    pub fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let set = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let api_url = set("GREENLIGHT_SLACK_API_URL")
            .unwrap_or_else(|| crate::adapters::slack_api::DEFAULT_API_URL.to_owned());
        check_http_url("GREENLIGHT_SLACK_API_URL", &api_url)?;
        let bot_token = set("GREENLIGHT_SLACK_BOT_TOKEN");
        let signing_secret = set("GREENLIGHT_SLACK_SIGNING_SECRET");
        if bot_token.is_some() && signing_secret.is_none() {
            return Err(ConfigError {
                name: "GREENLIGHT_SLACK_SIGNING_SECRET",
                value: String::new(),
                reason: "must be set with GREENLIGHT_SLACK_BOT_TOKEN, to check Slack's calls"
                    .into(),
            });
        }
        Ok(Self {
            bot_token,
            signing_secret,
            api_url,
        })
    }
}

impl std::fmt::Debug for SlackConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackConfig")
            .field("bot_token", &self.bot_token.as_ref().map(|_| "<set>"))
            .field(
                "signing_secret",
                &self.signing_secret.as_ref().map(|_| "<set>"),
            )
            .field("api_url", &self.api_url)
            .finish()
    }
}

/// Checks that `value` is an absolute http(s) URL.
pub(crate) fn check_http_url(name: &'static str, value: &str) -> Result<(), ConfigError> {
    match url::Url::parse(value) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(()),
        _ => Err(ConfigError {
            name,
            value: value.to_owned(),
            reason: "must be an absolute http:// or https:// URL".into(),
        }),
    }
}

impl std::fmt::Debug for LocalConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalConfig")
            .field("database_url", &redact_url(&self.database_url))
            .field("bind", &self.bind)
            .field("api_key", &self.api_key.as_ref().map(|_| "<set>"))
            .field("max_connections", &self.max_connections)
            .field("webhooks_allow_private", &self.webhooks_allow_private)
            .field("slack", &self.slack)
            .field("public_url", &self.public_url)
            .field("admin", &self.admin.as_ref().map(|(email, _)| email))
            .finish()
    }
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

pub(crate) fn parse<T: std::str::FromStr>(
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

impl LocalConfig {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let database_url = lookup("GREENLIGHT_DATABASE_URL")
            .unwrap_or_else(|| "sqlite://.greenlight/greenlight.db".into());
        let known = ["sqlite:", "postgres://", "postgresql://"];
        if !known.iter().any(|p| database_url.starts_with(p)) {
            return Err(ConfigError {
                name: "GREENLIGHT_DATABASE_URL",
                value: redact_url(&database_url),
                reason: "must start with sqlite://, postgres:// or postgresql://".into(),
            });
        }
        let bind = parse(
            &lookup,
            "GREENLIGHT_BIND",
            SocketAddr::from(([127, 0, 0, 1], 8080)),
        )?;
        let max_connections = parse(&lookup, "GREENLIGHT_DB_MAX_CONNECTIONS", 10u32)?;
        if max_connections == 0 {
            return Err(ConfigError {
                name: "GREENLIGHT_DB_MAX_CONNECTIONS",
                value: "0".into(),
                reason: "must be at least 1".into(),
            });
        }
        let api_key = lookup("GREENLIGHT_API_KEY").filter(|k| !k.is_empty());
        if let Some(k) = &api_key
            && k.len() < 16
        {
            return Err(ConfigError {
                name: "GREENLIGHT_API_KEY",
                value: "<hidden>".into(),
                reason: "must be at least 16 characters".into(),
            });
        }
        let webhooks_allow_private = parse(&lookup, "GREENLIGHT_WEBHOOKS_ALLOW_PRIVATE", true)?;
        let public_url = lookup("GREENLIGHT_PUBLIC_URL")
            .filter(|u| !u.trim().is_empty())
            .unwrap_or_else(|| format!("http://{bind}"));
        check_http_url("GREENLIGHT_PUBLIC_URL", &public_url)?;
        let admin = match (
            lookup("GREENLIGHT_ADMIN_EMAIL").filter(|v| !v.trim().is_empty()),
            lookup("GREENLIGHT_ADMIN_PASSWORD").filter(|v| !v.is_empty()),
        ) {
            (Some(email), Some(password)) => Some((email, password)),
            (None, None) => None,
            (Some(_), None) => {
                return Err(ConfigError {
                    name: "GREENLIGHT_ADMIN_PASSWORD",
                    value: String::new(),
                    reason: "must be set with GREENLIGHT_ADMIN_EMAIL".into(),
                });
            }
            (None, Some(_)) => {
                return Err(ConfigError {
                    name: "GREENLIGHT_ADMIN_EMAIL",
                    value: String::new(),
                    reason: "must be set with GREENLIGHT_ADMIN_PASSWORD".into(),
                });
            }
        };
        Ok(Self {
            admin,
            database_url,
            bind,
            api_key,
            max_connections,
            webhooks_allow_private,
            slack: SlackConfig::from_lookup(&lookup)?,
            public_url: public_url.trim_end_matches('/').to_owned(),
        })
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(pairs: &[(&str, &str)]) -> Result<LocalConfig, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        LocalConfig::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn private_receivers_are_allowed_locally_unless_turned_off() {
        assert!(cfg(&[]).unwrap().webhooks_allow_private);
        assert!(
            !cfg(&[("GREENLIGHT_WEBHOOKS_ALLOW_PRIVATE", "false")])
                .unwrap()
                .webhooks_allow_private
        );
        let e = cfg(&[("GREENLIGHT_WEBHOOKS_ALLOW_PRIVATE", "nope")]).unwrap_err();
        assert_eq!(e.name, "GREENLIGHT_WEBHOOKS_ALLOW_PRIVATE");
    }

    #[test]
    fn slack_and_links_are_configured_with_clear_errors() {
        let c = cfg(&[]).unwrap();
        assert_eq!(c.slack.bot_token, None);
        assert_eq!(c.slack.api_url, "https://slack.com/api");
        assert_eq!(c.public_url, "http://127.0.0.1:8080");
        let c = cfg(&[
            ("GREENLIGHT_SLACK_BOT_TOKEN", "xoxb-1"),
            ("GREENLIGHT_SLACK_SIGNING_SECRET", "s3cret"),
            ("GREENLIGHT_PUBLIC_URL", "https://approve.example.com/"),
        ])
        .unwrap();
        assert_eq!(c.slack.bot_token.as_deref(), Some("xoxb-1"));
        assert_eq!(c.public_url, "https://approve.example.com");
        assert!(!format!("{c:?}").contains("s3cret"));
        let e = cfg(&[("GREENLIGHT_SLACK_BOT_TOKEN", "xoxb-1")]).unwrap_err();
        assert_eq!(e.name, "GREENLIGHT_SLACK_SIGNING_SECRET");
        let e = cfg(&[("GREENLIGHT_PUBLIC_URL", "approve.example.com")]).unwrap_err();
        assert_eq!(e.name, "GREENLIGHT_PUBLIC_URL");
        let e = cfg(&[("GREENLIGHT_SLACK_API_URL", "ftp://x")]).unwrap_err();
        assert_eq!(e.name, "GREENLIGHT_SLACK_API_URL");
    }

    #[test]
    fn defaults_run_on_sqlite_on_loopback() {
        let c = cfg(&[]).unwrap();
        assert_eq!(c.database_url, "sqlite://.greenlight/greenlight.db");
        assert_eq!(c.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(c.api_key, None);
    }

    #[test]
    fn bad_values_name_the_variable() {
        let e = cfg(&[("GREENLIGHT_BIND", "localhost")]).unwrap_err();
        assert_eq!(e.name, "GREENLIGHT_BIND");
        let e = cfg(&[("GREENLIGHT_DATABASE_URL", "mysql://x")]).unwrap_err();
        assert_eq!(e.name, "GREENLIGHT_DATABASE_URL");
        let e = cfg(&[("GREENLIGHT_API_KEY", "short")]).unwrap_err();
        assert_eq!(e.name, "GREENLIGHT_API_KEY");
        assert!(
            !e.to_string().contains("short"),
            "secrets stay out of errors"
        );
    }

    #[test]
    fn debug_output_hides_secrets() {
        let c = cfg(&[
            ("GREENLIGHT_DATABASE_URL", "postgres://u:hunter2@db/x"),
            ("GREENLIGHT_API_KEY", "0123456789abcdefXYZ"),
        ])
        .unwrap();
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("XYZ"),
            "{shown}"
        );
    }
}
