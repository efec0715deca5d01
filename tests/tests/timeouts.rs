//! Silence: the timeout action applies when a request's deadline passes, through a
//! delayed job in the outbox, driven by a controlled clock.

use std::sync::Arc;

use greenlight::adapters::clock::SystemClock;
use greenlight::adapters::ids::UuidIds;
use greenlight::app::outbox::RunnerConfig;
use greenlight::domain::Task;
use greenlight::ports::NewJob;
use greenlight_tests::{
    Backend, approval_body, fresh_database, on_both_stores, on_every_store, spawn_app,
};
use serde_json::json;

async fn silence_rejects_by_default(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.create(&approval_body()).await;
    app.clock.advance(chrono::Duration::seconds(3599));
    assert_eq!(app.drain_jobs().await, 0, "not due yet");
    app.clock.advance(chrono::Duration::seconds(1));
    assert_eq!(app.drain_jobs().await, 1);
    let a = app.get(&format!("/v1/approvals/{id}")).await.body;
    assert_eq!(a["status"], "TIMEOUT");
    let events = app.events(&id).await;
    assert_eq!(events[1]["type"], "approval.timed_out");
    assert_eq!(events[1]["actor"], "system:timeout");
    assert_eq!(events[1]["source"], "timeout");
    assert_eq!(events[1]["occurredAt"], "2026-01-01T13:00:00Z");
    app.clock.advance(chrono::Duration::seconds(60));
    assert_eq!(app.drain_jobs().await, 0, "the job ran once");
    app.shutdown().await;
}

async fn silence_can_approve(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut body = approval_body();
    body["timeoutAction"] = json!("approve");
    body["timeoutSeconds"] = json!(1);
    let id = app.create(&body).await;
    app.clock.advance(chrono::Duration::seconds(1));
    app.drain_jobs().await;
    let a = app.get(&format!("/v1/approvals/{id}")).await.body;
    assert_eq!(a["status"], "APPROVED");
    assert_eq!(a["decision"]["respondedBy"], "system:timeout");
    assert_eq!(a["approvedData"], body["actionData"]);
    app.shutdown().await;
}

async fn a_decided_request_ignores_its_timer(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.create(&approval_body()).await;
    app.decide(&id, &json!({"decision": "approved"})).await;
    app.clock.advance(chrono::Duration::hours(2));
    assert_eq!(
        app.drain_jobs().await,
        0,
        "the decision cancelled the timer"
    );
    assert_eq!(
        app.get(&format!("/v1/approvals/{id}")).await.body["status"],
        "APPROVED"
    );
    assert_eq!(app.events(&id).await.len(), 2);
    app.shutdown().await;
}

async fn a_late_decision_is_refused_once_expired(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.create(&approval_body()).await;
    app.clock.advance(chrono::Duration::seconds(3600));
    let r = app.decide(&id, &json!({"decision": "approved"})).await;
    assert_eq!(r.status, 409);
    assert!(
        r.body["detail"].as_str().unwrap().contains("expired"),
        "{}",
        r.body
    );
    assert_eq!(
        r.body["current"]["status"], "PENDING",
        "the timer has not run yet"
    );
    app.shutdown().await;
}

async fn unknown_jobs_are_buried_not_retried_forever(backend: Backend) {
    let app = spawn_app(backend).await;
    let now = greenlight_tests::t0();
    app.stores
        .jobs
        .enqueue(vec![NewJob {
            id: "job_mystery".into(),
            tenant_id: "default".into(),
            task: Task::ClearTimers(vec![]),
            approval_id: None,
            run_at: now,
            max_attempts: 5,
        }])
        .await
        .unwrap();
    // A kind this code does not know, as a row left by another version would have.
    app.execute_sql(
        "UPDATE jobs SET kind = $1 WHERE id = 'job_mystery'",
        "mystery.kind",
    )
    .await;
    assert_eq!(app.drain_jobs().await, 1);
    let j = app
        .stores
        .jobs
        .get_job("job_mystery")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(j.status.as_str(), "dead");
    assert!(j.last_error.unwrap().contains("mystery.kind"));
    app.shutdown().await;
}

/// The real composition: system clock, background worker. A one-second timeout is
/// honoured; the test waits on the API's long-poll, not on a sleep.
async fn the_local_worker_applies_a_one_second_timeout(backend: Backend) {
    let url = fresh_database(backend).await;
    let stores = greenlight_tests::open_stores(&url).await;
    let app = greenlight::app::App::new(greenlight::run::local::compose(
        &stores,
        Arc::new(SystemClock),
        Arc::new(UuidIds),
        true,
    ));
    let key = app
        .accounts()
        .ensure_default_tenant(None)
        .await
        .unwrap()
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let running = greenlight::run::local::start(app, listener, Some(RunnerConfig::default()))
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let base = format!("http://{}", running.addr);
    let mut body = approval_body();
    body["timeoutSeconds"] = json!(1);
    let created: serde_json::Value = http
        .post(format!("{base}/v1/approvals"))
        .bearer_auth(&key)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap();
    let after: serde_json::Value = http
        .get(format!("{base}/v1/approvals/{id}?wait=15"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(after["status"], "TIMEOUT", "{after}");
    running.shutdown().await;
}

on_every_store!(
    silence_rejects_by_default,
    silence_can_approve,
    a_decided_request_ignores_its_timer,
    a_late_decision_is_refused_once_expired,
    the_local_worker_applies_a_one_second_timeout,
);

// This one writes an unknown job in SQL.
on_both_stores!(unknown_jobs_are_buried_not_retried_forever,);
