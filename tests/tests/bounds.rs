//! Every duration, count and `uiSchema` in a request has a bound, checked with the
//! JSON Pointer at fault; nothing on input overflows or stalls the server.

use std::time::{Duration, Instant};

use greenlight_tests::{Backend, TestApp, approval_body, spawn_app};
use serde_json::{Value, json};

fn fields(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|e| {
            e.iter()
                .map(|e| e["field"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

async fn refused_at(app: &TestApp, patch: Value, field: &str) {
    let mut body = approval_body();
    for (k, v) in patch.as_object().unwrap() {
        if v.is_null() {
            body.as_object_mut().unwrap().remove(k);
        } else {
            body[k] = v.clone();
        }
    }
    let r = app.post("/v1/approvals", &body).await;
    assert_eq!(r.status, 422, "{field}: {}", r.body);
    assert!(
        fields(&r.body).iter().any(|f| f == field),
        "{field} not in {:?}",
        fields(&r.body)
    );
}

fn approvers(n: usize, prefix: &str) -> Value {
    (0..n)
        .map(|i| json!({"channel": "email", "recipient": format!("{prefix}{i}@example.com")}))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn durations_and_counts_are_bounded_where_they_are_given() {
    let app = spawn_app(Backend::Sqlite).await;
    let huge = i64::MAX;
    refused_at(
        &app,
        json!({"reminders": [{"afterSeconds": huge}]}),
        "/reminders/0/afterSeconds",
    )
    .await;
    refused_at(
        &app,
        json!({"reminders": [{"afterSeconds": 60}, {"beforeExpirySeconds": -huge}]}),
        "/reminders/1/beforeExpirySeconds",
    )
    .await;
    refused_at(&app, json!({"timeoutSeconds": huge}), "/timeoutSeconds").await;
    refused_at(&app, json!({"timeoutSeconds": i64::MIN}), "/timeoutSeconds").await;
    refused_at(
        &app,
        json!({"expiresAt": "+262142-12-31T23:59:59Z", "timeoutSeconds": null}),
        "/expiresAt",
    )
    .await;
    refused_at(
        &app,
        json!({"timeoutAction": "escalate",
               "escalation": [{"approvers": approvers(1, "b"), "timeoutSeconds": huge}]}),
        "/escalation/0/timeoutSeconds",
    )
    .await;
    refused_at(
        &app,
        json!({"timeoutAction": "escalate",
               "escalation": [{"approvers": approvers(51, "b"), "timeoutSeconds": 60}]}),
        "/escalation/0/approvers",
    )
    .await;
    // 50 + 50 is the most; the level that goes past it is named.
    refused_at(
        &app,
        json!({"approvers": approvers(50, "a"), "timeoutAction": "escalate",
               "escalation": [{"approvers": approvers(50, "b"), "timeoutSeconds": 60},
                              {"approvers": approvers(1, "c"), "timeoutSeconds": 60}]}),
        "/escalation/1/approvers",
    )
    .await;
    let mut most = approval_body();
    most["approvers"] = approvers(50, "a");
    most["timeoutAction"] = json!("escalate");
    most["escalation"] = json!([{"approvers": approvers(50, "b"), "timeoutSeconds": 2_592_000}]);
    most["reminders"] = json!([{"afterSeconds": 2_592_000}, {"beforeExpirySeconds": 2_592_000}]);
    most["timeoutSeconds"] = json!(2_592_000);
    app.create(&most).await;
    app.shutdown().await;
}

/// `levels` nested `allOf`s of `width` `$ref`s each: with 25 and 2, the schema of the
/// issue, 2^25 paths.
fn nested_refs(levels: usize, width: usize) -> Value {
    let mut defs = serde_json::Map::new();
    for i in 0..levels {
        let next = format!("#/$defs/d{}", i + 1);
        let refs: Vec<Value> = (0..width).map(|_| json!({"$ref": next})).collect();
        defs.insert(format!("d{i}"), json!({"allOf": refs}));
    }
    defs.insert(
        format!("d{levels}"),
        json!({"properties": {"amount": {"type": "number"}}}),
    );
    json!({"type": "object", "$defs": defs, "allOf": [{"$ref": "#/$defs/d0"}]})
}

/// Forty references to forty references: 1,600 subschemas, three `$ref`s deep.
fn fan_out(n: usize) -> Value {
    let to = |d: &str| -> Value {
        (0..n)
            .map(|_| json!({"$ref": format!("#/$defs/{d}")}))
            .collect()
    };
    json!({"type": "object", "$defs": {"d0": {"allOf": to("d1")}, "d1": {"allOf": to("d2")}, "d2": {}},
           "allOf": [{"$ref": "#/$defs/d0"}]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_costly_ui_schema_is_refused_at_create_or_decided_within_a_second() {
    let app = spawn_app(Backend::Sqlite).await;
    let r = app
        .post(
            "/v1/approvals",
            &json!({"uiSchema": nested_refs(25, 2)})
                .as_object()
                .unwrap()
                .iter()
                .fold(approval_body(), |mut b, (k, v)| {
                    b[k] = v.clone();
                    b
                }),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    let at = fields(&r.body);
    assert!(
        at.iter()
            .any(|f| f.starts_with("/uiSchema/") && f.ends_with("/$ref")),
        "{at:?}"
    );

    for (schema, field) in [
        (
            json!({"type": "object", "properties": {"a": {"$ref": "https://evil.example/s.json"}}}),
            "/uiSchema/properties/a/$ref",
        ),
        (
            json!({"type": "object", "properties": {"a": {"$ref": "#/properties/a"}}}),
            "/uiSchema/properties/a/$ref",
        ),
        (
            json!({"type": "object", "properties": {"a": {"$id": "https://x.example/a", "type": "string"}}}),
            "/uiSchema/properties/a/$id",
        ),
        (
            json!({"type": "object", "$defs": {"a": {"$dynamicRef": "#x"}}}),
            "/uiSchema/$defs/a/$dynamicRef",
        ),
        (nested_refs(9, 1), "/uiSchema/$defs/d8/allOf/0/$ref"),
        (nested_refs(8, 2), "/uiSchema"),
        (fan_out(40), "/uiSchema"),
    ] {
        refused_at(&app, json!({"uiSchema": schema}), field).await;
    }

    // The costliest shape the caps let through: refs eight deep, a thousand subschemas
    // counted through them, a pattern on every one, against the largest responseData.
    let mut defs = serde_json::Map::new();
    for i in 0..7 {
        let next = format!("#/$defs/d{}", i + 1);
        defs.insert(
            format!("d{i}"),
            json!({"allOf": [{"$ref": next}, {"$ref": next}]}),
        );
    }
    defs.insert(
        "d7".into(),
        json!({"additionalProperties": {"type": "string", "pattern": "^(a|aa)+$"}}),
    );
    let schema = json!({"type": "object", "$defs": defs, "allOf": [{"$ref": "#/$defs/d0"}]});
    let mut body = approval_body();
    body["uiSchema"] = schema;
    let id = app.create(&body).await;
    let data: serde_json::Map<String, Value> = (0..2000)
        .map(|i| (format!("k{i}"), json!(format!("{}!", "a".repeat(20)))))
        .collect();
    // Not a measurement: the caps make a slow check impossible by construction, and
    // the budget refuses whatever is left after 250 ms; one second is a loose ceiling.
    let started = Instant::now();
    let r = app
        .decide(
            &id,
            &json!({"decision": "modified", "responseData": Value::Object(data)}),
        )
        .await;
    let took = started.elapsed();
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(took < Duration::from_secs(1), "took {took:?}");
    let ok = app
        .decide(
            &id,
            &json!({"decision": "modified", "responseData": {"k": "aaa"}}),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    app.shutdown().await;
}
