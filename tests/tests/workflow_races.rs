//! Workflows under races and failures, on both stores: a decision that lands while the
//! run records its wait resumes it exactly once; a step job delivered twice, or after
//! its step succeeded, runs the step at most as often as its attempts and succeeds it
//! once; a worker that dies holding a step's job loses nothing (a process started
//! anew on the database takes it over); compensation runs in
//! reverse order of completion after a late failure and after a rejection.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::Duration;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use greenlight::adapters::ids::UuidIds;
use greenlight::app::App;
use greenlight::app::outbox::{JobRunner, RunnerConfig, Tasks};
use greenlight::domain::{StepRef, Task};
use greenlight::ports::{Clock, NewJob};
use greenlight::run::local;
use greenlight_tests::receiver::{Answer, Receiver};
use greenlight_tests::workflows::refund_definition;
use greenlight_tests::{Backend, on_every_store, open_stores, spawn_app};

fn http(key: &str, url: String) -> Value {
    json!({"key": key, "kind": "http", "config": {"method": "POST", "url": url}})
}

/// The id the approval step's attempt gives its request (as `steps/approval.rs` makes it).
fn step_approval_id(run_id: &str, key: &str, attempt: u32) -> String {
    let digest = Sha256::digest(format!("default|{run_id}|{key}|{attempt}").as_bytes());
    format!("apr_{}", &hex::encode(digest)[..32])
}

async fn a_decision_racing_the_wait_resumes_the_run_exactly_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let rx = Receiver::start().await;
    let def = json!({
        "steps": [
            {"key": "ask", "kind": "approval", "config": {
                "name": "Deploy", "actionType": "deploy", "actionData": {"v": 42},
                "approvers": [{"channel": "email", "recipient": "ann@example.com"}]}},
            http("after", rx.url("/after")),
        ],
        "edges": [{"from": "ask", "to": "after", "branch": "approved"}]
    });
    let wf = app.create_workflow(&def).await;
    for round in 0..4 {
        let run = app.start_run(&wf, &json!({"round": round})).await;
        let run_id = run["id"].as_str().unwrap().to_owned();
        let approval_id = step_approval_id(&run_id, "ask", 1);
        let path = format!("/v1/approvals/{approval_id}/decision");
        let deciders: Vec<_> = (0..6)
            .map(|_| {
                let (http, base, key, path) = (
                    app.http.clone(),
                    app.base.clone(),
                    app.admin_key.clone(),
                    path.clone(),
                );
                tokio::spawn(async move {
                    // Until the request exists, the decision is a 404; then one wins.
                    for _ in 0..400 {
                        let r = http
                            .post(format!("{base}{path}"))
                            .bearer_auth(&key)
                            .json(
                                &json!({"decision": "approved", "respondedBy": "ann@example.com"}),
                            )
                            .send()
                            .await
                            .unwrap();
                        match r.status().as_u16() {
                            404 => tokio::time::sleep(StdDuration::from_millis(1)).await,
                            s => return s,
                        }
                    }
                    404
                })
            })
            .collect();
        // The step's job creates the request while the deciders hammer it; its resume
        // runs in the same drain.
        app.drain_all().await;
        let mut statuses = Vec::new();
        for d in deciders {
            statuses.push(d.await.unwrap());
        }
        app.drain_all().await;
        assert_eq!(
            statuses.iter().filter(|s| **s == 200).count(),
            1,
            "{statuses:?}"
        );
        assert!(
            statuses.iter().all(|s| *s == 200 || *s == 409),
            "{statuses:?}"
        );
        let run = app.run(&run_id).await;
        assert_eq!(run["status"], "SUCCEEDED", "round {round}: {run}");
        let types = app.run_event_types(&run_id).await;
        assert_eq!(
            types.iter().filter(|t| *t == "step.succeeded").count(),
            2,
            "{types:?}"
        );
    }
    let afters = rx
        .received()
        .into_iter()
        .filter(|r| r.path == "/after")
        .count();
    assert_eq!(afters, 4, "the step after the decision ran once per run");
    app.shutdown().await;
}

