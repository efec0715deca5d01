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
}

impl std::fmt::Debug for LocalConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalConfig")
            .field("database_url", &redact_url(&self.database_url))
            .field("bind", &self.bind)
            .field("api_key", &self.api_key.as_ref().map(|_| "<set>"))
            .field("max_connections", &self.max_connections)
            .field("webhooks_allow_private", &self.webhooks_allow_private)
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
        Ok(Self {
            database_url,
            bind,
            api_key,
            max_connections,
            webhooks_allow_private,
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
