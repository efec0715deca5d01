//! Extractors that answer bad input with a precise problem: which field, what is wrong.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, header};
use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_path_to_error::Segment;

use super::Problem;
use crate::app::{App, Caller};

/// The caller, from `Authorization: Bearer <API key>`.
pub struct Authed(pub Caller);

impl FromRequestParts<App> for Authed {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, key)| key.trim())
            .filter(|v| !v.is_empty());
        let caller = if let Some(key) = bearer {
            app.accounts().authenticate(key).await?
        } else {
            // The dashboard's pages read (the live stream) with their session cookie; only
            // reads, so a cross-site form can never act through it, and with the person's
            // role, so an approver reads no webhooks, keys or dev mailbox this way either.
            let reads = matches!(parts.method, Method::GET | Method::HEAD);
            match super::dashboard::session_token(&parts.headers) {
                Some(token) if reads => app.accounts().account(&token).await?.caller(),
                _ => return Err(crate::app::AppError::Unauthorized.into()),
            }
        };
        app.accounts().admit(&caller).await?;
        Ok(Authed(caller))
    }
}

/// A JSON body. Malformed JSON → 400; well-formed JSON of the wrong shape → 422 naming
/// the field (as a JSON Pointer) and what is wrong with it.
pub struct JsonBody<T>(pub T);

/// Like `JsonBody`, but an empty body, or `null`, means `T::default()`.
pub struct OptionalJsonBody<T>(pub T);

async fn read_body(req: Request) -> Result<Bytes, Problem> {
    if let Some(ct) = req.headers().get(header::CONTENT_TYPE) {
        let ct = ct.to_str().unwrap_or_default().to_ascii_lowercase();
        if !(ct.starts_with("application/json") || ct.contains("+json")) {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
                "send the body as application/json",
            ));
        }
    }
    Bytes::from_request(req, &()).await.map_err(|e| {
        let status = e.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            Problem::new(
                status,
                "body-too-large",
                "Body too large",
                format!(
                    "request bodies are limited to {} bytes",
                    super::MAX_BODY_BYTES
                ),
            )
        } else {
            Problem::bad_request("unreadable-body", "Unreadable body", e.body_text(), None)
        }
    })
}

pub(crate) fn pointer_of(path: &serde_path_to_error::Path) -> String {
    let mut p = String::new();
    for seg in path.iter() {
        match seg {
            Segment::Seq { index } => p.push_str(&format!("/{index}")),
            Segment::Map { key } => {
                p.push_str(&format!("/{}", key.replace('~', "~0").replace('/', "~1")))
            }
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    p
}

/// A missing field is reported at the enclosing object; point at the field itself.
fn missing_field_in(message: &str) -> Option<&str> {
    message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
}

/// The first string (or object key) holding a NUL character, as a JSON Pointer.
/// PostgreSQL cannot store NUL in text or JSON, so it is refused for every store alike.
fn nul_in(v: &Value, at: &str) -> Option<String> {
    match v {
        Value::String(s) if s.contains('\0') => Some(at.to_owned()),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, x)| nul_in(x, &format!("{at}/{i}"))),
        Value::Object(m) => m.iter().find_map(|(k, x)| {
            let here = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
            if k.contains('\0') {
                Some(here)
            } else {
                nul_in(x, &here)
            }
        }),
        _ => None,
    }
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        Problem::bad_request(
            "malformed-json",
            "Malformed JSON",
            format!("the body is not valid JSON: {e}"),
            None,
        )
    })?;
    if let Some(field) = nul_in(&value, "") {
        return Err(Problem::invalid(vec![crate::domain::FieldError::new(
            field,
            "must not contain the NUL character",
        )]));
    }
    // serde would also read a struct from an array of its fields in order; every body
    // here is an object.
    if value.is_array() {
        return Err(Problem::invalid(vec![crate::domain::FieldError::new(
            "",
            "the body must be a JSON object",
        )]));
    }
    let mut value = value;
    loop {
        let e = match serde_path_to_error::deserialize(&value) {
            Ok(t) => return Ok(t),
            Err(e) => e,
        };
        let mut field = pointer_of(e.path());
        let message = e.into_inner().to_string();
        // JSON Schema counts 1.0 as an integer, and so may a client's JSON encoder;
        // serde does not. Only the integer fields are rewritten, so free-form data
        // keeps its numbers as they were sent.
        if message.starts_with("invalid type: floating point")
            && let Some(n) = value.pointer_mut(&field)
            && let Some(whole) = whole_number(n)
        {
            *n = whole;
            continue;
        }
        if let Some(name) = missing_field_in(&message) {
            field = format!("{field}/{name}");
        }
        return Err(Problem::invalid(vec![crate::domain::FieldError::new(
            field, message,
        )]));
    }
}

