//! The `uiSchema` of a request: a JSON Schema describing what an approver may change.
//!
//! A schema is written by the agent and run against what approvers send, so its cost
//! is bounded before it is accepted: references stay inside the schema, the subschemas
//! validation can visit (each `$ref` counting its target again) and the `$ref`s followed
//! one inside another are capped (`limits`), and patterns run on a linear-time engine.

use std::collections::HashMap;

use serde_json::Value;

use super::{FieldError, limits};

/// Checks that `schema` is a usable JSON Schema for an object of editable fields.
pub fn check_schema(schema: &Value, field: &str) -> Result<(), FieldError> {
    if !schema.is_object() {
        return Err(FieldError::new(field, "must be a JSON Schema object"));
    }
    if let Some(t) = schema.get("type")
        && t != "object"
    {
        return Err(FieldError::new(
            format!("{field}/type"),
            "must be \"object\": approvers edit named fields",
        ));
    }
    Cost::of(schema, field)?;
    compile(schema)
        .map(|_| ())
        .map_err(|e| FieldError::new(field, format!("is not a valid JSON Schema: {e}")))
}

/// Patterns on the `regex` engine, whose matching time is linear in the input (no
/// backtracking to blow up); no reference is ever fetched.
fn compile(schema: &Value) -> Result<jsonschema::Validator, jsonschema::ValidationError<'static>> {
    jsonschema::options()
        .with_pattern_options(jsonschema::PatternOptions::regex())
        .offline()
        .build(schema)
}

/// The errors a failed check reports: the first ones tell the caller what to fix, and
/// stopping there spares the rest of the work.
const MAX_ERRORS: usize = 50;

