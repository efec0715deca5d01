//! `webhook`: `{url, body?}`, signed by Standard Webhooks with the tenant's callback
//! secret; the `webhook-id` stays the same across retries.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Kind, StepKind, check_url_field};
use crate::domain::FieldError;

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
        check_url_field(config, field, dynamic)
    }
}
