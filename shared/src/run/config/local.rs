//! The local server's settings.

use std::net::SocketAddr;
use std::path::PathBuf;

use secrecy::SecretString;

use super::{Common, ConfigError, Defaults, base_url, database_url, non_blank, parse};

#[derive(Debug, Clone)]
pub struct LocalConfig {
    /// `GREENLIGHT_DATABASE_URL`: `sqlite://…` (default `sqlite://.greenlight/greenlight.db`),
    /// `postgres://…`, or `dynamodb://TABLE?endpoint=…&region=…` (a DynamoDB table).
    pub database_url: SecretString,
    /// `GREENLIGHT_BIND`, default `127.0.0.1:8080`.
    pub bind: SocketAddr,
    /// `GREENLIGHT_API_KEY`: a key the default tenant accepts.
    pub api_key: Option<SecretString>,
    /// At most 10 database connections by default, and private receivers allowed unless
    /// `GREENLIGHT_WEBHOOKS_ALLOW_PRIVATE=false`.
    pub common: Common,
    /// `GREENLIGHT_PUBLIC_URL`: the base of links in messages; default `http://{bind}`.
    pub public_url: String,
    /// The dashboard's first admin, made at the first start (without one a one-time
    /// link is printed).
    pub admin: Option<Admin>,
    /// `GREENLIGHT_AUDIT_KEY`: the key that seals audit heads; without it, the key in
    /// `GREENLIGHT_AUDIT_KEY_FILE` (default `.greenlight/audit.key`, made at first start).
    /// Either way outside the database, so that the database alone cannot forge history.
    pub audit_key: Option<SecretString>,
    pub audit_key_file: PathBuf,
}

/// `GREENLIGHT_ADMIN_EMAIL` and `GREENLIGHT_ADMIN_PASSWORD`.
#[derive(Debug, Clone)]
pub struct Admin {
    pub email: String,
    pub password: SecretString,
}

impl LocalConfig {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let database_url = database_url(
            lookup("GREENLIGHT_DATABASE_URL")
                .unwrap_or_else(|| "sqlite://.greenlight/greenlight.db".into()),
            &["sqlite:", "postgres://", "postgresql://", "dynamodb://"],
            "must start with sqlite://, postgres://, postgresql:// or dynamodb://",
        )?;
        let bind = parse(
            &lookup,
            "GREENLIGHT_BIND",
            SocketAddr::from(([127, 0, 0, 1], 8080)),
        )?;
        let common = Common::from_lookup(
            &lookup,
            Defaults {
                max_connections: 10,
                webhooks_allow_private: true,
            },
        )?;
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
        let public_url = base_url(
            "GREENLIGHT_PUBLIC_URL",
            non_blank(&lookup, "GREENLIGHT_PUBLIC_URL").unwrap_or_else(|| format!("http://{bind}")),
        )?;
        Ok(Self {
            database_url,
            bind,
            api_key: api_key.map(SecretString::from),
            common,
            public_url,
            admin: admin(&lookup)?,
            audit_key: non_blank(&lookup, "GREENLIGHT_AUDIT_KEY").map(SecretString::from),
            audit_key_file: non_blank(&lookup, "GREENLIGHT_AUDIT_KEY_FILE")
                .unwrap_or_else(|| ".greenlight/audit.key".into())
                .into(),
        })
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }
}

fn admin(lookup: &impl Fn(&str) -> Option<String>) -> Result<Option<Admin>, ConfigError> {
    match (
        non_blank(lookup, "GREENLIGHT_ADMIN_EMAIL"),
        lookup("GREENLIGHT_ADMIN_PASSWORD").filter(|v| !v.is_empty()),
    ) {
        (Some(email), Some(password)) => Ok(Some(Admin {
            email,
            password: password.into(),
        })),
        (None, None) => Ok(None),
        (Some(_), None) => Err(ConfigError {
            name: "GREENLIGHT_ADMIN_PASSWORD",
            value: String::new(),
            reason: "must be set with GREENLIGHT_ADMIN_EMAIL".into(),
        }),
        (None, Some(_)) => Err(ConfigError {
            name: "GREENLIGHT_ADMIN_EMAIL",
            value: String::new(),
            reason: "must be set with GREENLIGHT_ADMIN_PASSWORD".into(),
        }),
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;
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
        assert!(cfg(&[]).unwrap().common.webhooks_allow_private);
        assert!(
            !cfg(&[("GREENLIGHT_WEBHOOKS_ALLOW_PRIVATE", "false")])
                .unwrap()
                .common
                .webhooks_allow_private
        );
        let e = cfg(&[("GREENLIGHT_WEBHOOKS_ALLOW_PRIVATE", "nope")]).unwrap_err();
        assert_eq!(e.name, "GREENLIGHT_WEBHOOKS_ALLOW_PRIVATE");
    }

    #[test]
    fn slack_and_links_are_configured_with_clear_errors() {
        let c = cfg(&[]).unwrap();
        assert!(c.common.slack.bot_token.is_none());
        assert_eq!(c.common.slack.api_url, "https://slack.com/api");
        assert_eq!(c.public_url, "http://127.0.0.1:8080");
        let c = cfg(&[
            ("GREENLIGHT_SLACK_BOT_TOKEN", "xoxb-1"),
            ("GREENLIGHT_SLACK_SIGNING_SECRET", "s3cret"),
            ("GREENLIGHT_PUBLIC_URL", "https://approve.example.com/"),
        ])
        .unwrap();
        assert_eq!(
            c.common
                .slack
                .bot_token
                .as_ref()
                .map(ExposeSecret::expose_secret),
            Some("xoxb-1")
        );
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
        assert_eq!(
            c.database_url.expose_secret(),
            "sqlite://.greenlight/greenlight.db"
        );
        assert_eq!(c.bind.to_string(), "127.0.0.1:8080");
        assert!(c.api_key.is_none());
    }

    #[test]
    fn a_dynamodb_table_is_a_database_too() {
        let url = "dynamodb://greenlight?endpoint=http://127.0.0.1:5000&region=us-east-1";
        let c = cfg(&[("GREENLIGHT_DATABASE_URL", url)]).unwrap();
        assert_eq!(c.database_url.expose_secret(), url);
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
