//! The step kinds that wait or sign, and the branches that route failures, on both
//! stores: a webhook step signed with the tenant's callback secret under one
//! `webhook-id` across retries; a delay on the durable timers; an `error` edge after a
//! failed condition; a `fail` step; a disabled workflow starts nothing; a long chain of
//! pure steps goes on over bounded transitions.

use chrono::Duration;
use serde_json::json;

use greenlight_tests::receiver::{Answer, Receiver};
use greenlight_tests::{Backend, on_every_store, spawn_app};

async fn a_webhook_step_is_signed_and_keeps_its_webhook_id_across_retries(backend: Backend) {
    let app = spawn_app(backend).await;
    let rx = Receiver::start().await;
    let secret = app
        .post("/v1/callback-secret/rotate", &json!({}))
        .await
        .body["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let def = json!({"steps": [{"key": "notify", "kind": "webhook",
        "config": {"url": rx.url("/notify"), "body": {"order": "=input.order"}},
        "retry": {"maxAttempts": 2, "delaySeconds": 3}}]});
    let wf = app.create_workflow(&def).await;
    rx.answer([Answer::Status(500), Answer::Status(200)]);
    let run = app.start_run(&wf, &json!({"order": "F-6"})).await;
    let id = run["id"].as_str().unwrap();
    app.drain_all().await;
    app.clock.advance(Duration::seconds(3));
    app.drain_all().await;
    assert_eq!(app.run(id).await["status"], "SUCCEEDED");
    let got = rx.received();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].header("webhook-id"), got[1].header("webhook-id"));
    for r in &got {
        r.verify(&secret).unwrap();
        assert_eq!(r.json()["data"]["body"], json!({"order": "F-6"}));
        assert_eq!(r.json()["data"]["runId"], id);
    }
    assert_eq!(got[1].json()["data"]["attempt"], 2);
    app.shutdown().await;
}

async fn a_delay_waits_on_the_durable_timers(backend: Backend) {
    let app = spawn_app(backend).await;
    let def = json!({
        "steps": [
            {"key": "wait", "kind": "delay", "config": {"seconds": "=input.seconds"}},
            {"key": "after", "kind": "transform", "config": {"expression": "'done'"}}
        ],
        "edges": [{"from": "wait", "to": "after"}]
    });
    let wf = app.create_workflow(&def).await;
    let run = app.start_run(&wf, &json!({"seconds": 60})).await;
    let id = run["id"].as_str().unwrap();
    app.drain_all().await;
    app.clock.advance(Duration::seconds(59));
    app.drain_all().await;
    assert_eq!(app.step(id, "wait").await["status"], "RUNNING");
    app.clock.advance(Duration::seconds(2));
    app.drain_all().await;
    let run = app.run(id).await;
    assert_eq!(run["status"], "SUCCEEDED", "{run}");
    assert_eq!(run["output"]["after"], "done");
    // A computed value the kind's schema refuses fails the step, naming the field.
    let run = app.start_run(&wf, &json!({"seconds": "soon"})).await;
    assert_eq!(run["status"], "FAILED", "{run}");
    let error = run["steps"][0]["error"].as_str().unwrap();
    assert!(error.contains("/config/seconds"), "{error}");
    app.shutdown().await;
}

async fn an_error_edge_takes_a_failure_and_a_fail_step_ends_the_run(backend: Backend) {
    let app = spawn_app(backend).await;
    let def = json!({
        "steps": [
            {"key": "check", "kind": "condition", "config": {"expression": "input.missing > 1"}},
            {"key": "fine", "kind": "transform", "config": {"expression": "'fine'"}},
            {"key": "stop", "kind": "fail", "config": {"message": "=\"no \" + string(input.n)"}}
        ],
        "edges": [
            {"from": "check", "to": "fine", "branch": "true"},
            {"from": "check", "to": "stop", "branch": "error"}
        ]
    });
    let wf = app.create_workflow(&def).await;
    let run = app.start_run(&wf, &json!({"n": 7})).await;
    assert_eq!(run["status"], "FAILED", "{run}");
    assert_eq!(run["error"], "no 7");
    let steps = run["steps"].as_array().unwrap();
    assert_eq!(steps[0]["status"], "FAILED");
    assert_eq!(steps[0]["branch"], "error");
    assert_eq!(steps[1]["status"], "SKIPPED");
    assert_eq!(steps[2]["status"], "FAILED");
    app.shutdown().await;
}

async fn a_disabled_workflow_starts_no_run(backend: Backend) {
    let app = spawn_app(backend).await;
    let wf = app
        .create_workflow(
            &json!({"steps": [{"key": "a", "kind": "transform", "config": {"expression": "1"}}]}),
        )
        .await;
    let path = format!("/v1/workflows/{wf}");
    let off = app
        .send(
            reqwest::Method::PATCH,
            &path,
            Some(&app.key),
            Some(&json!({"enabled": false})),
        )
        .await;
    assert_eq!(off.status, 200, "{}", off.body);
    assert_eq!(off.body["enabled"], false);
    let r = app
        .post(&format!("{path}/runs"), &json!({"input": {}}))
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
    // An approver key neither reads nor runs workflows.
    let ann = app.approver_key("ann@example.com").await;
    let r = app
        .send(reqwest::Method::GET, &path, Some(&ann), None)
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    app.shutdown().await;
}

async fn a_long_chain_of_pure_steps_runs_to_its_end(backend: Backend) {
    let app = spawn_app(backend).await;
    let steps: Vec<_> = (0..40)
        .map(|i| json!({"key": format!("t{i}"), "kind": "transform",
            "config": {"expression": if i == 0 { "1".to_owned() } else { format!("steps.t{} + 1", i - 1) }}}))
        .collect();
    let edges: Vec<_> = (1..40)
        .map(|i| json!({"from": format!("t{}", i - 1), "to": format!("t{i}")}))
        .collect();
    let wf = app
        .create_workflow(&json!({"steps": steps, "edges": edges}))
        .await;
    let run = app.start_run(&wf, &json!({})).await;
    assert_eq!(
        run["status"], "RUNNING",
        "one write holds a bounded part of the chain"
    );
    app.drain_all().await;
    let run = app.run(run["id"].as_str().unwrap()).await;
    assert_eq!(run["status"], "SUCCEEDED", "{run}");
    assert_eq!(run["output"]["t39"], 40);
    app.shutdown().await;
}

on_every_store!(
    a_long_chain_of_pure_steps_runs_to_its_end,
    a_webhook_step_is_signed_and_keeps_its_webhook_id_across_retries,
    a_delay_waits_on_the_durable_timers,
    an_error_edge_takes_a_failure_and_a_fail_step_ends_the_run,
    a_disabled_workflow_starts_no_run,
);
