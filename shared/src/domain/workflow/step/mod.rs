//! Step kinds: one type per kind behind `StepKind` (its config's JSON Schema, its
//! branches, checks beyond the schema, and for the pure kinds their evaluation). `Kind`
//! names them and `Kind::spec` is where the domain finds each; the app's executors are
//! registered in `app::workflows::steps`.

mod ai;
mod approval;
mod condition;
mod delay;
mod fail;
mod http;
mod transform;
mod webhook;

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::expr::{Expression, Scope};
use crate::domain::FieldError;

pub use approval::approval_output;
pub use http::{HttpConfig, HttpMethod};
pub use webhook::WebhookConfig;

/// What a step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Approval,
    Http,
    Webhook,
    Condition,
    Transform,
    Delay,
    Ai,
    Fail,
}

text_enum!(Kind {
    Approval = "approval",
    Http = "http",
    Webhook = "webhook",
    Condition = "condition",
    Transform = "transform",
    Delay = "delay",
    Ai = "ai",
    Fail = "fail",
});

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which way a finished step goes on: an edge with this branch is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Branch {
    Default,
    True,
    False,
    Approved,
    Rejected,
    Timeout,
    /// A step that failed after its retries, where an edge handles it.
    Error,
}

text_enum!(Branch {
    Default = "default",
    True = "true",
    False = "false",
    Approved = "approved",
    Rejected = "rejected",
    Timeout = "timeout",
    Error = "error",
});

impl std::fmt::Display for Branch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a pure step ended.
pub type Evaluated = Result<(Value, Branch), String>;

/// One kind of step.
pub trait StepKind: Sync {
    fn kind(&self) -> Kind;

    /// The JSON Schema of the kind's config.
    fn schema(&self) -> Value;

    /// The branches a step of this kind can end on; `error` is taken when it fails.
    fn branches(&self) -> &'static [Branch] {
        &[Branch::Default, Branch::Error]
    }

    /// Top-level config fields that are CEL by nature (read without the `=`), which the
    /// kind compiles and evaluates itself.
    fn raw_fields(&self) -> &'static [&'static str] {
        &[]
    }

    /// Checks beyond the schema, on the config as written; `dynamic` lists the pointers
    /// of expressions, whose values are not known yet.
    fn check(&self, _config: &Value, _field: &str, _dynamic: &[String]) -> Vec<FieldError> {
        Vec::new()
    }

    /// The pure kinds end as soon as they start: their output and branch.
    fn evaluate(&self, _config: &Value, _scope: &Scope) -> Option<Evaluated> {
        None
    }

    /// A step of this kind must not run before this time (a delay).
    fn not_before(&self, _config: &Value, _now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        None
    }
}

impl Kind {
    pub fn spec(self) -> &'static dyn StepKind {
        match self {
            Kind::Approval => &approval::ApprovalStep,
            Kind::Http => &http::Http,
            Kind::Webhook => &webhook::Webhook,
            Kind::Condition => &condition::Condition,
            Kind::Transform => &transform::Transform,
            Kind::Delay => &delay::Delay,
            Kind::Ai => &ai::Ai,
            Kind::Fail => &fail::Fail,
        }
    }

    /// Whether a step of this kind ends inline, in the transition that starts it.
    pub fn is_pure(self) -> bool {
        matches!(self, Kind::Condition | Kind::Transform | Kind::Fail)
    }

    /// Checks `config` (at pointer `field`) against the kind's schema, passing over the
    /// values of expressions in it (`dynamic`), which are checked once computed.
    pub fn check_schema(self, config: &Value, field: &str, dynamic: &[String]) -> Vec<FieldError> {
        let validator = &VALIDATORS[self as usize];
        validator
            .iter_errors(config)
            .filter_map(|e| {
                let path = format!("{field}{}", e.instance_path().as_str());
                let under_expression = dynamic
                    .iter()
                    .any(|d| path == *d || path.starts_with(&format!("{d}/")));
                (!under_expression).then(|| FieldError::new(path, e.to_string()))
            })
            .take(20)
            .collect()
    }
}

static VALIDATORS: LazyLock<Vec<jsonschema::Validator>> = LazyLock::new(|| {
    Kind::ALL
        .iter()
        .map(|k| {
            jsonschema::options()
                .with_pattern_options(jsonschema::PatternOptions::regex())
                .offline()
                .build(&k.spec().schema())
                .expect("the kinds' schemas are valid")
        })
        .collect()
});

/// The expression of a condition or transform: CEL, with or without a leading `=`.
fn expression_of(config: &Value) -> &str {
    let s = config
        .get("expression")
        .and_then(Value::as_str)
        .unwrap_or_default();
    s.strip_prefix('=').unwrap_or(s)
}

/// The config of a condition or transform: one `expression`, which must compile.
fn expression_schema() -> Value {
    serde_json::json!({
        "type": "object",
        "required": ["expression"],
        "properties": {"expression": {"type": "string", "minLength": 1}},
        "additionalProperties": false
    })
}

fn check_expression(config: &Value, field: &str) -> Vec<FieldError> {
    Expression::compile(expression_of(config), &format!("{field}/expression"))
        .err()
        .into_iter()
        .collect()
}

/// The value of a condition's or transform's expression in `scope`.
fn evaluate_expression(config: &Value, scope: &Scope) -> Result<(Value, String), String> {
    let e = Expression::compile(expression_of(config), "/expression").map_err(|e| e.message)?;
    Ok((e.evaluate(scope)?, e.source().to_owned()))
}

/// A receiver URL the config names as written: checked now unless it is computed.
fn check_url_field(config: &Value, field: &str, dynamic: &[String]) -> Vec<FieldError> {
    let at = format!("{field}/url");
    match config.get("url").and_then(Value::as_str) {
        Some(url) if !dynamic.contains(&at) => crate::domain::webhook::check_url(url, &at)
            .err()
            .into_iter()
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_valid_schema_its_name_and_its_own_spec() {
        for k in Kind::ALL {
            assert_eq!(k.spec().kind(), *k);
            assert_eq!(Kind::parse(k.as_str()), Some(*k));
            let _ = &VALIDATORS[*k as usize];
        }
        assert_eq!(VALIDATORS.len(), Kind::ALL.len());
    }
}
