//! `delay`: `{seconds}` or `{until}`, on the durable timers.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{Kind, StepKind};
use crate::domain::limits::{self, MAX_TIMEOUT_SECONDS};

pub struct Delay;

impl StepKind for Delay {
    fn kind(&self) -> Kind {
        Kind::Delay
    }

    fn schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "seconds": {"type": "integer", "minimum": 0, "maximum": MAX_TIMEOUT_SECONDS},
                "until": {"type": "string", "format": "date-time"}
            },
            "oneOf": [{"required": ["seconds"]}, {"required": ["until"]}],
            "additionalProperties": false
        })
    }

    fn not_before(&self, config: &Value, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if let Some(s) = config.get("seconds").and_then(Value::as_i64) {
            return Some(limits::after(now, s.clamp(0, MAX_TIMEOUT_SECONDS)));
        }
        let until = config.get("until").and_then(Value::as_str)?;
        let at = DateTime::parse_from_rfc3339(until)
            .ok()?
            .with_timezone(&Utc);
        Some(at.min(limits::after(now, MAX_TIMEOUT_SECONDS)))
    }
}
