//! `http`: `{method, url, headers?, body?, timeoutSeconds?}` → `{status, headers, body}`.
//! A non-2xx answer is a failed attempt; each attempt carries
//! `Idempotency-Key: <runId>:<stepKey>:<attempt>`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Kind, StepKind, check_url_field};
use crate::domain::FieldError;

pub struct Http;

pub const MAX_TIMEOUT_SECONDS: u64 = 60;
const DEFAULT_TIMEOUT_SECONDS: u64 = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

/// A rendered `http` config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HttpConfig {
    pub method: HttpMethod,
    pub url: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub body: Option<Value>,
    #[serde(default)]
    pub timeout_seconds: Option<u64>,
}

impl HttpConfig {
    pub fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(
            self.timeout_seconds
                .unwrap_or(DEFAULT_TIMEOUT_SECONDS)
                .clamp(1, MAX_TIMEOUT_SECONDS),
        )
    }
}

impl StepKind for Http {
    fn kind(&self) -> Kind {
        Kind::Http
    }

    fn schema(&self) -> Value {
        json!({
            "type": "object",
            "required": ["method", "url"],
            "properties": {
                "method": {"enum": ["GET", "POST", "PUT", "PATCH", "DELETE"]},
                "url": {"type": "string", "minLength": 1, "maxLength": 2048},
                "headers": {
                    "type": "object",
                    "maxProperties": 32,
                    "propertyNames": {"pattern": "^[A-Za-z0-9-]{1,64}$"},
                    "additionalProperties": {"type": "string", "maxLength": 4096}
                },
                "body": {},
                "timeoutSeconds": {"type": "integer", "minimum": 1, "maximum": MAX_TIMEOUT_SECONDS}
            },
            "additionalProperties": false
        })
    }

    fn check(&self, config: &Value, field: &str, dynamic: &[String]) -> Vec<FieldError> {
        check_url_field(config, field, dynamic)
    }
}
