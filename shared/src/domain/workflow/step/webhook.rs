//! `webhook`: `{url, body?}`, signed by Standard Webhooks with the tenant's callback
//! secret; the `webhook-id` stays the same across retries.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Kind, StepKind};
use crate::domain::FieldError;
use crate::domain::webhook::check_url;

pub struct Webhook;

/// A rendered `webhook` config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookConfig {
    pub url: String,
    #[serde(default)]
    pub body: Option<Value>,
}

impl StepKind for Webhook {
    fn kind(&self) -> Kind {
        Kind::Webhook
    }

    fn schema(&self) -> Value {
        json!({
            "type": "object",
            "required": ["url"],
            "properties": {
                "url": {"type": "string", "minLength": 1, "maxLength": 2048},
                "body": {}
            },
            "additionalProperties": false
        })
    }

    fn check(&self, config: &Value, field: &str, dynamic: &[String]) -> Vec<FieldError> {
        let at = format!("{field}/url");
        match config.get("url").and_then(Value::as_str) {
            Some(url) if !dynamic.contains(&at) => check_url(url, &at).err().into_iter().collect(),
            _ => Vec::new(),
        }
    }
}