/// A float with no fractional part, as an integer, when it is one exactly.
fn whole_number(n: &Value) -> Option<Value> {
    let f = n
        .as_f64()
        .filter(|f| f.fract() == 0.0 && f.abs() < 2f64.powi(53))?;
    Some(Value::from(f as i64))
}

impl<T: DeserializeOwned> FromRequest<App> for JsonBody<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, _: &App) -> Result<Self, Self::Rejection> {
        let bytes = read_body(req).await?;
        if bytes.is_empty() {
            return Err(Problem::bad_request(
                "missing-body",
                "Missing body",
                "this call needs a JSON body",
                None,
            ));
        }
        parse_json(&bytes).map(JsonBody)
    }
}

impl<T: DeserializeOwned + Default> FromRequest<App> for OptionalJsonBody<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, _: &App) -> Result<Self, Self::Rejection> {
        let bytes = read_body(req).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJsonBody(T::default()));
        }
        parse_json::<Option<T>>(&bytes).map(|t| OptionalJsonBody(t.unwrap_or_default()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::NewApproval;

    fn problem_for(body: &str) -> Problem {
        match parse_json::<NewApproval>(body.as_bytes()) {
            Ok(_) => panic!("expected a problem for {body}"),
            Err(p) => p,
        }
    }

    #[test]
    fn malformed_json_is_a_400() {
        let p = problem_for("{\"name\": ");
        assert_eq!(p.status, 400);
        assert!(p.kind.ends_with("malformed-json"));
    }

    #[test]
    fn unknown_enum_values_name_the_field() {
        let p = problem_for(
            r#"{"name":"n","agentId":"a","actionType":"t","actionData":{},
                "approvers":[{"channel":"pigeon","recipient":"x"}]}"#,
        );
        assert_eq!(p.status, 422);
        assert_eq!(p.errors[0].field, "/approvers/0/channel");
        assert!(
            p.errors[0].message.contains("pigeon"),
            "{}",
            p.errors[0].message
        );
    }

    #[test]
    fn missing_and_unknown_fields_point_at_the_field() {
        let p = problem_for(r#"{"agentId":"a","actionType":"t","actionData":{},"approvers":[]}"#);
        assert_eq!(p.errors[0].field, "/name");
        let p = problem_for(
            r#"{"name":"n","agentId":"a","actionType":"t","actionData":{},"approvers":[],"colour":1}"#,
        );
        assert_eq!(p.errors[0].field, "/colour");
    }

    #[test]
    fn whole_floats_count_as_integers_and_free_form_data_is_kept() {
        let a: NewApproval = parse_json(
            br#"{"name":"n","agentId":"a","actionType":"t","actionData":{"amount":120.0},
                "approvers":[],"timeoutSeconds":60.0}"#,
        )
        .unwrap_or_else(|p| panic!("{}", p.detail));
        assert_eq!(a.timeout_seconds, Some(60));
        assert_eq!(a.action_data["amount"].as_f64(), Some(120.0));
        assert!(a.action_data["amount"].is_f64());
        let p = problem_for(
            r#"{"name":"n","agentId":"a","actionType":"t","actionData":{},"approvers":[],"timeoutSeconds":1.5}"#,
        );
        assert_eq!(p.errors[0].field, "/timeoutSeconds");
    }

    #[test]
    fn a_body_is_an_object_not_an_array_of_fields() {
        let p = problem_for(r#"["n", "a", "t", {}, []]"#);
        assert_eq!(p.status, 422);
        assert_eq!(p.errors[0].field, "");
    }

    #[test]
    fn nul_characters_are_refused_where_they_are() {
        let p = problem_for(
            r#"{"name":"n","agentId":"a","actionType":"t","actionData":{"note":["ok","bad\u0000"]},"approvers":[]}"#,
        );
        assert_eq!(p.status, 422);
        assert_eq!(p.errors[0].field, "/actionData/note/1");
    }
}
