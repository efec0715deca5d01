//! The test harness: a fresh database per test (a temporary SQLite file, or a new
//! PostgreSQL database on the real server), the real router on port 0, a controlled
//! clock, and a job runner the test drains itself so that no test sleeps for a timer.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use greenlight::adapters::clock::ManualClock;
use greenlight::adapters::ids::UuidIds;
use greenlight::adapters::sql;
use greenlight::app::outbox::{JobRunner, RunnerConfig, Tasks};
use greenlight::app::{App, NewKey, Ports, Stores, Timers};
use greenlight::domain::{KeyRole, Lane, Limits, TaskKind};
use greenlight::ports::Clock;
use greenlight::run::local::{self, Running};
use serde_json::{Value, json};
use sqlx::Connection;

pub use greenlight;

pub mod aws;
pub mod crash;
pub mod receiver;
pub mod slack;
pub mod workflows;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    /// A table of its own on the AWS emulator (moto's server).
    Dynamo,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
            Backend::Dynamo => "dynamodb",
        }
    }
}

/// Runs one async test body once per backend: `on_both_stores!(name)` expands to
/// `mod name { sqlite(), postgres() }` calling `name(Backend)`.
#[macro_export]
macro_rules! on_both_stores {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                super::$name($crate::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                super::$name($crate::Backend::Postgres).await
            }
        }
    )+};
}

/// `on_both_stores!`, and on DynamoDB too: `mod name { sqlite(), postgres(), dynamodb() }`.
/// For tests that do not reach behind the store with SQL.
#[macro_export]
macro_rules! on_every_store {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                super::$name($crate::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                super::$name($crate::Backend::Postgres).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn dynamodb() {
                super::$name($crate::Backend::Dynamo).await
            }
        }
    )+};
}

