//! `--scenario workflows`: runs of a 10-step chain of `transform` steps (runs and steps
//! a second, and each run's time from its start to the answer showing it ended), then decision → next step: runs
//! that ask a person and then call a receiver on loopback, timed from the decision's
//! event to the next step's `step.started` event (both stamped by the server's clock).

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use greenlight_tests::Backend;
use greenlight_tests::receiver::Receiver;
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use super::{Args, ann_key, percentile, run_phase, start_local};

const CHAIN: usize = 10;

fn chain() -> Value {
    let steps: Vec<Value> = (1..=CHAIN)
        .map(|i| {
            let expression = if i == 1 {
                "input.n + 1".to_owned()
            } else {
                format!("steps.s{} + 1", i - 1)
            };
            json!({"key": format!("s{i}"), "kind": "transform", "config": {"expression": expression}})
        })
        .collect();
    let edges: Vec<Value> = (1..CHAIN)
        .map(|i| json!({"from": format!("s{i}"), "to": format!("s{}", i + 1)}))
        .collect();
    json!({"steps": steps, "edges": edges})
}

fn ask_then_call(url: &str) -> Value {
    json!({
        "steps": [
            {"key": "ask", "kind": "approval", "config": {
                "name": "Bench", "actionType": "bench", "actionData": {"n": "=input.n"},
                "approvers": [{"channel": "email", "recipient": "ann@example.com"}],
                "timeoutSeconds": 3600
            }},
            {"key": "call", "kind": "http", "config": {"method": "POST", "url": url, "body": {"n": "=input.n"}}}
        ],
        "edges": [{"from": "ask", "to": "call", "branch": "approved"}]
    })
}

struct Client {
    http: reqwest::Client,
    base: String,
    key: String,
}

impl Client {
    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        let res = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.key)
            .send()
            .await?;
        anyhow::ensure!(res.status() == 200, "GET {path}: {}", res.status());
        Ok(res.json().await?)
    }

    async fn workflow(&self, definition: Value) -> anyhow::Result<String> {
        let res = self
            .http
            .post(format!("{}/v1/workflows", self.base))
            .bearer_auth(&self.key)
            .json(&json!({"name": "bench", "definition": definition}))
            .send()
            .await?;
        let body: Value = res.json().await?;
        body["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow::anyhow!("no workflow: {body}"))
    }

    async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        let res = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.key)
            .json(&body)
            .send()
            .await?;
        anyhow::ensure!(res.status() == 201, "POST {path}: {}", res.status());
        Ok(res.json().await?)
    }

    /// The run once it has ended.
    async fn ended(&self, id: &str) -> anyhow::Result<Value> {
        loop {
            let run = self.get(&format!("/v1/runs/{id}?wait=25")).await?;
            if ended(&run) {
                return Ok(run);
            }
        }
    }
}

fn ended(run: &Value) -> bool {
    matches!(
        run["status"].as_str(),
        Some("SUCCEEDED" | "FAILED" | "CANCELLED")
    )
}

fn at(event: &Value) -> anyhow::Result<DateTime<Utc>> {
    Ok(event["occurredAt"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("no occurredAt in {event}"))?
        .parse()?)
}

