//! `condition`: `{expression}` → `{result}`, on branch `true` or `false`.

use serde_json::{Value, json};

use super::{Branch, Evaluated, Kind, StepKind, expression_of};
use crate::domain::FieldError;
use crate::domain::workflow::expr::{Expression, Scope};

pub struct Condition;

impl StepKind for Condition {
    fn kind(&self) -> Kind {
        Kind::Condition
    }

    fn schema(&self) -> Value {
        json!({
            "type": "object",
            "required": ["expression"],
            "properties": {"expression": {"type": "string", "minLength": 1}},
            "additionalProperties": false
        })
    }

    fn branches(&self) -> &'static [Branch] {
        &[Branch::True, Branch::False, Branch::Error]
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
            match e.evaluate(scope)? {
                Value::Bool(b) => Ok((
                    json!({ "result": b }),
                    if b { Branch::True } else { Branch::False },
                )),
                other => Err(format!(
                    "`{}` must be true or false, not {other}",
                    e.source()
                )),
            }
        };
        Some(run())
    }
}
