use std::sync::OnceLock;

use axum::http::header;
use axum::response::IntoResponse;
use serde_json::{Value, json};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::api::{approvals, health, keys, messages, runs, stream, webhooks, workflows};
use crate::domain::{limits, webhook};

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The OpenAPI 3.1 document as derived from the handlers and types; `api_document` adds
/// what the domain types cannot carry (see `body_bounds` and `event_data`).
#[derive(OpenApi)]
#[openapi(
    info(title = "Greenlight API", description = "Human approval as a service for AI agents and automations.\n\nErrors are RFC 9457 problems (`application/problem+json`). No string in a request body, free-form data included, may contain NUL (U+0000): such a body is answered 422."),
    paths(
        approvals::create, approvals::list, approvals::get, approvals::decide,
        approvals::cancel, approvals::execution, approvals::events, approvals::verify,
        messages::list, messages::list_deprecated, messages::mailbox, messages::mailbox_deprecated,
        stream::stream, stream::ticket,
        webhooks::create, webhooks::list, webhooks::get, webhooks::update, webhooks::delete,
        webhooks::rotate, webhooks::deliveries, webhooks::delivery, webhooks::redeliver,
        webhooks::redeliver_since, webhooks::rotate_callback_secret,
        keys::create, keys::list, keys::revoke,
        workflows::create, workflows::list, workflows::get, workflows::update, workflows::delete,
        workflows::add_version, workflows::version, workflows::start, workflows::runs,
        runs::list, runs::get, runs::cancel, runs::events, runs::verify,
        health::healthz,
    ),
    components(schemas(super::Problem)),
    modifiers(&BearerAuth),
    tags((name = "approvals"), (name = "audit"), (name = "webhooks"), (name = "keys"), (name = "workflows"), (name = "runs"), (name = "health"), (name = "local"))
)]
pub struct ApiDoc;

/// The document as served, committed as `docs/openapi.json`: what clients are generated
/// from and schemathesis checks. Serving the file rather than deriving it at run time
/// keeps utoipa's builders out of the binaries (about 0.8 MB of each Lambda function);
/// `the_committed_document_is_the_derived_one` keeps the file exactly `api_document`.
pub const DOCUMENT: &str = include_str!("../../../docs/openapi.json");

/// The document as derived from the handlers and types, with the bounds they cannot
/// carry.
pub fn api_document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| {
        let mut doc = serde_json::to_value(ApiDoc::openapi()).expect("the document serializes");
        body_bounds(&mut doc);
        workflow_bounds(&mut doc);
        event_data(&mut doc);
        doc
    })
}

pub async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], DOCUMENT)
}

/// At least one character that is not whitespace (as Rust's `str::trim` sees it): what
/// the domain's "must not be empty" checks.
const NOT_BLANK: &str = r"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]";

/// An endpoint's event filter: `*`, an event type, or a prefix pattern (`approval.*`),
/// at most 100 characters before the `.*`.
fn event_pattern() -> Value {
    json!({"oneOf": [
        {"type": "string", "enum": ["*"]},
        {"type": "string", "pattern": r"^[a-z_]+(\.[a-z_]+)*$", "maxLength": 100},
        {"type": "string", "pattern": r"^[a-z_]+(\.[a-z_]+)*\.\*$", "maxLength": 102},
    ]})
}

/// The schema of `schema`'s property `field`. Panics on a name that is not in the
/// document, so a renamed field cannot silently lose its bounds (the unit test below
/// builds the document).
fn property<'a>(doc: &'a mut Value, schema: &str, field: &str) -> &'a mut Value {
    doc.pointer_mut(&format!("/components/schemas/{schema}/properties/{field}"))
        .unwrap_or_else(|| panic!("no property {schema}.{field} in the OpenAPI document"))
}

fn component<'a>(doc: &'a mut Value, schema: &str) -> &'a mut Value {
    doc.pointer_mut(&format!("/components/schemas/{schema}"))
        .unwrap_or_else(|| panic!("no schema {schema} in the OpenAPI document"))
}

/// Adds `keywords` to a schema object.
fn add(schema: &mut Value, keywords: Value) {
    let (Value::Object(schema), Value::Object(keywords)) = (schema, keywords) else {
        panic!("schemas and keywords are objects");
    };
    schema.extend(keywords);
}