pub async fn bench_workflows(backend: Backend, args: &Args) -> anyhow::Result<Value> {
    let (app, running, key) = start_local(backend).await?;
    let decider = ann_key(&app).await?;
    let client = Client {
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(args.concurrency)
            .build()?,
        base: format!("http://{}", running.addr),
        key: key.clone(),
    };

    // The chain: each run timed from its start to the answer that shows it ended, with
    // `concurrency` runs in flight.
    let chain_id = client.workflow(chain()).await?;
    let client = Arc::new(client);
    let gate = Arc::new(Semaphore::new(args.concurrency));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(args.requests);
    for n in 0..args.requests {
        let permit = gate.clone().acquire_owned().await?;
        let (client, chain_id) = (client.clone(), chain_id.clone());
        tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            let mut run = client
                .post(
                    &format!("/v1/workflows/{chain_id}/runs"),
                    json!({"input": {"n": n}}),
                )
                .await?;
            if !ended(&run) {
                run = client.ended(run["id"].as_str().unwrap_or_default()).await?;
            }
            let took = t.elapsed();
            drop(permit);
            anyhow::ensure!(
                run["status"] == "SUCCEEDED" && run["output"]["s10"] == json!(n + CHAIN),
                "a run ended as {run}"
            );
            Ok::<_, anyhow::Error>(took)
        }));
    }
    let mut end_to_end = Vec::with_capacity(tasks.len());
    for t in tasks {
        end_to_end.push(t.await??);
    }
    let chain_wall = started.elapsed();
    end_to_end.sort();
    // Each run event is fanned out to webhooks and the stream by a job of its own, after
    // the run: wait for that backlog, so that it neither counts as the chain's time nor
    // slows the decisions measured next.
    let drained = Instant::now();
    let deadline = drained + Duration::from_secs(600);
    while app.stores.jobs.next_due().await?.is_some() {
        anyhow::ensure!(Instant::now() < deadline, "the outbox never drained");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let fan_out_drained = started.elapsed();

    // Decision → next step: a person approves, then the run calls the receiver.
    let receiver = Receiver::start().await;
    let asking = client
        .workflow(ask_then_call(&receiver.url("/pay")))
        .await?;
    let asked = args.requests.min(200);
    let starts = (0..asked)
        .map(|n| {
            (
                format!("{}/v1/workflows/{asking}/runs", client.base),
                json!({"input": {"n": n}}),
            )
        })
        .collect();
    let (_, _, runs) = run_phase(&client.http, &key, args.concurrency, starts, 201).await?;
    let mut approvals = Vec::with_capacity(runs.len());
    for run in &runs {
        let id = run["id"].as_str().unwrap_or_default().to_owned();
        let deadline = Instant::now() + Duration::from_secs(30);
        let approval = loop {
            let r = client.get(&format!("/v1/runs/{id}")).await?;
            if let Some(a) = r["steps"][0]["approvalId"].as_str() {
                break a.to_owned();
            }
            anyhow::ensure!(Instant::now() < deadline, "run {id} never asked: {r}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        approvals.push((id, approval));
    }
    let mut to_next = Vec::with_capacity(approvals.len());
    // One decision at a time: the latency of a decision, not of a queue of them.
    for (run, approval) in &approvals {
        let decided = client
            .http
            .post(format!("{}/v1/approvals/{approval}/decision", client.base))
            .bearer_auth(&decider)
            .json(&json!({"decision": "approved"}))
            .send()
            .await?;
        anyhow::ensure!(decided.status() == 200, "decision: {}", decided.status());
        let done = client.ended(run).await?;
        anyhow::ensure!(done["status"] == "SUCCEEDED", "run {run} ended as {done}");
        let decided = client
            .get(&format!("/v1/approvals/{approval}/events"))
            .await?;
        let decided = decided["items"]
            .as_array()
            .and_then(|es| es.iter().find(|e| e["type"] == "approval.approved"))
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("{approval} has no approval.approved"))?;
        let events = client.get(&format!("/v1/runs/{run}/events")).await?;
        let next = events["items"]
            .as_array()
            .and_then(|es| {
                es.iter()
                    .find(|e| e["type"] == "step.started" && e["data"]["key"] == "call")
            })
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("{run} never started its call"))?;
        to_next.push((at(&next)? - at(&decided)?).to_std().unwrap_or_default());
    }
    to_next.sort();
    running.shutdown().await;

    let n = args.requests as f64;
    Ok(json!({
        "db": backend.name(),
        "chain_steps": CHAIN,
        "runs_per_sec": (n / chain_wall.as_secs_f64()).round(),
        "steps_per_sec": (n * CHAIN as f64 / chain_wall.as_secs_f64()).round(),
        "run_p50_ms": percentile(&end_to_end, 0.50),
        "run_p99_ms": percentile(&end_to_end, 0.99),
        "chain_seconds": chain_wall.as_secs_f64(),
        "chain_and_fan_out_seconds": fan_out_drained.as_secs_f64(),
        "decided_runs": asked,
        "decision_to_next_step_p50_ms": percentile(&to_next, 0.50),
        "decision_to_next_step_p99_ms": percentile(&to_next, 0.99),
    }))
}
