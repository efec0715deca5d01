//! The dashboard in a real browser: Debian's Chromium, headless, driven by
//! playwright-core (`tests/browser/dashboard.mjs`): sign in, approve with changes
//! through the form and see the timeline, and watch a decision made through the API
//! appear on an open page without a reload, and a workflow run's page follow a decision.
//! Twice: on the local server, whose pages follow Server-Sent Events, and as the api
//! function serves it on AWS, whose pages follow the WebSocket API (here a loopback
//! stand-in for API Gateway that runs the realtime function in-process). Screenshots
//! land in `tests/browser/screenshots/{local,aws}/`. `infra/scripts/test.sh` installs
//! Chromium and playwright-core.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path as UrlPath, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use greenlight::adapters::aws::push::ApiGatewayPusher;
use greenlight::app::App;
use greenlight::app::outbox::{JobRunner, OutboxRelay, RunnerConfig, Tasks};
use greenlight::ports::{Relay, RelayError, Relayed};
use greenlight::run::handlers::{api, realtime};
use greenlight_tests::aws::ws_event;
use greenlight_tests::{Backend, TestApp, approval_body, aws, spawn_app, spawn_app_configured};
use serde_json::{Value, json};
use tokio::sync::mpsc;

const EMAIL: &str = "admin@example.com";
const PASSWORD: &str = "correct-horse-battery";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_dashboard_works_in_a_real_browser() {
    let app = spawn_app(Backend::Sqlite).await;
    let base = app.base.clone();
    browse(&app, &base, "local", &[]).await;
    app.shutdown().await;
}

/// The api function's router, its dashboard pointed at the WebSocket API: the pages
/// connect with a session's ticket, and a decision reaches them as API Gateway would
/// push it. `/v1/stream` answers 501 here, so a page that followed anything else would
/// never show itself live.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_dashboard_on_aws_follows_the_websocket_api_in_a_real_browser() {
    let gateway_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let gateway_at = gateway_listener.local_addr().unwrap();
    let sdk = aws::sdk_config().await;
    let pusher = Arc::new(ApiGatewayPusher::new(
        &sdk,
        &format!("http://{gateway_at}/live"),
    ));
    let app =
        spawn_app_configured(Backend::Sqlite, move |ports, _| ports.pusher = Some(pusher)).await;
    let gateway = Gateway {
        app: app.app.clone(),
        sockets: Arc::default(),
        connected: Arc::default(),
        pushed: Arc::default(),
    };
    let routes = axum::Router::new()
        .route("/live", axum::routing::get(connect))
        .route(
            "/live/@connections/{id}",
            axum::routing::post(post_to_connection),
        )
        .route("/test/drop-sockets", axum::routing::post(drop_sockets))
        .with_state(gateway.clone());
    tokio::spawn(async move { axum::serve(gateway_listener, routes).await });

    let relay = OutboxRelay::new(
        app.app.clone(),
        Arc::new(RunAtOnce(JobRunner::new(
            app.app.clone(),
            RunnerConfig::default(),
            Tasks::ALL,
        ))),
    );
    // As on AWS: the dashboard is the callback function's, the API the api function's.
    let people = api::callback_router(
        app.app.clone(),
        relay.clone(),
        Some(format!("ws://{gateway_at}/live")),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, people).await });
    let agents = api::router(app.app.clone(), relay, None);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api_at = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, agents).await });

    let drop = format!("http://{gateway_at}/test/drop-sockets");
    browse(
        &app,
        &base,
        "aws",
        &[("GL_DROP_SOCKETS", drop), ("GL_API", api_at)],
    )
    .await;
    // Each live page connected through the stand-in (the approval page twice, for the
    // dropped socket, and the run's, at least), and the decisions reached them as
    // pushes.
    assert!(gateway.connected.load(Ordering::SeqCst) >= 3);
    assert!(gateway.pushed.load(Ordering::SeqCst) >= 2);
    app.shutdown().await;
}

