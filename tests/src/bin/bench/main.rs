//! HTTP benchmark of the hot paths: create and decide, over loopback, against the real
//! local composition (router, use-cases, store, worker), on SQLite and PostgreSQL.
//! Prints one JSON document. Run it with `cargo run --release -p greenlight-tests --bin bench`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use greenlight::adapters::clock::SystemClock;
use greenlight::adapters::ids::UuidIds;
use greenlight::app::outbox::RunnerConfig;
use greenlight_tests::{Backend, approval_body, fresh_database};
use serde_json::{Value, json};
use tokio::sync::Semaphore;

mod workflows;

#[derive(Parser)]
struct Args {
    /// sqlite, postgres or both.
    #[arg(long, default_value = "both")]
    db: String,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Requests created (and then decided) per database.
    #[arg(long, default_value_t = 2000)]
    requests: usize,
    /// `http` (create and decide), `timers` (lateness of timeouts with many pending),
    /// `webhooks` (decision → webhook received, and deliveries per second) or
    /// `deliveries` (create → each approver's message marked sent) or `crash` (writers
    /// while the real server is killed with SIGKILL and restarted; the drain after the
    /// last start) or `workflows` (a 10-step chain of transforms: runs and steps a
    /// second and each run's time; decision → next step started).
    #[arg(long, default_value = "http")]
    scenario: String,
    /// For `crash`: the server binary; default, `greenlight` beside this one (build it
    /// with the same profile: `cargo build -p greenlight-local`).
    #[arg(long)]
    server: Option<std::path::PathBuf>,
    /// For `crash`: concurrent writers and kills.
    #[arg(long, default_value_t = 8)]
    writers: usize,
    #[arg(long, default_value_t = 5)]
    kills: usize,
    /// For `timers`: how many pending requests time out.
    #[arg(long, default_value_t = 10_000)]
    pending: usize,
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// Sends `calls` with `concurrency` in flight; returns the wall time, and each call's
/// latency (sorted) and answer (in call order).
async fn run_phase(
    http: &reqwest::Client,
    key: &str,
    concurrency: usize,
    calls: Vec<(String, Value)>,
    expect: u16,
) -> anyhow::Result<(Duration, Vec<Duration>, Vec<Value>)> {
    let gate = Arc::new(Semaphore::new(concurrency));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(calls.len());
    for (url, body) in calls {
        let permit = gate.clone().acquire_owned().await?;
        let (http, key) = (http.clone(), key.to_owned());
        tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            let res = http.post(url).bearer_auth(key).json(&body).send().await?;
            let status = res.status().as_u16();
            let body: Value = res.json().await?;
            drop(permit);
            anyhow::ensure!(status == expect, "expected {expect}, got {status}: {body}");
            Ok::<_, anyhow::Error>((t.elapsed(), body))
        }));
    }
    let mut latencies = Vec::with_capacity(tasks.len());
    let mut answers = Vec::with_capacity(tasks.len());
    for t in tasks {
        let (latency, answer) = t.await??;
        latencies.push(latency);
        answers.push(answer);
    }
    let wall = started.elapsed();
    latencies.sort();
    Ok((wall, latencies, answers))
}

