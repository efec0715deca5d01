//! A Lambda Runtime API on loopback (`/2018-06-01/runtime/invocation/next`,
//! `…/response`, `…/error`, `…/init/error`) and a function binary started as Lambda
//! starts it, fed events through it one at a time.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;
use tokio::sync::{Notify, oneshot};

#[derive(Default)]
struct Invocations {
    queued: VecDeque<(String, Value)>,
    waiting: HashMap<String, oneshot::Sender<Result<Value, Value>>>,
    /// When the function first asked for an event: its start-up done.
    first_poll: Option<Instant>,
}

#[derive(Clone, Default)]
struct RuntimeApi {
    state: Arc<Mutex<Invocations>>,
    arrived: Arc<Notify>,
}

async fn next(State(api): State<RuntimeApi>) -> Response {
    api.state
        .lock()
        .unwrap()
        .first_poll
        .get_or_insert_with(Instant::now);
    loop {
        let notified = api.arrived.notified();
        if let Some((id, event)) = api.state.lock().unwrap().queued.pop_front() {
            let mut headers = HeaderMap::new();
            headers.insert(
                "lambda-runtime-aws-request-id",
                HeaderValue::from_str(&id).unwrap(),
            );
            let deadline = (std::time::SystemTime::now() + Duration::from_secs(30))
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis();
            headers.insert(
                "lambda-runtime-deadline-ms",
                HeaderValue::from_str(&deadline.to_string()).unwrap(),
            );
            headers.insert(
                "lambda-runtime-invoked-function-arn",
                HeaderValue::from_static(
                    "arn:aws:lambda:us-east-1:123456789012:function:greenlight-test",
                ),
            );
            headers.insert(
                "lambda-runtime-trace-id",
                HeaderValue::from_static("Root=1-5759e988-bd862e3fe1be46a994272793"),
            );
            return (headers, axum::Json(event)).into_response();
        }
        notified.await;
    }
}

async fn answered(api: &RuntimeApi, id: &str, outcome: Result<Value, Value>) -> StatusCode {
    if let Some(tx) = api.state.lock().unwrap().waiting.remove(id) {
        let _ = tx.send(outcome);
    }
    StatusCode::ACCEPTED
}

async fn response(
    State(api): State<RuntimeApi>,
    Path(id): Path<String>,
    body: String,
) -> StatusCode {
    answered(
        &api,
        &id,
        Ok(serde_json::from_str(&body).unwrap_or(Value::String(body))),
    )
    .await
}

async fn error(State(api): State<RuntimeApi>, Path(id): Path<String>, body: String) -> StatusCode {
    answered(
        &api,
        &id,
        Err(serde_json::from_str(&body).unwrap_or(Value::String(body))),
    )
    .await
}

async fn init_error(body: String) -> StatusCode {
    panic!("the function failed to start: {body}");
}

pub struct Function {
    name: &'static str,
    child: Child,
    api: RuntimeApi,
    started: Instant,
    cold_start: Option<Duration>,
    rss_kib: Option<u64>,
    count: usize,
}

impl Function {
    pub async fn start(name: &'static str, env: &HashMap<String, String>) -> Function {
        let api = RuntimeApi::default();
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(api.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let started = Instant::now();
        let child = Command::new(binary(name))
            .envs(env)
            .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", format!("greenlight-{name}"))
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
            .env(
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/greenlight-{name}"),
            )
            .env("AWS_LAMBDA_LOG_LEVEL", "WARN")
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {name}: {e}"));
        Function {
            name,
            child,
            api,
            started,
            cold_start: None,
            rss_kib: None,
            count: 0,
        }
    }

    /// One invocation; `Err` is what the function reported as an error.
    pub async fn invoke(&mut self, event: Value) -> Result<Value, Value> {
        self.count += 1;
        let id = format!("{}-{}", self.name, self.count);
        let (tx, rx) = oneshot::channel();
        {
            let mut s = self.api.state.lock().unwrap();
            s.waiting.insert(id.clone(), tx);
            s.queued.push_back((id, event));
        }
        self.api.arrived.notify_waiters();
        let outcome = tokio::time::timeout(Duration::from_secs(60), rx)
            .await
            .unwrap_or_else(|_| panic!("{} did not answer", self.name))
            .unwrap();
        if self.cold_start.is_none() {
            self.cold_start = Some(self.started.elapsed());
            self.rss_kib = rss_kib(self.child.id());
        }
        outcome
    }

    pub fn figures(&self) -> String {
        let size = std::fs::metadata(binary(self.name))
            .map(|m| m.len())
            .unwrap_or(0);
        let ready = self.api.state.lock().unwrap().first_poll;
        format!(
            "| {} | {:.1} MB | {} ms | {} ms | {} MB |",
            self.name,
            size as f64 / 1e6,
            ready.map_or(0, |r| (r - self.started).as_millis()),
            self.cold_start.map_or(0, |d| d.as_millis()),
            self.rss_kib.map_or(0.0, |k| k as f64 / 1024.0).round()
        )
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn binary(name: &str) -> PathBuf {
    match std::env::var("GREENLIGHT_FUNCTIONS_DIR") {
        Ok(dir) => PathBuf::from(dir).join(name),
        Err(_) => PathBuf::from(match name {
            "api" => env!("CARGO_BIN_EXE_api"),
            "timeout" => env!("CARGO_BIN_EXE_timeout"),
            "webhook-fanout" => env!("CARGO_BIN_EXE_webhook-fanout"),
            "workflow-steps" => env!("CARGO_BIN_EXE_workflow-steps"),
            "sweeper" => env!("CARGO_BIN_EXE_sweeper"),
            "realtime" => env!("CARGO_BIN_EXE_realtime"),
            "callback" => env!("CARGO_BIN_EXE_callback"),
            "delivery" => env!("CARGO_BIN_EXE_delivery"),
            "migrate" => env!("CARGO_BIN_EXE_migrate"),
            other => panic!("no function {other}"),
        }),
    }
}

fn rss_kib(pid: u32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}
