//! `transform`: `{expression}` → the expression's value.

use serde_json::Value;

use super::{
    Branch, Evaluated, Kind, StepKind, check_expression, evaluate_expression, expression_schema,
};
use crate::domain::FieldError;
use crate::domain::workflow::expr::Scope;

pub struct Transform;

impl StepKind for Transform {
    fn kind(&self) -> Kind {
        Kind::Transform
    }

    fn schema(&self) -> Value {
        expression_schema()
    }

    fn raw_fields(&self) -> &'static [&'static str] {
        &["expression"]
    }

    fn check(&self, config: &Value, field: &str, _dynamic: &[String]) -> Vec<FieldError> {
        check_expression(config, field)
    }

    fn evaluate(&self, config: &Value, scope: &Scope) -> Option<Evaluated> {
        Some(evaluate_expression(config, scope).map(|(value, _)| (value, Branch::Default)))
    }
}
