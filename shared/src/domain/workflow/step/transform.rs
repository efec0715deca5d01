//! `transform`: `{expression}` → the expression's value.

use serde_json::{Value, json};

use super::{Branch, Evaluated, Kind, StepKind, expression_of};
use crate::domain::FieldError;
use crate::domain::workflow::expr::{Expression, Scope};

pub struct Transform;

impl StepKind for Transform {
    fn kind(&self) -> Kind {
        Kind::Transform
    }

    fn schema(&self) -> Value {
        json!({
            "type": "object",
            "required": ["expression"],
            "properties": {"expression": {"type": "string", "minLength": 1}},
            "additionalProperties": false
        })
    }

    fn raw_fields(&self) -> &'static [&'static str] {
        &["expression"]
    }

    fn check(&self, config: &Value, field: &str, _dynamic: &[String]) -> Vec<FieldError> {
        Expression::compile(expression_of(config), &format!("{field}/expression"))
            .err()
            .into_iter()
            .collect()
    }

    fn evaluate(&self, config: &Value, scope: &Scope) -> Option<Evaluated> {
        let run = || {
            let e =
                Expression::compile(expression_of(config), "/expression").map_err(|e| e.message)?;
            Ok((e.evaluate(scope)?, Branch::Default))
        };
        Some(run())
    }
}
