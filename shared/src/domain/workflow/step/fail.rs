//! `fail`: `{message}` ends the run `FAILED`.

use serde_json::{Value, json};

use super::{Branch, Evaluated, Kind, StepKind};
use crate::domain::workflow::expr::Scope;

pub struct Fail;

impl StepKind for Fail {
    fn kind(&self) -> Kind {
        Kind::Fail
    }

    fn schema(&self) -> Value {
        json!({
            "type": "object",
            "required": ["message"],
            "properties": {"message": {"type": "string", "minLength": 1, "maxLength": 4096}},
            "additionalProperties": false
        })
    }

    /// Nothing follows a `fail`, not even an `error` edge: it is the end of the run.
    fn branches(&self) -> &'static [Branch] {
        &[]
    }

    fn evaluate(&self, config: &Value, _scope: &Scope) -> Option<Evaluated> {
        let message = match config.get("message") {
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => "the run reached a fail step".to_owned(),
        };
        Some(Err(message))
    }
}