/// Validates an approver's `data` against `schema`, naming each failing path under `prefix`.
pub fn validate(schema: &Value, data: &Value, prefix: &str) -> Result<(), Vec<FieldError>> {
    let validator = compile(schema).map_err(|e| {
        vec![FieldError::new(
            prefix,
            format!("the request's uiSchema cannot be compiled: {e}"),
        )]
    })?;
    let errors: Vec<FieldError> = validator
        .iter_errors(data)
        .take(MAX_ERRORS)
        .map(|e| {
            FieldError::new(
                format!("{prefix}{}", e.instance_path().as_str()),
                e.to_string(),
            )
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// The outcome of checking an approver's `responseData` against a request's `uiSchema`:
/// the one costly step of a decision. The app runs it off its async threads within
/// `limits::UI_SCHEMA_BUDGET_MS` and hands it to `Approval::decide_with`, which uses it
/// only for the very schema and data it was made from.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    schema: Value,
    data: Value,
    outcome: Result<(), Vec<FieldError>>,
}

impl Checked {
    pub fn run(schema: &Value, data: &Value) -> Checked {
        Checked {
            outcome: validate(schema, data, "/responseData"),
            schema: schema.clone(),
            data: data.clone(),
        }
    }

    /// The check did not finish within the budget: the decision is refused.
    pub fn over_budget(schema: &Value, data: &Value) -> Checked {
        Checked {
            outcome: Err(vec![FieldError::new(
                "/responseData",
                format!(
                    "could not be checked against this request's uiSchema within {} ms; \
                     the uiSchema is too costly to modify this request",
                    limits::UI_SCHEMA_BUDGET_MS
                ),
            )]),
            schema: schema.clone(),
            data: data.clone(),
        }
    }

    /// The outcome, if this is the check of `data` against `schema`.
    pub fn outcome_for(&self, schema: &Value, data: &Value) -> Option<Result<(), Vec<FieldError>>> {
        (self.schema == *schema && self.data == *data).then(|| self.outcome.clone())
    }
}

/// Keywords whose values are data, not subschemas.
const DATA_KEYWORDS: [&str; 4] = ["enum", "const", "default", "examples"];

/// What validation against a subschema may cost: the subschemas it visits, and the
/// longest chain of `$ref`s below it.
#[derive(Debug, Clone, Copy, Default)]
struct Cost {
    subschemas: usize,
    ref_depth: usize,
}

/// Walks a schema once, remembering each subschema's cost by address, so a schema
/// whose references double at every level costs the walk no more than its size.
struct Walk<'a> {
    root: &'a Value,
    field: &'a str,
    known: HashMap<*const Value, Cost>,
    /// The `$ref` targets being walked, to find cycles.
    open: Vec<*const Value>,
}

impl Cost {
    fn of(schema: &Value, field: &str) -> Result<Cost, FieldError> {
        let mut walk = Walk {
            root: schema,
            field,
            known: HashMap::new(),
            open: Vec::new(),
        };
        walk.cost(schema, "", 0)
    }
}

impl Walk<'_> {
    fn too_many(&self) -> FieldError {
        FieldError::new(
            self.field,
            format!(
                "has more than {} subschemas, counting each $ref as a copy of its target",
                limits::MAX_UI_SCHEMA_SUBSCHEMAS
            ),
        )
    }

    /// The cost of `v`, found at `at` (a JSON Pointer inside the schema), reached
    /// through `refs` references (which bound how deep the walk goes).
    fn cost(&mut self, v: &Value, at: &str, refs: usize) -> Result<Cost, FieldError> {
        let key = v as *const Value;
        if let Some(&c) = self.known.get(&key) {
            return Ok(c);
        }
        let mut total = Cost {
            subschemas: usize::from(v.is_object()),
            ref_depth: 0,
        };
        let children: Vec<(String, &Value)> = match v {
            Value::Object(m) => m
                .iter()
                .filter(|(k, _)| !DATA_KEYWORDS.contains(&k.as_str()))
                .map(|(k, x)| {
                    (
                        format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                        x,
                    )
                })
                .collect(),
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, x)| (format!("{at}/{i}"), x))
                .collect(),
            _ => Vec::new(),
        };
        for (here, child) in children {
            let name = here.rsplit('/').next().unwrap_or_default();
            let c = match (name, child) {
                ("$ref", Value::String(r)) => self.reference(r, &here, refs)?,
                ("$dynamicRef" | "$recursiveRef", Value::String(_)) => {
                    return Err(FieldError::new(
                        format!("{}{here}", self.field),
                        "dynamic references are not accepted; use $ref to #/...",
                    ));
                }
                ("$id" | "id", Value::String(_)) if !at.is_empty() && v.is_object() => {
                    return Err(FieldError::new(
                        format!("{}{here}", self.field),
                        "embedded schemas ($id below the root) are not accepted",
                    ));
                }
                // Definitions cost where they are used: walked for the rules above,
                // counted through the `$ref`s that reach them.
                ("$defs" | "definitions", Value::Object(defs)) if v.is_object() => {
                    for (name, def) in defs {
                        let name = name.replace('~', "~0").replace('/', "~1");
                        self.cost(def, &format!("{here}/{name}"), refs)?;
                    }
                    Cost::default()
                }
                (_, Value::Object(_) | Value::Array(_)) => self.cost(child, &here, refs)?,
                _ => Cost::default(),
            };
            total.subschemas = total.subschemas.saturating_add(c.subschemas);
            total.ref_depth = total.ref_depth.max(c.ref_depth);
            if total.subschemas > limits::MAX_UI_SCHEMA_SUBSCHEMAS {
                return Err(self.too_many());
            }
        }
        self.known.insert(key, total);
        Ok(total)
    }

    fn too_deep(&self, at: &str) -> FieldError {
        FieldError::new(
            format!("{}{at}", self.field),
            format!(
                "follows more than {} $refs one inside another",
                limits::MAX_UI_SCHEMA_REF_DEPTH
            ),
        )
    }

    /// The cost of following `reference`, the `$ref` at `at`.
    fn reference(&mut self, reference: &str, at: &str, refs: usize) -> Result<Cost, FieldError> {
        let field = format!("{}{at}", self.field);
        let Some(pointer) = reference.strip_prefix('#') else {
            return Err(FieldError::new(
                field,
                "only references inside this schema (#/...) are accepted",
            ));
        };
        let root = self.root;
        let Some(target) = root.pointer(pointer).filter(|_| !pointer.contains('%')) else {
            return Err(FieldError::new(
                field,
                "does not point at a part of this schema (write #/$defs/name)",
            ));
        };
        if refs + 1 > limits::MAX_UI_SCHEMA_REF_DEPTH {
            return Err(self.too_deep(at));
        }
        let key = target as *const Value;
        if self.open.contains(&key) {
            return Err(FieldError::new(
                field,
                "refers back to a schema it is part of; recursive schemas are not accepted",
            ));
        }
        self.open.push(key);
        let c = self.cost(target, pointer, refs + 1);
        self.open.pop();
        let c = c?;
        // Checked here too: a target walked before, from elsewhere, is not walked again.
        if refs + 1 + c.ref_depth > limits::MAX_UI_SCHEMA_REF_DEPTH {
            return Err(self.too_deep(at));
        }
        Ok(Cost {
            subschemas: c.subschemas,
            ref_depth: c.ref_depth + 1,
        })
    }
}

