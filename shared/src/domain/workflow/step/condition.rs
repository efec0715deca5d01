//! `condition`: `{expression}` → `{result}`, on branch `true` or `false`.

use serde_json::{Value, json};

use super::{
    Branch, Evaluated, Kind, StepKind, check_expression, evaluate_expression, expression_schema,
};
use crate::domain::FieldError;
use crate::domain::workflow::expr::Scope;

pub struct Condition;

impl StepKind for Condition {
    fn kind(&self) -> Kind {
        Kind::Condition
    }

    fn schema(&self) -> Value {
        expression_schema()
    }

    fn branches(&self) -> &'static [Branch] {
        &[Branch::True, Branch::False, Branch::Error]
    }

    fn raw_fields(&self) -> &'static [&'static str] {
        &["expression"]
    }

    fn check(&self, config: &Value, field: &str, _dynamic: &[String]) -> Vec<FieldError> {
        check_expression(config, field)
    }

    fn evaluate(&self, config: &Value, scope: &Scope) -> Option<Evaluated> {
        Some(
            evaluate_expression(config, scope).and_then(|(value, source)| match value {
                Value::Bool(b) => Ok((
                    json!({ "result": b }),
                    if b { Branch::True } else { Branch::False },
                )),
                other => Err(format!("`{source}` must be true or false, not {other}")),
            }),
        )
    }
}