async fn a_step_job_delivered_again_never_runs_a_step_that_succeeded(backend: Backend) {
    let app = spawn_app(backend).await;
    let rx = Receiver::start().await;
    let wf = app
        .create_workflow(&json!({"steps": [http("call", rx.url("/call"))]}))
        .await;
    let run = app.start_run(&wf, &json!({})).await;
    let run_id = run["id"].as_str().unwrap().to_owned();
    let again = |n: u32| NewJob {
        id: format!("job_again_{run_id}_{n}"),
        tenant_id: "default".into(),
        task: Task::RunStep(StepRef {
            tenant_id: "default".into(),
            run_id: run_id.clone(),
            key: "call".into(),
            attempt: 1,
        }),
        approval_id: None,
        run_at: app.clock.now(),
        max_attempts: 3,
    };
    // Delivered twice before it ran: both may call out, under one key; one result counts.
    app.stores.jobs.enqueue(vec![again(1)]).await.unwrap();
    app.drain_all().await;
    let calls = rx.received();
    assert!(!calls.is_empty() && calls.len() <= 2, "{}", calls.len());
    assert!(
        calls
            .iter()
            .all(|c| c.header("idempotency-key") == format!("{run_id}:call:1"))
    );
    // Delivered after the step succeeded: nothing runs.
    app.stores.jobs.enqueue(vec![again(2)]).await.unwrap();
    app.drain_all().await;
    assert_eq!(rx.received().len(), calls.len());
    let types = app.run_event_types(&run_id).await;
    assert_eq!(
        types.iter().filter(|t| *t == "step.succeeded").count(),
        1,
        "{types:?}"
    );
    assert_eq!(app.run(&run_id).await["status"], "SUCCEEDED");
    app.shutdown().await;
}