/// The server every PostgreSQL test database is made on.
pub fn postgres_admin_url() -> String {
    std::env::var("GREENLIGHT_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A new, empty database for one test; its URL.
pub async fn fresh_database(backend: Backend) -> String {
    let name = format!("gl_test_{}", uuid::Uuid::new_v4().simple());
    match backend {
        Backend::Sqlite => {
            let dir = std::env::temp_dir().join("greenlight-tests");
            std::fs::create_dir_all(&dir).expect("temp dir");
            format!("sqlite://{}", dir.join(format!("{name}.db")).display())
        }
        Backend::Postgres => {
            let admin = postgres_admin_url();
            let mut conn = sqlx::PgConnection::connect(&admin)
                .await
                .unwrap_or_else(|e| {
                    panic!("PostgreSQL must be running for these tests ({admin}): {e}")
                });
            let create = format!("CREATE DATABASE {name}");
            sqlx::query(&create)
                .execute(&mut conn)
                .await
                .expect("create test database");
            let mut url = url::Url::parse(&admin).expect("admin URL");
            url.set_path(&name);
            url.to_string()
        }
        // The emulator's endpoint and credentials come with `aws::sdk_config`.
        Backend::Dynamo => format!("dynamodb://{name}"),
    }
}

/// Opens a database `fresh_database` named, on the emulator for DynamoDB.
pub async fn open_stores(url: &str) -> Stores {
    if url.starts_with(greenlight::adapters::DYNAMODB_SCHEME) {
        let sdk = aws::dynamodb_sdk_config().await;
        greenlight::adapters::dynamodb::connect_with(&sdk, url)
            .await
            .expect("make the table")
    } else {
        sql::connect(url, 20).await.expect("connect and migrate")
    }
}

pub async fn fresh_stores(backend: Backend) -> Stores {
    open_stores(&fresh_database(backend).await).await
}

/// The start of every test's controlled clock.
pub fn t0() -> DateTime<Utc> {
    "2026-01-01T12:00:00Z".parse().expect("t0")
}

pub struct TestApp {
    pub base: String,
    pub backend: Backend,
    /// The test's own database, for tests that reach behind the application.
    pub db_url: String,
    pub http: reqwest::Client,
    pub app: App,
    pub stores: Stores,
    pub clock: Arc<ManualClock>,
    pub runner: JobRunner,
    /// An API key of the default tenant: an agent's, which asks and never decides.
    pub key: String,
    /// An admin key of the default tenant.
    pub admin_key: String,
    /// Approver keys made so far, by identity.
    approver_keys: std::sync::Mutex<std::collections::HashMap<String, String>>,
    running: Option<Running>,
}

/// The local composition on port 0 over a fresh database, with a manual clock and no
/// background worker: tests call `drain_jobs` after moving the clock.
pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with_timers(backend, |_| Timers::Delayed).await
}

/// `spawn_app`, with the request timers `timers` makes from the test's clock.
pub async fn spawn_app_with_timers(
    backend: Backend,
    timers: impl FnOnce(Arc<dyn Clock>) -> Timers,
) -> TestApp {
    spawn_app_configured(backend, |app, clock| app.timers = timers(clock)).await
}

/// `spawn_app`, with the composition changed by `configure` before anything starts.
pub async fn spawn_app_configured(
    backend: Backend,
    configure: impl FnOnce(&mut Ports, Arc<dyn Clock>),
) -> TestApp {
    let db_url = fresh_database(backend).await;
    let stores = open_stores(&db_url).await;
    let clock = Arc::new(ManualClock::new(t0()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let mut ports = local::compose(&stores, clock.clone(), Arc::new(UuidIds), true);
    ports.channels.public_url = base.clone();
    // Tests send bursts with one key; the limits test sets its own.
    ports.limits = Limits::new(1_000_000, 1_000_000, 1_000_000);
    configure(&mut ports, clock.clone());
    let app = App::new(ports);
    let key = app
        .accounts()
        .ensure_default_tenant(None)
        .await
        .expect("default tenant")
        .expect("a fresh key");
    let (_, admin_key) = app
        .accounts()
        .create_api_key(
            greenlight::app::DEFAULT_TENANT,
            NewKey {
                name: "test admin",
                role: KeyRole::Admin,
                approver: None,
            },
            None,
        )
        .await
        .expect("an admin key");
    let running = local::start(app.clone(), listener, None)
        .await
        .expect("start");
    TestApp {
        base,
        backend,
        db_url,
        http: reqwest::Client::new(),
        runner: JobRunner::new(app.clone(), RunnerConfig::default(), Tasks::ALL),
        app,
        stores,
        clock,
        key,
        admin_key,
        approver_keys: Default::default(),
        running: Some(running),
    }
}

/// A valid create body; tests change what they need.
pub fn approval_body() -> Value {
    json!({
        "name": "Refund order 1234",
        "agentId": "support-bot",
        "actionType": "refund",
        "actionData": {"orderId": "1234", "amount": 120, "currency": "EUR"},
        "approvers": [{"channel": "email", "recipient": "ann@example.com"}],
        "timeoutSeconds": 3600,
        "uiSchema": {
            "type": "object",
            "properties": {"amount": {"type": "number", "minimum": 0, "maximum": 200}},
            "additionalProperties": false
        }
    })
}

pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl TestApp {
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        key: Option<&str>,
        body: Option<&Value>,
    ) -> Reply {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let res = req.send().await.expect("request");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res.text().await.expect("body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(reqwest::Method::GET, path, Some(&self.key), None)
            .await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.send(reqwest::Method::POST, path, Some(&self.key), Some(body))
            .await
    }

    /// Creates a request and returns its id.
    pub async fn create(&self, body: &Value) -> String {
        let r = self.post("/v1/approvals", body).await;
        assert_eq!(r.status, 201, "create failed: {}", r.body);
        r.body["id"].as_str().expect("id").to_owned()
    }

    /// Decides as an approver would: with `respondedBy`, by the admin key on that
    /// approver's behalf; without, by the approver key of the first approver of the
    /// request's current level (agent keys may not decide; `self.key` is an agent's).
    pub async fn decide(&self, id: &str, body: &Value) -> Reply {
        let path = format!("/v1/approvals/{id}/decision");
        if body.get("respondedBy").is_some() {
            return self
                .send(
                    reqwest::Method::POST,
                    &path,
                    Some(&self.admin_key),
                    Some(body),
                )
                .await;
        }
        let a = self.get(&format!("/v1/approvals/{id}")).await.body;
        let level = a["level"].as_u64().unwrap_or(0) as usize;
        let approvers = match level {
            0 => &a["approvers"],
            n => &a["escalation"][n - 1]["approvers"],
        };
        let first = &approvers[0];
        // No request to read (a test of a 404): any key that may decide will do.
        let key = match first["id"].as_str().or(first["recipient"].as_str()) {
            Some(who) => self.approver_key(who).await,
            None => self.admin_key.clone(),
        };
        self.send(reqwest::Method::POST, &path, Some(&key), Some(body))
            .await
    }

    /// An approver key of the default tenant for `identity` (one per identity).
    pub async fn approver_key(&self, identity: &str) -> String {
        if let Some(k) = self.approver_keys.lock().expect("keys").get(identity) {
            return k.clone();
        }
        let (_, secret) = self
            .app
            .accounts()
            .create_api_key(
                greenlight::app::DEFAULT_TENANT,
                NewKey {
                    name: "test approver",
                    role: KeyRole::Approver,
                    approver: Some(identity),
                },
                None,
            )
            .await
            .expect("an approver key");
        self.approver_keys
            .lock()
            .expect("keys")
            .insert(identity.to_owned(), secret.clone());
        secret
    }

    /// The request's own events: its log without the records of messages to its
    /// approvers (`approval.sent.*`, `delivery.failed`), which `all_events` includes.
    pub async fn events(&self, id: &str) -> Vec<Value> {
        self.all_events(id)
            .await
            .into_iter()
            .filter(|e| {
                let t = e["type"].as_str().unwrap_or_default();
                !t.starts_with("approval.sent.") && t != "delivery.failed"
            })
            .collect()
    }

    /// The request's whole event log.
    pub async fn all_events(&self, id: &str) -> Vec<Value> {
        let r = self.get(&format!("/v1/approvals/{id}/events")).await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["items"].as_array().expect("items").clone()
    }

    /// Runs one statement with one text parameter (`$1`) straight on the test's
    /// database; returns the rows it changed.
    pub async fn execute_sql(&self, sql: &str, param: &str) -> u64 {
        match self.backend {
            Backend::Postgres => {
                let mut c = sqlx::PgConnection::connect(&self.db_url)
                    .await
                    .expect("connect");
                sqlx::query(sql)
                    .bind(param)
                    .execute(&mut c)
                    .await
                    .expect("sql")
                    .rows_affected()
            }
            Backend::Dynamo => panic!("no SQL on DynamoDB: run this test on SQL stores only"),
            Backend::Sqlite => {
                let mut c = sqlx::SqliteConnection::connect(&self.db_url)
                    .await
                    .expect("connect");
                sqlx::query(sql)
                    .bind(param)
                    .execute(&mut c)
                    .await
                    .expect("sql")
                    .rows_affected()
            }
        }
    }

    /// Runs every job due at the clock's current time; returns how many of them were
    /// the requests' own work (timers and their hand-over), not telling others
    /// (webhook fan-out and sends, messages to approvers, which `drain_all` counts too).
    pub async fn drain_jobs(&self) -> usize {
        self.drain_all()
            .await
            .iter()
            .filter(|k| {
                // Unknown kinds count as the requests' own (they are buried there).
                TaskKind::parse(k).is_none_or(|k| {
                    k.lane() == Lane::Main
                        && !matches!(k, TaskKind::FanOut | TaskKind::PlanMessages)
                })
            })
            .count()
    }

    /// Runs every job due at the clock's current time; the kinds of those it ran.
    pub async fn drain_all(&self) -> Vec<String> {
        self.runner.drain().await.expect("drain jobs")
    }

    pub async fn shutdown(mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown().await;
        }
    }
}