/// Runs `dashboard.mjs` against the dashboard at `base`, served from `app`, with the
/// script's optional `extra` settings, and checks what the browser did is what the
/// server recorded.
async fn browse(app: &TestApp, base: &str, case: &str, extra: &[(&str, String)]) {
    let chromium =
        std::env::var("GREENLIGHT_TEST_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "Chromium must be installed for the browser test ({chromium}); infra/scripts/test.sh installs it"
    );
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("browser");
    assert!(
        dir.join("node_modules/playwright-core").exists(),
        "playwright-core must be installed (npm ci --prefix tests/browser); infra/scripts/test.sh installs it"
    );
    let shots: PathBuf = dir.join("screenshots").join(case);
    let _ = std::fs::remove_dir_all(&shots);
    std::fs::create_dir_all(&shots).unwrap();

    app.app
        .accounts()
        .ensure_first_admin(Some(EMAIL), Some(PASSWORD))
        .await
        .unwrap();
    // Only a named approver decides: the admin who signs in is one of the first's.
    let mut named = approval_body();
    named["approvers"]
        .as_array_mut()
        .unwrap()
        .push(json!({"channel": "web", "recipient": EMAIL}));
    let first = app.create(&named).await;
    // Ops, its other approver, decides it through the API (an admin key on their behalf).
    let mut body = approval_body();
    body["approvers"]
        .as_array_mut()
        .unwrap()
        .push(json!({"channel": "email", "recipient": "ops@example.com"}));
    let second = app.create(&body).await;
    // A workflow run waiting on a person, whose page must follow the decision live.
    let workflow = app
        .create_workflow(&json!({
            "steps": [
                {"key": "ask", "kind": "approval", "config": {
                    "name": "Deploy v42", "actionType": "deploy",
                    "approvers": [{"channel": "email", "recipient": "ops@example.com"}]}},
                {"key": "done", "kind": "transform", "config": {"expression": "'deployed'"}}
            ],
            "edges": [{"from": "ask", "to": "done", "branch": "approved"}]
        }))
        .await;
    let run = app.start_run(&workflow, &json!({})).await;
    let run = run["id"].as_str().unwrap().to_owned();
    app.drain_all().await;
    let run_approval = app.step(&run, "ask").await["approvalId"]
        .as_str()
        .unwrap()
        .to_owned();

    let envs = [
        ("GL_BASE", base.to_owned()),
        ("GL_EMAIL", EMAIL.into()),
        ("GL_PASSWORD", PASSWORD.into()),
        ("GL_API_KEY", app.admin_key.clone()),
        ("GL_FIRST", first.clone()),
        ("GL_SECOND", second.clone()),
        ("GL_RUN", run.clone()),
        ("GL_RUN_APPROVAL", run_approval),
        ("GL_SCREENSHOTS", shots.display().to_string()),
        ("GL_CHROMIUM", chromium),
    ];
    let extra: Vec<(String, String)> = extra
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    let script = dir.clone();
    let mut browsing = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg("dashboard.mjs")
            .current_dir(script)
            .envs(envs)
            .envs(extra)
            .output()
            .expect("node runs")
    });
    // The test app has no background worker: run what decisions leave to do meanwhile.
    let out = loop {
        tokio::select! {
            out = &mut browsing => break out.unwrap(),
            _ = tokio::time::sleep(std::time::Duration::from_millis(50)) => {
                app.drain_all().await;
            }
        }
    };
    let said = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "the browser test failed:\n{said}");

    // What the browser did is what the server recorded.
    let a = app.get(&format!("/v1/approvals/{first}")).await.body;
    assert_eq!(a["decision"]["decision"], "modified");
    assert_eq!(a["decision"]["source"], "web");
    assert_eq!(a["decision"]["respondedBy"], EMAIL);
    assert_eq!(a["approvedData"]["amount"], 80);
    assert_eq!(app.run(&run).await["status"], "SUCCEEDED");
    for shot in [
        "inbox.png",
        "approved-with-changes.png",
        "decided-elsewhere.png",
        "inbox-phone.png",
        "run-live.png",
    ] {
        assert!(shots.join(shot).exists(), "no screenshot {shot}");
    }
}

/// The outbox queue on AWS and its consumer in one: a job handed over runs at once.
struct RunAtOnce(JobRunner);

#[async_trait]
impl Relay for RunAtOnce {
    async fn publish(
        &self,
        jobs: &[Relayed],
        _delay: std::time::Duration,
    ) -> Result<(), RelayError> {
        for job in jobs {
            self.0
                .run_relayed(job)
                .await
                .map_err(|e| RelayError(e.to_string()))?;
        }
        Ok(())
    }
}

/// API Gateway's WebSocket API, on loopback: a browser's socket is accepted when the
/// realtime function's `$connect` says so, the management API's posts to a connection
/// go down its socket, and `/test/drop-sockets` ends every socket, as API Gateway does
/// after ten idle minutes or two hours.
#[derive(Clone)]
struct Gateway {
    app: App,
    sockets: Arc<Mutex<HashMap<String, mpsc::UnboundedSender<String>>>>,
    connected: Arc<AtomicUsize>,
    pushed: Arc<AtomicUsize>,
}

async fn connect(
    State(g): State<Gateway>,
    RawQuery(query): RawQuery,
    upgrade: WebSocketUpgrade,
) -> Response {
    let id = uuid::Uuid::new_v4().to_string();
    let params: serde_json::Map<String, Value> =
        url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect();
    let answer = realtime::handle(
        &g.app,
        ws_event("$connect", &id, json!({}), Value::Object(params)),
    )
    .await;
    let status = answer["statusCode"].as_u64().unwrap_or(500) as u16;
    if status != 200 {
        return StatusCode::from_u16(status).unwrap().into_response();
    }
    // Known before the socket is up, so a push in between waits for it, not fails.
    let (tx, rx) = mpsc::unbounded_channel();
    g.sockets.lock().unwrap().insert(id.clone(), tx);
    g.connected.fetch_add(1, Ordering::SeqCst);
    upgrade.on_upgrade(move |socket| relay_to(g, id, socket, rx))
}

async fn relay_to(
    g: Gateway,
    id: String,
    socket: WebSocket,
    mut pushes: mpsc::UnboundedReceiver<String>,
) {
    let (mut down, mut up) = socket.split();
    loop {
        tokio::select! {
            push = pushes.recv() => match push {
                Some(message) => {
                    if down.send(Message::Text(message.into())).await.is_err() {
                        break;
                    }
                }
                // Dropped by the gateway.
                None => {
                    let _ = down.send(Message::Close(None)).await;
                    break;
                }
            },
            incoming = up.next() => match incoming {
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
        }
    }
    g.sockets.lock().unwrap().remove(&id);
    realtime::handle(&g.app, ws_event("$disconnect", &id, json!({}), json!({}))).await;
}

async fn drop_sockets(State(g): State<Gateway>) -> StatusCode {
    g.sockets.lock().unwrap().clear();
    StatusCode::OK
}

async fn post_to_connection(
    State(g): State<Gateway>,
    UrlPath(id): UrlPath<String>,
    body: String,
) -> Response {
    let sent = g
        .sockets
        .lock()
        .unwrap()
        .get(&id)
        .is_some_and(|socket| socket.send(body).is_ok());
    if !sent {
        return (
            StatusCode::GONE,
            [("x-amzn-errortype", "GoneException")],
            "{\"message\":null}",
        )
            .into_response();
    }
    g.pushed.fetch_add(1, Ordering::SeqCst);
    StatusCode::OK.into_response()
}
