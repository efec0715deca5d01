//! `kill -9` in the middle of workflow runs, on the real binary: the runs resume from
//! their logs when the server starts again, every one finishes, and each step that
//! calls out ran once per attempt key (repeats under the same key only).

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant};

use greenlight_tests::Backend;
use greenlight_tests::crash::Server;
use greenlight_tests::receiver::Receiver;
use serde_json::{Value, json};

const RUNS: usize = 12;

async fn runs_resume_from_their_logs_after_a_kill(backend: Backend) {
    let server = Server::new(Path::new(env!("CARGO_BIN_EXE_greenlight")), backend).await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let rx = Receiver::start().await;
    let mut child = server.start();
    server.wait_ready(&http).await;
    let (base, key) = (server.base(), server.key.clone());
    let post = |path: String, body: Value| {
        let (http, key) = (http.clone(), key.clone());
        async move {
            let r = http
                .post(path)
                .bearer_auth(key)
                .json(&body)
                .send()
                .await
                .expect("post");
            assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
            r.json::<Value>().await.expect("json")
        }
    };
    let definition = json!({
        "steps": [
            {"key": "one", "kind": "http", "config": {"method": "POST", "url": rx.url("/one")}},
            {"key": "wait", "kind": "delay", "config": {"seconds": 2}},
            {"key": "two", "kind": "http", "config": {"method": "POST", "url": rx.url("/two")}}
        ],
        "edges": [{"from": "one", "to": "wait"}, {"from": "wait", "to": "two"}]
    });
    let wf = post(
        format!("{base}/v1/workflows"),
        json!({"name": "crash", "definition": definition}),
    )
    .await;
    let mut runs = Vec::new();
    for i in 0..RUNS {
        let run = post(
            format!("{base}/v1/workflows/{}/runs", wf["id"].as_str().unwrap()),
            json!({"input": {"i": i}}),
        )
        .await;
        runs.push(run["id"].as_str().unwrap().to_owned());
    }
    // Killed while the runs wait on their delays (or before their first step).
    tokio::time::sleep(Duration::from_millis(300)).await;
    child.kill().expect("kill -9");
    child.wait().expect("reap");
    let mut child = server.start();
    server.wait_ready(&http).await;
    let started = Instant::now();
    let mut pending: HashSet<String> = runs.iter().cloned().collect();
    while !pending.is_empty() && started.elapsed() < Duration::from_secs(60) {
        for id in pending.clone() {
            let r: Value = http
                .get(format!("{base}/v1/runs/{id}"))
                .bearer_auth(&key)
                .send()
                .await
                .expect("get")
                .json()
                .await
                .expect("json");
            match r["status"].as_str() {
                Some("SUCCEEDED") => {
                    pending.remove(&id);
                }
                Some("RUNNING" | "WAITING") => {}
                other => panic!("run {id} ended {other:?}: {r}"),
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    server.clean_up();
    assert!(pending.is_empty(), "runs never finished: {pending:?}");
    eprintln!(
        "workflow crash recovery: {RUNS} runs done {} ms after the restart",
        started.elapsed().as_millis()
    );
    let mut keys: HashMap<String, HashSet<String>> = HashMap::new();
    for r in rx.received() {
        keys.entry(r.path.clone())
            .or_default()
            .insert(r.header("idempotency-key").to_owned());
    }
    for path in ["/one", "/two"] {
        let expected: HashSet<String> = runs
            .iter()
            .map(|id| format!("{id}:{}:1", path.trim_start_matches('/')))
            .collect();
        assert_eq!(keys[path], expected, "{path}: one attempt key per run");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite() {
    runs_resume_from_their_logs_after_a_kill(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres() {
    runs_resume_from_their_logs_after_a_kill(Backend::Postgres).await
}