/// What kind of input edits a field.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldKind {
    Text,
    Integer,
    Number,
    Boolean,
    /// One of these values (a string `enum`).
    Choice(Vec<String>),
}

/// One editable field of a `uiSchema`, for a form: the Slack modal and the email page.
#[derive(Debug, Clone, PartialEq)]
pub struct FormField {
    pub name: String,
    pub label: String,
    pub description: Option<String>,
    pub kind: FieldKind,
    pub required: bool,
    /// The value in the request's `actionData`, as the form shows it.
    pub current: Option<String>,
}

/// The fields of `schema`'s `properties`, in order, with their current values from
/// `action_data`. Properties of other types (objects, arrays) are not editable in a form.
pub fn fields(schema: &Value, action_data: &Value) -> Vec<FormField> {
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(properties) = schema["properties"].as_object() else {
        return Vec::new();
    };
    properties
        .iter()
        .filter_map(|(name, p)| {
            let choices: Option<Vec<String>> = p["enum"].as_array().map(|e| {
                e.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            });
            let kind = match (choices, p["type"].as_str()) {
                (Some(c), _) if !c.is_empty() => FieldKind::Choice(c),
                (_, Some("string")) => FieldKind::Text,
                (_, Some("integer")) => FieldKind::Integer,
                (_, Some("number")) => FieldKind::Number,
                (_, Some("boolean")) => FieldKind::Boolean,
                _ => return None,
            };
            let current = match action_data.get(name) {
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Null) | None => None,
                Some(v) => Some(v.to_string()),
            };
            Some(FormField {
                name: name.clone(),
                label: p["title"].as_str().unwrap_or(name).to_owned(),
                description: p["description"].as_str().map(str::to_owned),
                kind,
                required: required.contains(&name.as_str()),
                current,
            })
        })
        .collect()
}

