//! The `uiSchema` of a request: a JSON Schema describing what an approver may change.

use serde_json::Value;

use super::FieldError;

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
    jsonschema::validator_for(schema)
        .map(|_| ())
        .map_err(|e| FieldError::new(field, format!("is not a valid JSON Schema: {e}")))
}

/// Validates an approver's `data` against `schema`, naming each failing path under `prefix`.
pub fn validate(schema: &Value, data: &Value, prefix: &str) -> Result<(), Vec<FieldError>> {
    let validator = jsonschema::validator_for(schema).map_err(|e| {
        vec![FieldError::new(
            prefix,
            format!("the request's uiSchema cannot be compiled: {e}"),
        )]
    })?;
    let errors: Vec<FieldError> = validator
        .iter_errors(data)
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