async fn an_approval_step_delivered_again_keeps_its_one_request(backend: Backend) {
    let app = spawn_app(backend).await;
    let def = json!({"steps": [{"key": "ask", "kind": "approval", "config": {
        "name": "Deploy", "actionType": "deploy",
        "approvers": [{"channel": "email", "recipient": "ann@example.com"}]}}]});
    let wf = app.create_workflow(&def).await;
    let run = app.start_run(&wf, &json!({})).await;
    let run_id = run["id"].as_str().unwrap().to_owned();
    app.drain_all().await;
    let approval_id = step_approval_id(&run_id, "ask", 1);
    assert_eq!(
        app.step(&run_id, "ask").await["approvalId"],
        approval_id.as_str()
    );
    app.stores
        .jobs
        .enqueue(vec![NewJob {
            id: format!("job_again_{run_id}"),
            tenant_id: "default".into(),
            task: Task::RunStep(StepRef {
                tenant_id: "default".into(),
                run_id: run_id.clone(),
                key: "ask".into(),
                attempt: 1,
            }),
            approval_id: None,
            run_at: app.clock.now(),
            max_attempts: 3,
        }])
        .await
        .unwrap();
    app.drain_all().await;
    // A job for a step that waits changes nothing: its request stays as it was.
    let a = app.get(&format!("/v1/approvals/{approval_id}")).await.body;
    assert_eq!(a["status"], "PENDING", "{a}");
    assert_eq!(app.step(&run_id, "ask").await["status"], "WAITING");
    let r = app
        .decide(&approval_id, &json!({"decision": "approved"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    app.drain_all().await;
    assert_eq!(app.run(&run_id).await["status"], "SUCCEEDED");
    app.shutdown().await;
}

async fn a_worker_that_dies_holding_a_step_loses_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let rx = Receiver::start().await;
    let def = json!({
        "steps": [http("one", rx.url("/one")), http("two", rx.url("/two"))],
        "edges": [{"from": "one", "to": "two"}]
    });
    let wf = app.create_workflow(&def).await;
    let run = app.start_run(&wf, &json!({})).await;
    let run_id = run["id"].as_str().unwrap().to_owned();
    // A worker claims the first step's job and dies without settling it.
    let claimed = app
        .stores
        .jobs
        .claim(
            "dead-worker",
            app.clock.now(),
            StdDuration::from_secs(5),
            100,
        )
        .await
        .unwrap();
    assert!(
        claimed.iter().any(|j| j.kind == "workflow.step"),
        "{claimed:?}"
    );
    app.drain_all().await;
    assert_eq!(
        app.step(&run_id, "one").await["status"],
        "RUNNING",
        "the lease still holds it"
    );
    // Another process starts on the same database; once the lease runs out it takes
    // the job from the log, and the run goes on.
    app.clock.advance(Duration::seconds(10));
    let stores = open_stores(&app.db_url).await;
    let restarted = App::new(local::compose(
        &stores,
        app.clock.clone(),
        Arc::new(UuidIds),
        true,
    ));
    JobRunner::new(restarted, RunnerConfig::default(), Tasks::ALL)
        .drain()
        .await
        .unwrap();
    let run = app.run(&run_id).await;
    assert_eq!(run["status"], "SUCCEEDED", "{run}");
    let paths: Vec<String> = rx.received().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/one", "/two"]);
    app.shutdown().await;
}

async fn a_late_failure_compensates_in_reverse_order_of_completion(backend: Backend) {
    let app = spawn_app(backend).await;
    let rx = Receiver::start().await;
    let undo = |k: &str| json!({"kind": "http", "config": {"method": "POST", "url": rx.url(&format!("/undo/{k}"))}});
    let mut a = http("a", rx.url("/a"));
    a["compensate"] = undo("a");
    let mut b = http("b", rx.url("/b"));
    b["compensate"] = undo("b");
    let def = json!({
        "steps": [a, b, http("c", rx.url("/c"))],
        "edges": [{"from": "a", "to": "b"}, {"from": "b", "to": "c"}]
    });
    let wf = app.create_workflow(&def).await;
    // a and b succeed; c answers 409 (its single attempt fails).
    rx.answer([
        Answer::Status(200),
        Answer::Status(200),
        Answer::Status(409),
        Answer::Status(200),
    ]);
    let run = app.start_run(&wf, &json!({})).await;
    let run_id = run["id"].as_str().unwrap().to_owned();
    app.drain_all().await;
    let run = app.run(&run_id).await;
    assert_eq!(run["status"], "FAILED", "{run}");
    assert!(
        run["error"].as_str().unwrap().contains("step c failed"),
        "{run}"
    );
    assert_eq!(run["compensation"]["status"], "COMPLETED", "{run}");
    let paths: Vec<String> = rx.received().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/a", "/b", "/c", "/undo/b", "/undo/a"]);
    let steps: Vec<&str> = run["compensation"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["key"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["b", "a"]);
    app.shutdown().await;
}

async fn a_rejection_without_an_edge_fails_the_run_and_releases_the_hold(backend: Backend) {
    let app = spawn_app(backend).await;
    let rx = Receiver::start().await;
    let def = refund_definition(&rx.url("/hold"), &rx.url("/release"), &rx.url("/pay"));
    let wf = app.create_workflow(&def).await;
    let run = app
        .start_run(&wf, &json!({"orderId": "D-4", "amount": 900}))
        .await;
    let run_id = run["id"].as_str().unwrap().to_owned();
    app.drain_all().await;
    let approval_id = app.step(&run_id, "ask").await["approvalId"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .decide(
            &approval_id,
            &json!({"decision": "rejected", "feedback": "too much"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    app.drain_all().await;
    let run = app.run(&run_id).await;
    assert_eq!(run["status"], "FAILED", "{run}");
    assert_eq!(app.step(&run_id, "pay").await["status"], "CANCELLED");
    let paths: Vec<String> = rx.received().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/hold", "/release"]);
    assert_eq!(run["compensation"]["status"], "COMPLETED");
    app.shutdown().await;
}

async fn an_ai_step_without_a_key_is_answered_by_the_stand_in(backend: Backend) {
    let app = spawn_app(backend).await;
    let def = json!({"steps": [{"key": "draft", "kind": "ai", "config": {"prompt": "=\"Summarise order \" + input.orderId"}}]});
    let wf = app.create_workflow(&def).await;
    let run = app.start_run(&wf, &json!({"orderId": "E-5"})).await;
    app.drain_all().await;
    let run = app.run(run["id"].as_str().unwrap()).await;
    assert_eq!(run["status"], "SUCCEEDED", "{run}");
    assert_eq!(run["output"]["draft"]["standIn"], true);
    assert_eq!(run["output"]["draft"]["model"], "stand-in");
    app.shutdown().await;
}

on_every_store!(
    a_decision_racing_the_wait_resumes_the_run_exactly_once,
    a_step_job_delivered_again_never_runs_a_step_that_succeeded,
    an_approval_step_delivered_again_keeps_its_one_request,
    a_worker_that_dies_holding_a_step_loses_nothing,
    a_late_failure_compensates_in_reverse_order_of_completion,
    a_rejection_without_an_edge_fails_the_run_and_releases_the_hold,
    an_ai_step_without_a_key_is_answered_by_the_stand_in,
);