/// Turns a form's text inputs into `responseData`: each field typed by its kind; an
/// empty input leaves the field out. Inputs that do not parse are named under `prefix`.
pub fn parse_inputs(
    fields: &[FormField],
    input: impl Fn(&str) -> Option<String>,
    prefix: &str,
) -> Result<Value, Vec<FieldError>> {
    let mut data = serde_json::Map::new();
    let mut errors = Vec::new();
    for f in fields {
        let path = format!("{prefix}/{}", f.name);
        let raw = input(&f.name)
            .map(|s| s.trim().to_owned())
            .unwrap_or_default();
        let value = match &f.kind {
            FieldKind::Boolean => Value::Bool(matches!(raw.as_str(), "true" | "on" | "1")),
            _ if raw.is_empty() => continue,
            FieldKind::Text | FieldKind::Choice(_) => Value::String(raw),
            FieldKind::Integer => match raw.parse::<i64>() {
                Ok(n) => Value::from(n),
                Err(_) => {
                    errors.push(FieldError::new(path, "must be a whole number"));
                    continue;
                }
            },
            FieldKind::Number => match raw
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
            {
                // Whole numbers stay integers, so 120 is sent back as 120, not 120.0.
                Some(n)
                    if n.as_f64()
                        .is_some_and(|x| x.fract() == 0.0 && x.abs() < 9e15) =>
                {
                    Value::from(n.as_f64().unwrap_or_default() as i64)
                }
                Some(n) => Value::Number(n),
                None => {
                    errors.push(FieldError::new(path, "must be a number"));
                    continue;
                }
            },
        };
        data.insert(f.name.clone(), value);
    }
    if errors.is_empty() {
        Ok(Value::Object(data))
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "amount": {"type": "number", "maximum": 500},
                "note": {"type": "string"}
            },
            "additionalProperties": false
        })
    }

    #[test]
    fn accepts_a_valid_object_schema() {
        assert_eq!(check_schema(&schema(), "/uiSchema"), Ok(()));
    }

    #[test]
    fn refuses_a_schema_that_is_not_json_schema() {
        let err = check_schema(
            &json!({"type": "object", "properties": {"a": {"type": 12}}}),
            "/uiSchema",
        )
        .unwrap_err();
        assert_eq!(err.field, "/uiSchema");
        assert!(
            err.message.contains("not a valid JSON Schema"),
            "{}",
            err.message
        );
        assert!(check_schema(&json!("x"), "/uiSchema").is_err());
        assert_eq!(
            check_schema(&json!({"type": "array"}), "/uiSchema")
                .unwrap_err()
                .field,
            "/uiSchema/type"
        );
    }

    #[test]
    fn a_schema_s_cost_is_bounded_before_it_is_accepted() {
        let defs: serde_json::Map<String, Value> = (0..25)
            .map(|i| {
                let next = format!("#/$defs/d{}", i + 1);
                (
                    format!("d{i}"),
                    json!({"allOf": [{"$ref": next}, {"$ref": next}]}),
                )
            })
            .chain([("d25".to_owned(), json!({"type": "object"}))])
            .collect();
        let doubling = json!({"type": "object", "$defs": defs, "allOf": [{"$ref": "#/$defs/d0"}]});
        let err = check_schema(&doubling, "/uiSchema").unwrap_err();
        assert!(
            err.field.starts_with("/uiSchema/") && err.field.ends_with("/$ref"),
            "{err:?}"
        );

        let remote = json!({"properties": {"a": {"$ref": "https://example.com/s.json"}}});
        assert_eq!(
            check_schema(&remote, "/uiSchema").unwrap_err().field,
            "/uiSchema/properties/a/$ref"
        );
        let cycle = json!({"properties": {"a": {"$ref": "#"}}});
        assert_eq!(
            check_schema(&cycle, "/uiSchema").unwrap_err().field,
            "/uiSchema/properties/a/$ref"
        );
        let shared = json!({
            "type": "object",
            "$defs": {"money": {"type": "number", "minimum": 0}},
            "properties": {"amount": {"$ref": "#/$defs/money"}, "fee": {"$ref": "#/$defs/money"}}
        });
        assert_eq!(check_schema(&shared, "/uiSchema"), Ok(()));
        assert!(validate(&shared, &json!({"amount": -1}), "/r").is_err());
    }

    #[test]
    fn a_check_is_used_only_for_its_own_schema_and_data() {
        let checked = Checked::run(&schema(), &json!({"amount": 900}));
        assert!(matches!(
            checked.outcome_for(&schema(), &json!({"amount": 900})),
            Some(Err(_))
        ));
        assert_eq!(checked.outcome_for(&schema(), &json!({"amount": 1})), None);
        assert_eq!(
            checked.outcome_for(&json!({}), &json!({"amount": 900})),
            None
        );
    }

    #[test]
    fn names_every_failing_path() {
        let errs = validate(
            &schema(),
            &json!({"amount": 900, "extra": 1}),
            "/responseData",
        )
        .unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert!(fields.contains(&"/responseData/amount"), "{fields:?}");
        assert!(fields.contains(&"/responseData"), "{fields:?}");
        assert_eq!(
            validate(&schema(), &json!({"amount": 20}), "/responseData"),
            Ok(())
        );
    }

    #[test]
    fn form_fields_come_from_the_schema_with_current_values() {
        let schema = json!({
            "type": "object",
            "required": ["amount"],
            "properties": {
                "amount": {"type": "number", "title": "Amount"},
                "count": {"type": "integer"},
                "priority": {"type": "string", "enum": ["low", "high"]},
                "urgent": {"type": "boolean"},
                "tags": {"type": "array"}
            }
        });
        let f = fields(&schema, &json!({"amount": 120, "priority": "low"}));
        let names: Vec<&str> = f.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["amount", "count", "priority", "urgent"]);
        assert_eq!(f[0].label, "Amount");
        assert!(f[0].required && !f[1].required);
        assert_eq!(f[0].current.as_deref(), Some("120"));
        assert_eq!(
            f[2].kind,
            FieldKind::Choice(vec!["low".into(), "high".into()])
        );
        assert_eq!(f[2].current.as_deref(), Some("low"));
    }

    #[test]
    fn form_inputs_are_typed_and_bad_ones_named() {
        let schema = json!({"type": "object", "properties": {
            "amount": {"type": "number"}, "count": {"type": "integer"},
            "note": {"type": "string"}, "urgent": {"type": "boolean"}
        }});
        let f = fields(&schema, &json!({}));
        let input = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(
            parse_inputs(
                &f,
                input(&[("amount", "80"), ("count", "3"), ("urgent", "on")]),
                "/r"
            ),
            Ok(json!({"amount": 80, "count": 3, "urgent": true}))
        );
        assert_eq!(
            parse_inputs(&f, input(&[("amount", "80.5"), ("note", " hi ")]), "/r"),
            Ok(json!({"amount": 80.5, "note": "hi", "urgent": false}))
        );
        let errs =
            parse_inputs(&f, input(&[("amount", "lots"), ("count", "1.5")]), "/r").unwrap_err();
        let paths: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(paths, ["/r/amount", "/r/count"]);
    }
}