/// Creates `args.pending` requests whose deadlines fall across a 10-second window after
/// they all exist, lets the local worker time them out, and measures how late each
/// `approval.timed_out` event was against its deadline.
async fn bench_timers(backend: Backend, args: &Args) -> anyhow::Result<Value> {
    let (app, running, key) = start_local(backend).await?;
    let base = format!("http://{}", running.addr);
    let http = reqwest::Client::new();
    // Creation runs at about 1,500 a second here: start the deadlines after it ends.
    let lead = 10 + (args.pending / 1000) as i64;
    let calls = (0..args.pending)
        .map(|i| {
            let mut body = approval_body();
            body["timeoutSeconds"] = json!(lead + (i % 10) as i64);
            (format!("{base}/v1/approvals"), body)
        })
        .collect();
    let (create_wall, _, created) = run_phase(&http, &key, args.concurrency, calls, 201).await?;
    let ids: Vec<String> = created
        .iter()
        .filter_map(|a| a["id"].as_str().map(str::to_owned))
        .collect();

    let deadline = Instant::now() + Duration::from_secs(lead as u64 + 120);
    loop {
        let pending = app
            .approvals()
            .list(
                "default",
                greenlight::app::PageRequest {
                    status: Some(greenlight::domain::Status::Pending),
                    limit: Some(1),
                    ..Default::default()
                },
            )
            .await?;
        if pending.items.is_empty() {
            break;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "requests still pending after the deadline window"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let mut lateness = Vec::with_capacity(ids.len());
    for id in &ids {
        let events = app.approvals().events("default", id).await?;
        let due = events[0].snapshot["expiresAt"]
            .as_str()
            .unwrap_or_default()
            .parse::<chrono::DateTime<chrono::Utc>>()?;
        let fired = events
            .iter()
            .find(|e| e.event_type == "approval.timed_out")
            .ok_or_else(|| anyhow::anyhow!("{id} did not time out"))?;
        lateness.push((fired.occurred_at - due).to_std().unwrap_or_default());
    }
    running.shutdown().await;
    lateness.sort();
    Ok(json!({
        "db": backend.name(),
        "pending": args.pending,
        "create_seconds": create_wall.as_secs_f64(),
        "timer_lateness_p50_ms": percentile(&lateness, 0.50),
        "timer_lateness_p99_ms": percentile(&lateness, 0.99),
        "timer_lateness_max_ms": percentile(&lateness, 1.0),
    }))
}

/// A receiver that notes when each `approval.approved` webhook for a request arrives.
async fn arrival_receiver() -> anyhow::Result<(
    String,
    Arc<std::sync::Mutex<std::collections::HashMap<String, Instant>>>,
)> {
    let arrivals = Arc::new(std::sync::Mutex::new(std::collections::HashMap::new()));
    let seen = arrivals.clone();
    let app = axum::Router::new().fallback(move |body: axum::body::Bytes| {
        let seen = seen.clone();
        async move {
            let at = Instant::now();
            if let Ok(m) = serde_json::from_slice::<Value>(&body)
                && let Some(id) = m["data"]["event"]["approvalId"].as_str()
            {
                seen.lock().unwrap().entry(id.to_owned()).or_insert(at);
            }
            axum::http::StatusCode::NO_CONTENT
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hooks", listener.local_addr()?);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((url, arrivals))
}

async fn bench_webhooks(backend: Backend, args: &Args) -> anyhow::Result<Value> {
    let (app, running, key) = start_local(backend).await?;
    let decider = ann_key(&app).await?;
    let base = format!("http://{}", running.addr);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()?;
    let (url, arrivals) = arrival_receiver().await?;
    let r = http
        .post(format!("{base}/v1/webhooks"))
        .bearer_auth(&key)
        .json(&json!({"url": url, "events": ["approval.approved"]}))
        .send()
        .await?;
    anyhow::ensure!(
        r.status() == 201,
        "endpoint not created: {}",
        r.text().await?
    );
    let creates = (0..args.requests)
        .map(|_| (format!("{base}/v1/approvals"), approval_body()))
        .collect();
    let (_, _, created) = run_phase(&http, &key, args.concurrency, creates, 201).await?;
    let ids: Vec<String> = created
        .iter()
        .filter_map(|a| a["id"].as_str().map(str::to_owned))
        .collect();

    // Each decision's send time, then when its webhook arrived.
    let gate = Arc::new(Semaphore::new(args.concurrency));
    let mut tasks = Vec::with_capacity(ids.len());
    for id in ids.clone() {
        let permit = gate.clone().acquire_owned().await?;
        let (http, key, base) = (http.clone(), decider.clone(), base.clone());
        tasks.push(tokio::spawn(async move {
            let sent = Instant::now();
            let res = http
                .post(format!("{base}/v1/approvals/{id}/decision"))
                .bearer_auth(key)
                .json(&json!({"decision": "approved"}))
                .send()
                .await?;
            drop(permit);
            anyhow::ensure!(res.status() == 200, "decision failed: {}", res.status());
            Ok::<_, anyhow::Error>((id, sent))
        }));
    }
    let mut sent = std::collections::HashMap::new();
    for t in tasks {
        let (id, at) = t.await??;
        sent.insert(id, at);
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    while arrivals.lock().unwrap().len() < ids.len() {
        anyhow::ensure!(
            Instant::now() < deadline,
            "webhooks still missing after 120 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    running.shutdown().await;
    let arrived = arrivals.lock().unwrap().clone();
    let mut latency: Vec<Duration> = ids.iter().map(|id| arrived[id] - sent[id]).collect();
    latency.sort();
    let first = sent.values().min().copied().unwrap_or_else(Instant::now);
    let last = arrived.values().max().copied().unwrap_or_else(Instant::now);
    Ok(json!({
        "db": backend.name(),
        "webhooks": ids.len(),
        "decision_to_webhook_p50_ms": percentile(&latency, 0.50),
        "decision_to_webhook_p99_ms": percentile(&latency, 0.99),
        "deliveries_per_sec": (ids.len() as f64 / (last - first).as_secs_f64()).round(),
    }))
}

/// Creates requests for one Slack approver (the Slack Web API on loopback) and one email
/// approver (the dev mailbox), lets the local worker send, and measures from each
/// request's creation to each channel's `approval.sent.*` event (both stamped by the
/// same clock).
async fn bench_deliveries(backend: Backend, args: &Args) -> anyhow::Result<Value> {
    let slack = greenlight_tests::slack::SlackServer::start().await;
    let (app, running, key) = start_configured(backend, |app| {
        app.channels.slack = Some(Arc::new(greenlight::adapters::slack_api::SlackWebApi::new(
            &slack.base,
            "xoxb-bench",
        )));
    })
    .await?;
    let base = format!("http://{}", running.addr);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()?;
    let mut body = approval_body();
    body["approvers"] = json!([
        {"channel": "slack", "recipient": "U0BENCH"},
        {"channel": "email", "recipient": "ann@example.com"}
    ]);
    let creates = (0..args.requests)
        .map(|_| (format!("{base}/v1/approvals"), body.clone()))
        .collect();
    let (_, _, created) = run_phase(&http, &key, args.concurrency, creates, 201).await?;
    let ids: Vec<String> = created
        .iter()
        .filter_map(|a| a["id"].as_str().map(str::to_owned))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(180);
    let mut slack_lat = Vec::new();
    let mut email_lat = Vec::new();
    let mut first_lat = Vec::new();
    for id in &ids {
        loop {
            let events = app
                .approvals()
                .events(greenlight::app::DEFAULT_TENANT, id)
                .await?;
            let at = |t: &str| {
                events
                    .iter()
                    .find(|e| e.event_type == t)
                    .map(|e| e.occurred_at)
            };
            if let (Some(s), Some(e)) = (at("approval.sent.slack"), at("approval.sent.email")) {
                let created = events[0].occurred_at;
                let ms =
                    |t: chrono::DateTime<chrono::Utc>| (t - created).to_std().unwrap_or_default();
                slack_lat.push(ms(s));
                email_lat.push(ms(e));
                first_lat.push(ms(s.min(e)));
                break;
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "messages still unsent after 180 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    running.shutdown().await;
    for l in [&mut slack_lat, &mut email_lat, &mut first_lat] {
        l.sort();
    }
    Ok(json!({
        "db": backend.name(),
        "requests": ids.len(),
        "create_to_first_sent_p50_ms": percentile(&first_lat, 0.50),
        "create_to_first_sent_p99_ms": percentile(&first_lat, 0.99),
        "create_to_slack_sent_p50_ms": percentile(&slack_lat, 0.50),
        "create_to_slack_sent_p99_ms": percentile(&slack_lat, 0.99),
        "create_to_email_sent_p50_ms": percentile(&email_lat, 0.50),
        "create_to_email_sent_p99_ms": percentile(&email_lat, 0.99),
    }))
}

/// The local composition (system clock, background worker) over a fresh database, on
/// port 0; returns it, the running server and an API key.
/// An approver key of ann@example.com, whom `approval_body` asks: agents' keys do not
/// decide.
async fn ann_key(app: &greenlight::app::App) -> anyhow::Result<String> {
    let new = greenlight::app::NewKey {
        name: "bench approver",
        role: greenlight::domain::KeyRole::Approver,
        approver: Some("ann@example.com"),
    };
    let (_, secret) = app
        .accounts()
        .create_api_key(greenlight::app::DEFAULT_TENANT, new, None)
        .await?;
    Ok(secret)
}

async fn start_local(
    backend: Backend,
) -> anyhow::Result<(
    greenlight::app::App,
    greenlight::run::local::Running,
    String,
)> {
    start_configured(backend, |_| {}).await
}

async fn start_configured(
    backend: Backend,
    configure: impl FnOnce(&mut greenlight::app::Ports),
) -> anyhow::Result<(
    greenlight::app::App,
    greenlight::run::local::Running,
    String,
)> {
    let url = fresh_database(backend).await;
    let stores = greenlight::adapters::sql::connect(&url, 20).await?;
    let mut ports =
        greenlight::run::local::compose(&stores, Arc::new(SystemClock), Arc::new(UuidIds), true);
    // The benchmark measures throughput, not the limits on bursts.
    ports.limits = greenlight::domain::Limits::new(u32::MAX, u32::MAX, u32::MAX);
    configure(&mut ports);
    let app = greenlight::app::App::new(ports);
    let key = app
        .accounts()
        .ensure_default_tenant(None)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no key"))?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let running =
        greenlight::run::local::start(app.clone(), listener, Some(RunnerConfig::default())).await?;
    Ok((app, running, key))
}

async fn bench(backend: Backend, args: &Args) -> anyhow::Result<Value> {
    let (app, running, key) = start_local(backend).await?;
    let decider = ann_key(&app).await?;
    let base = format!("http://{}", running.addr);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()?;

    let creates = (0..args.requests)
        .map(|_| (format!("{base}/v1/approvals"), approval_body()))
        .collect();
    let (create_wall, create_lat, created) =
        run_phase(&http, &key, args.concurrency, creates, 201).await?;
    let ids: Vec<&str> = created.iter().filter_map(|a| a["id"].as_str()).collect();

    let decides = ids
        .iter()
        .map(|id| {
            (
                format!("{base}/v1/approvals/{id}/decision"),
                json!({"decision": "approved"}),
            )
        })
        .collect();
    let (decide_wall, decide_lat, _) =
        run_phase(&http, &decider, args.concurrency, decides, 200).await?;
    running.shutdown().await;

    let n = args.requests as f64;
    Ok(json!({
        "db": backend.name(),
        "creates_per_sec": (n / create_wall.as_secs_f64()).round(),
        "create_p50_ms": percentile(&create_lat, 0.50),
        "create_p99_ms": percentile(&create_lat, 0.99),
        "decides_per_sec": (n / decide_wall.as_secs_f64()).round(),
        "decide_p50_ms": percentile(&decide_lat, 0.50),
        "decide_p99_ms": percentile(&decide_lat, 0.99),
    }))
}

async fn bench_crash(backend: Backend, args: &Args) -> anyhow::Result<Value> {
    let server = match &args.server {
        Some(path) => path.clone(),
        None => std::env::current_exe()?.with_file_name("greenlight"),
    };
    anyhow::ensure!(
        server.exists(),
        "no server binary at {} (--server)",
        server.display()
    );
    let plan = greenlight_tests::crash::CrashPlan {
        writers: args.writers,
        kills: args.kills,
        ..Default::default()
    };
    let report = greenlight_tests::crash::run(&server, backend, plan).await;
    Ok(serde_json::to_value(report)?)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(
        args.concurrency > 0 && args.requests > 0,
        "--concurrency and --requests must be positive"
    );
    let backends = match args.db.as_str() {
        "sqlite" => vec![Backend::Sqlite],
        "postgres" => vec![Backend::Postgres],
        "both" => vec![Backend::Sqlite, Backend::Postgres],
        other => anyhow::bail!("--db must be sqlite, postgres or both, not {other:?}"),
    };
    let mut results = Vec::new();
    let title = match args.scenario.as_str() {
        "http" => "http create + decide over loopback",
        "timers" => "timer lateness: deadline to approval.timed_out, local worker",
        "webhooks" => "decision sent → approval.approved webhook received, local worker",
        "deliveries" => {
            "create → approval.sent.<channel>: Slack on loopback, email to the dev mailbox"
        }
        "crash" => "kill -9 under load: last start → every approval.created webhook received",
        "workflows" => {
            "workflow runs: a 10-step transform chain end to end; decision → next step started"
        }
        other => anyhow::bail!(
            "--scenario must be http, timers, webhooks, deliveries, crash or workflows, not {other:?}"
        ),
    };
    for b in backends {
        results.push(match args.scenario.as_str() {
            "timers" => bench_timers(b, &args).await?,
            "webhooks" => bench_webhooks(b, &args).await?,
            "deliveries" => bench_deliveries(b, &args).await?,
            "crash" => bench_crash(b, &args).await?,
            "workflows" => workflows::bench_workflows(b, &args).await?,
            _ => bench(b, &args).await?,
        });
    }
    let report = json!({
        "benchmark": title,
        "profile": if cfg!(debug_assertions) { "debug" } else { "release" },
        "concurrency": args.concurrency,
        "requests": args.requests,
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "results": results,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
