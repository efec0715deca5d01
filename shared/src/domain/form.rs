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
}
