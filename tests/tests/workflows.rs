//! Workflows through the API, on both stores: definitions and their checks, versions,
//! runs of the worked example end to end (a person in the middle, an HTTP step that
//! retries under one Idempotency-Key per attempt), input checks, cancel.

use std::collections::HashMap;

use chrono::Duration;
use serde_json::{Value, json};

use greenlight_tests::receiver::{Answer, Receiver};
use greenlight_tests::workflows::refund_definition;
use greenlight_tests::{Backend, TestApp, on_every_store, spawn_app};

fn transform(key: &str, expression: &str) -> Value {
    json!({"key": key, "kind": "transform", "config": {"expression": expression}})
}

async fn a_definition_is_refused_with_the_pointer_at_fault(backend: Backend) {
    let app = spawn_app(backend).await;
    let cases = [
        (
            json!({"steps": [transform("a", "1"), {"key": "b", "kind": "nope", "config": {}}]}),
            "/definition/steps/1/kind",
        ),
        (
            json!({"steps": [transform("a", "1"), transform("a", "2")]}),
            "/definition/steps/1/key",
        ),
        (
            json!({"steps": [transform("a", "1")], "edges": [{"from": "a", "to": "x"}]}),
            "/definition/edges/0/to",
        ),
        (
            json!({"steps": [transform("a", "1"), transform("b", "2")],
            "edges": [{"from": "a", "to": "b"}, {"from": "b", "to": "a"}]}),
            "/definition/edges/1",
        ),
        (
            json!({"steps": [transform("a", "1"), transform("b", "2")],
            "edges": [{"from": "a", "to": "b", "branch": "approved"}]}),
            "/definition/edges/0/branch",
        ),
        (
            json!({"steps": [transform("a", "1"), {"key": "b", "kind": "http", "config": {"method": "POST", "url": "gopher://x"}}]}),
            "/definition/steps/1/config/url",
        ),
        (
            json!({"steps": [transform("a", "1 +")]}),
            "/definition/steps/0/config/expression",
        ),
    ];
    for (definition, pointer) in cases {
        let r = app
            .post(
                "/v1/workflows",
                &json!({"name": "w", "definition": definition}),
            )
            .await;
        assert_eq!(r.status, 422, "{definition}: {}", r.body);
        assert_eq!(r.body["errors"][0]["field"], pointer, "{}", r.body);
    }
    // A body that is not a definition at all is named by serde's path.
    let r = app
        .post(
            "/v1/workflows",
            &json!({"name": "w", "definition": {"steps": [{"key": "a"}]}}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    app.shutdown().await;
}

/// Drives the run: drains due jobs, and moves the clock on by `step` while a delayed
/// job (a retry) is still to come, at most `rounds` times.
async fn settle(app: &TestApp, step: Duration, rounds: usize) {
    for _ in 0..rounds {
        app.drain_all().await;
        if app.stores.jobs.next_due().await.unwrap().is_none() {
            return;
        }
        app.clock.advance(step);
    }
    app.drain_all().await;
}

async fn a_refund_over_the_limit_waits_for_a_person_and_pays_what_they_approved(backend: Backend) {
    let app = spawn_app(backend).await;
    let rx = Receiver::start().await;
    // The payment service fails twice, then answers.
    let def = refund_definition(&rx.url("/hold"), &rx.url("/release"), &rx.url("/pay"));
    let wf = app.create_workflow(&def).await;
    let run = app
        .start_run(&wf, &json!({"orderId": "A-1", "amount": 150}))
        .await;
    let run_id = run["id"].as_str().unwrap().to_owned();
    assert_eq!(run["version"], 1);
    assert!(run_id.starts_with("run_"));
    app.drain_all().await;
    let ask = app.step(&run_id, "ask").await;
    assert_eq!(ask["status"], "WAITING", "{ask}");
    assert_eq!(app.run(&run_id).await["status"], "WAITING");
    let approval_id = ask["approvalId"]
        .as_str()
        .expect("the step names its request")
        .to_owned();
    let approval = app.get(&format!("/v1/approvals/{approval_id}")).await.body;
    assert_eq!(approval["workflowRunId"], run_id.as_str());
    assert_eq!(approval["stepKey"], "ask");
    assert_eq!(approval["actionData"]["amount"], 150);
    rx.answer([
        Answer::Status(503),
        Answer::Status(500),
        Answer::Json(200, json!({"paid": true})),
    ]);
    let r = app
        .decide(
            &approval_id,
            &json!({"decision": "modified", "responseData": {"amount": 120}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    settle(&app, Duration::seconds(5), 10).await;
    let run = app.run(&run_id).await;
    assert_eq!(run["status"], "SUCCEEDED", "{run}");
    let pay = app.step(&run_id, "pay").await;
    assert_eq!(pay["attempts"], 3);
    assert_eq!(pay["output"]["body"], json!({"paid": true}));
    let ask = app.step(&run_id, "ask").await;
    assert_eq!(ask["output"]["decision"], "modified");
    assert_eq!(ask["output"]["approvedData"]["amount"], 120);
    let pays: Vec<_> = rx
        .received()
        .into_iter()
        .filter(|r| r.path == "/pay")
        .collect();
    assert_eq!(pays.len(), 3);
    for (i, p) in pays.iter().enumerate() {
        assert_eq!(
            p.header("idempotency-key"),
            format!("{run_id}:pay:{}", i + 1)
        );
        assert_eq!(
            p.json(),
            json!({"orderId": "A-1", "amount": 120}),
            "the approved amount flows"
        );
    }
    let types = app.run_event_types(&run_id).await;
    assert_eq!(types.first().map(String::as_str), Some("run.started"));
    assert_eq!(types.last().map(String::as_str), Some("run.succeeded"));
    assert_eq!(
        types.iter().filter(|t| *t == "step.retrying").count(),
        2,
        "{types:?}"
    );
    assert!(types.contains(&"run.waiting".to_owned()));
    let v = app
        .get(&format!("/v1/runs/{run_id}/events/verify"))
        .await
        .body;
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["replayMatchesState"], true, "{v}");
    assert_eq!(v["sealed"], true, "{v}");
    app.shutdown().await;
}

async fn a_small_refund_runs_without_a_person(backend: Backend) {
    let app = spawn_app(backend).await;
    let rx = Receiver::start().await;
    let def = refund_definition(&rx.url("/hold"), &rx.url("/release"), &rx.url("/pay"));
    let wf = app.create_workflow(&def).await;
    let run = app
        .start_run(&wf, &json!({"orderId": "B-2", "amount": 40}))
        .await;
    let id = run["id"].as_str().unwrap();
    settle(&app, Duration::seconds(5), 5).await;
    let run = app.run(id).await;
    assert_eq!(run["status"], "SUCCEEDED", "{run}");
    assert_eq!(app.step(id, "ask").await["status"], "SKIPPED");
    assert_eq!(run["output"]["pay"]["status"], 200);
    let paths: Vec<String> = rx.received().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/hold", "/pay"]);
    app.shutdown().await;
}

async fn input_is_checked_and_a_repeated_key_starts_one_run(backend: Backend) {
    let app = spawn_app(backend).await;
    let def = json!({
        "inputSchema": {"type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}}},
        "steps": [transform("double", "input.n * 2")]
    });
    let wf = app.create_workflow(&def).await;
    let r = app
        .post(
            &format!("/v1/workflows/{wf}/runs"),
            &json!({"input": {"n": "x"}}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.body["errors"][0]["field"], "/input/n");
    let path = format!("/v1/workflows/{wf}/runs");
    let send = |body: Value| {
        let app = &app;
        let path = path.clone();
        async move {
            app.http
                .post(format!("{}{path}", app.base))
                .bearer_auth(&app.key)
                .header("idempotency-key", "k-1")
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let first = send(json!({"input": {"n": 2}})).await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let again = send(json!({"input": {"n": 2}})).await;
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], first["id"]);
    assert_eq!(send(json!({"input": {"n": 3}})).await.status(), 422);
    let list = app.get(&format!("/v1/runs?workflowId={wf}")).await.body;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(
        first["status"], "SUCCEEDED",
        "pure steps end in the start's own write"
    );
    assert_eq!(first["output"]["double"], 4);
    app.shutdown().await;
}

async fn a_run_on_v1_finishes_on_v1_after_v2_is_published(backend: Backend) {
    let app = spawn_app(backend).await;
    let rx = Receiver::start().await;
    let v1 = json!({
        "steps": [
            {"key": "call", "kind": "http", "config": {"method": "POST", "url": rx.url("/v1")}},
            transform("which", "'v1'")
        ],
        "edges": [{"from": "call", "to": "which"}]
    });
    let wf = app.create_workflow(&v1).await;
    let run = app.start_run(&wf, &json!({})).await;
    let id = run["id"].as_str().unwrap();
    let v2 = json!({"steps": [transform("which", "'v2'")]});
    let r = app
        .post(
            &format!("/v1/workflows/{wf}/versions"),
            &json!({"definition": v2}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["version"], 2);
    app.drain_all().await;
    let run = app.run(id).await;
    assert_eq!(run["version"], 1);
    assert_eq!(run["output"]["which"], "v1", "{run}");
    let newer = app.start_run(&wf, &json!({})).await;
    assert_eq!(newer["version"], 2);
    assert_eq!(newer["output"]["which"], "v2");
    // Roll back: new runs start on v1 again; the versions stay as they were.
    let r = app
        .send(
            reqwest::Method::PATCH,
            &format!("/v1/workflows/{wf}"),
            Some(&app.key),
            Some(&json!({"activeVersion": 1})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["activeVersion"], 1);
    let stored = app
        .get(&format!("/v1/workflows/{wf}/versions/2"))
        .await
        .body;
    assert_eq!(stored["definition"]["steps"], v2["steps"]);
    // Deleted: hidden, starts nothing, its runs stay readable.
    let r = app
        .send(
            reqwest::Method::DELETE,
            &format!("/v1/workflows/{wf}"),
            Some(&app.key),
            None,
        )
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(app.get(&format!("/v1/workflows/{wf}")).await.status, 404);
    assert_eq!(
        app.post(&format!("/v1/workflows/{wf}/runs"), &json!({}))
            .await
            .status,
        404
    );
    assert_eq!(app.get(&format!("/v1/runs/{id}")).await.status, 200);
    app.shutdown().await;
}

async fn a_cancel_during_a_human_wait_cancels_the_request_and_undoes_the_hold(backend: Backend) {
    let app = spawn_app(backend).await;
    let rx = Receiver::start().await;
    let def = refund_definition(&rx.url("/hold"), &rx.url("/release"), &rx.url("/pay"));
    let wf = app.create_workflow(&def).await;
    let run = app
        .start_run(&wf, &json!({"orderId": "C-3", "amount": 500}))
        .await;
    let id = run["id"].as_str().unwrap();
    app.drain_all().await;
    let approval_id = app.step(id, "ask").await["approvalId"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .post(
            &format!("/v1/runs/{id}/cancel"),
            &json!({"reason": "customer withdrew"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "CANCELLED");
    app.drain_all().await;
    assert_eq!(
        app.get(&format!("/v1/approvals/{approval_id}")).await.body["status"],
        "CANCELLED"
    );
    let run = app.run(id).await;
    assert_eq!(run["compensation"]["status"], "COMPLETED", "{run}");
    let releases: Vec<_> = rx
        .received()
        .into_iter()
        .filter(|r| r.path == "/release")
        .collect();
    assert_eq!(releases.len(), 1);
    assert_eq!(
        releases[0].header("idempotency-key"),
        format!("{id}:hold:compensate")
    );
    // A decision now is refused by the request; a second cancel by the run.
    assert_eq!(
        app.decide(&approval_id, &json!({"decision": "approved"}))
            .await
            .status,
        409
    );
    assert_eq!(
        app.post(&format!("/v1/runs/{id}/cancel"), &json!({}))
            .await
            .status,
        409
    );
    let types = app.run_event_types(id).await;
    let tail = [
        "run.cancelled",
        "compensation.started",
        "compensation.step.started",
        "compensation.step.ended",
        "compensation.completed",
    ]
    .map(String::from);
    assert!(types.ends_with(&tail), "{types:?}");
    app.shutdown().await;
}

async fn run_events_reach_webhook_endpoints_that_select_them(backend: Backend) {
    let app = spawn_app(backend).await;
    let rx = Receiver::start().await;
    let r = app
        .post(
            "/v1/webhooks",
            &json!({"url": rx.url("/hooks"), "events": ["run.*"]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let wf = app
        .create_workflow(&json!({"steps": [transform("a", "1")]}))
        .await;
    let run = app.start_run(&wf, &json!({})).await;
    app.drain_all().await;
    let got: HashMap<String, Value> = rx
        .received()
        .into_iter()
        .map(|r| (r.json()["type"].as_str().unwrap().to_owned(), r.json()))
        .collect();
    assert!(
        got.contains_key("run.started") && got.contains_key("run.succeeded"),
        "{:?}",
        got.keys()
    );
    assert!(
        !got.keys().any(|t| t.starts_with("step.")),
        "the endpoint selects run.* only"
    );
    assert_eq!(got["run.succeeded"]["data"]["run"]["id"], run["id"]);
    app.shutdown().await;
}

on_every_store!(
    a_definition_is_refused_with_the_pointer_at_fault,
    a_refund_over_the_limit_waits_for_a_person_and_pays_what_they_approved,
    a_small_refund_runs_without_a_person,
    input_is_checked_and_a_repeated_key_starts_one_run,
    a_run_on_v1_finishes_on_v1_after_v2_is_published,
    a_cancel_during_a_human_wait_cancels_the_request_and_undoes_the_hold,
    run_events_reach_webhook_endpoints_that_select_them,
);