/// The request bodies' bounds, as the domain checks them: lengths, counts, ranges and
/// the rules between fields that JSON Schema can state. The domain types carry no
/// OpenAPI attributes of their own; the limits are the domain's constants. What
/// depends on more than the body (a quorum against the approvers' identities, a
/// deadline against the clock, `uiSchema` being a JSON Schema, `responseData` against
/// the request's `uiSchema`, a receiver URL against DNS) is answered 422.
fn body_bounds(doc: &mut Value) {
    let text = json!({"maxLength": limits::MAX_SHORT_TEXT, "pattern": NOT_BLANK});
    let optional_text = json!({"maxLength": limits::MAX_SHORT_TEXT});
    let long_text = json!({"maxLength": limits::MAX_LONG_TEXT});
    let timeout =
        json!({"minimum": limits::MIN_TIMEOUT_SECONDS, "maximum": limits::MAX_TIMEOUT_SECONDS});
    let url = json!({"maxLength": webhook::MAX_URL});

    for field in ["name", "agentId", "actionType"] {
        add(property(doc, "NewApproval", field), text.clone());
    }
    add(
        property(doc, "NewApproval", "requestedBy"),
        optional_text.clone(),
    );
    add(
        property(doc, "NewApproval", "approvers"),
        json!({"minItems": 1, "maxItems": limits::MAX_APPROVERS}),
    );
    add(
        property(doc, "NewApproval", "timeoutSeconds"),
        timeout.clone(),
    );
    for field in ["quorum", "rejectQuorum"] {
        add(property(doc, "NewApproval", field), json!({"minimum": 1}));
    }
    // What JSON Schema cannot count: approvers summed over the levels.
    let escalation = property(doc, "NewApproval", "escalation");
    let said = escalation["description"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    add(
        escalation,
        json!({
            "maxItems": limits::MAX_LEVELS,
            "description": format!(
                "{said} At most {} approvers on all levels together, `approvers` included.",
                limits::MAX_APPROVERS_TOTAL
            ),
        }),
    );
    add(
        property(doc, "NewApproval", "reminders"),
        json!({"maxItems": limits::MAX_REMINDERS}),
    );
    for field in ["callbackUrl", "executor"] {
        add(property(doc, "NewApproval", field), url.clone());
    }
    add(
        component(doc, "NewApproval"),
        json!({"allOf": [
            {"not": {
                "required": ["expiresAt", "timeoutSeconds"],
                "properties": {"expiresAt": {"type": "string"}, "timeoutSeconds": {"type": "integer"}},
            }},
            {"if": {
                "required": ["escalation"],
                "properties": {"escalation": {"type": "array", "minItems": 1}},
            }, "then": {
                "required": ["timeoutAction"],
                "properties": {"timeoutAction": {"enum": ["escalate"]}},
            }},
        ]}),
    );

    add(property(doc, "Approver", "recipient"), text.clone());
    add(property(doc, "Approver", "id"), optional_text);

    add(
        property(doc, "EscalationLevel", "approvers"),
        json!({"minItems": 1, "maxItems": limits::MAX_APPROVERS}),
    );
    add(property(doc, "EscalationLevel", "timeoutSeconds"), timeout);
    // A level ends in reject or approve: the ladder itself is the escalation.
    *property(doc, "EscalationLevel", "timeoutAction") = json!({
        "type": "string",
        "enum": ["reject", "approve"],
        "description": "What the last level's silence means (default `reject`); levels below the last escalate to the next.",
    });

    // Exactly one of the two offsets.
    let only = |field: &str, other: &str| {
        json!({
            "type": "object",
            "required": [field],
            "properties": {
                field: {
                    "type": "integer",
                    "format": "int64",
                    "minimum": limits::MIN_TIMEOUT_SECONDS,
                    "maximum": limits::MAX_TIMEOUT_SECONDS,
                },
                other: {"type": "null"},
            },
            "additionalProperties": false,
        })
    };
    let reminder = component(doc, "Reminder");
    let description = reminder["description"].take();
    *reminder = json!({
        "description": description,
        "oneOf": [
            only("afterSeconds", "beforeExpirySeconds"),
            only("beforeExpirySeconds", "afterSeconds"),
        ],
    });

    add(
        property(doc, "DecisionInput", "feedback"),
        long_text.clone(),
    );
    add(property(doc, "DecisionInput", "respondedBy"), text);
    add(
        component(doc, "DecisionInput"),
        json!({
            "if": {"required": ["decision"], "properties": {"decision": {"enum": ["modified"]}}},
            "then": {"required": ["responseData"], "properties": {"responseData": {"type": "object"}}},
            "else": {"properties": {"responseData": {"type": "null"}}},
        }),
    );

    add(property(doc, "CancelInput", "reason"), long_text);

    // What each status of a report carries.
    let report = |status: &str, result: Value, error: Value| {
        json!({
            "required": if error["type"] == "string" { json!(["status", "error"]) } else { json!(["status"]) },
            "properties": {"status": {"enum": [status]}, "result": result, "error": error},
        })
    };
    let none = json!({"type": "null"});
    add(
        component(doc, "ExecutionReport"),
        json!({"oneOf": [
            report("started", none.clone(), none.clone()),
            report("succeeded", json!({"type": ["object", "null"]}), none),
            report("failed", json!({"type": ["object", "null"]}),
                json!({"type": "string", "maxLength": limits::MAX_LONG_TEXT})),
        ]}),
    );

    for schema in ["NewEndpoint", "EndpointPatch"] {
        add(property(doc, schema, "url"), url.clone());
        add(
            property(doc, schema, "description"),
            json!({"maxLength": webhook::MAX_DESCRIPTION}),
        );
        add(
            property(doc, schema, "events"),
            json!({"minItems": 1, "maxItems": webhook::MAX_EVENT_PATTERNS, "items": event_pattern()}),
        );
    }
    // The app's MAX_OVERLAP_SECONDS: seven days.
    add(
        property(doc, "Rotation", "overlapSeconds"),
        json!({"minimum": 0, "maximum": 7 * 24 * 3600}),
    );
}

/// An event's `data` is its payload object, or null for the kinds that carry none
/// (`execution.started`).
/// The bounds of workflow definitions, as `domain::workflow` checks them. What depends
/// on more than a field (edges naming steps, cycles, reachability, a branch the step's
/// kind has, a config against its kind's JSON Schema, expressions that compile) is
/// answered 422 naming the pointer at fault.
fn workflow_bounds(doc: &mut Value) {
    use crate::domain::workflow::{Branch, Kind, definition, validate};
    let names = |all: &[&str]| json!(all);
    add(
        property(doc, "Definition", "steps"),
        json!({"minItems": 1, "maxItems": validate::MAX_STEPS}),
    );
    add(
        property(doc, "Definition", "edges"),
        json!({"maxItems": validate::MAX_EDGES}),
    );
    add(
        property(doc, "StepDef", "key"),
        json!({"pattern": "^[A-Za-z_][A-Za-z0-9_]{0,63}$"}),
    );
    let kinds: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
    add(
        property(doc, "StepDef", "kind"),
        json!({"enum": names(&kinds)}),
    );
    add(
        property(doc, "Compensate", "kind"),
        json!({"enum": ["http", "webhook", "transform", "ai"]}),
    );
    for field in ["from", "to"] {
        add(property(doc, "EdgeDef", field), json!({"maxLength": 64}));
    }
    let branches: Vec<&str> = Branch::ALL.iter().map(|b| b.as_str()).collect();
    add(
        property(doc, "EdgeDef", "branch"),
        json!({"enum": names(&branches)}),
    );
    add(
        property(doc, "RetryPolicy", "maxAttempts"),
        json!({"minimum": 1, "maximum": definition::MAX_RETRY_ATTEMPTS}),
    );
    for field in ["delaySeconds", "maxDelaySeconds"] {
        add(
            property(doc, "RetryPolicy", field),
            json!({"maximum": definition::MAX_RETRY_DELAY_SECONDS}),
        );
    }
    add(
        property(doc, "NewWorkflow", "name"),
        json!({"pattern": NOT_BLANK}),
    );
    add(
        property(doc, "NewWorkflow", "tags"),
        json!({"items": {"type": "string", "minLength": 1, "maxLength": 64}}),
    );
    add(
        property(doc, "WorkflowPatch", "name"),
        json!({"pattern": NOT_BLANK}),
    );
}

fn event_data(doc: &mut Value) {
    *property(doc, "Event", "data") = json!({
        "type": ["object", "null"],
        "description": "What the event says, by `type` (docs/events.md); null when it says nothing more.",
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// After a change to the API: `GREENLIGHT_WRITE_OPENAPI=1 cargo test -p greenlight
    /// committed_document` writes the derived document to `docs/openapi.json`.
    #[test]
    fn the_committed_document_is_the_derived_one() {
        let derived = api_document();
        let committed: Value = serde_json::from_str(DOCUMENT).expect("docs/openapi.json is JSON");
        if committed == *derived {
            return;
        }
        if std::env::var_os("GREENLIGHT_WRITE_OPENAPI").is_some() {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.json");
            let text = serde_json::to_string_pretty(derived).expect("the document serializes");
            std::fs::write(path, text + "\n").expect("write docs/openapi.json");
            return;
        }
        panic!(
            "docs/openapi.json is not the document the handlers and types derive: rerun this \
             test with GREENLIGHT_WRITE_OPENAPI=1 to write it, and commit it"
        );
    }

    #[test]
    fn every_bound_names_a_field_of_the_document() {
        let doc = api_document();
        assert_eq!(
            doc["components"]["schemas"]["NewApproval"]["properties"]["name"]["maxLength"],
            limits::MAX_SHORT_TEXT
        );
        assert_eq!(
            doc["components"]["schemas"]["EscalationLevel"]["properties"]["approvers"]["maxItems"],
            limits::MAX_APPROVERS
        );
    }
}
