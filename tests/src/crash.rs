//! Crash recovery, measured on the real server: writers create requests while the
//! server is killed with SIGKILL and started again on the same database; then every
//! created request's `approval.created` webhook must arrive. The figure is the time from
//! the last start to the last webhook still owed.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::json;

use crate::receiver::Receiver;
use crate::{Backend, approval_body, fresh_database};

#[derive(Debug, Clone, Copy)]
pub struct CrashPlan {
    pub writers: usize,
    pub kills: usize,
    /// How long the writers write between two kills.
    pub between_kills: Duration,
    /// How long to wait for the backlog after the last start before giving up.
    pub give_up_after: Duration,
}

impl Default for CrashPlan {
    fn default() -> Self {
        Self {
            writers: 8,
            kills: 5,
            between_kills: Duration::from_millis(1500),
            give_up_after: Duration::from_secs(90),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CrashReport {
    pub backend: &'static str,
    pub writers: usize,
    pub kills: usize,
    /// Requests whose creation was answered 201.
    pub created: usize,
    /// Of those, how many never got their `approval.created` webhook.
    pub missing: usize,
    /// `approval.created` deliveries received in all, repeats included.
    pub deliveries: usize,
    /// Requests whose `approval.created` came more than once under different
    /// `webhook-id`s (repeats under one id are at-least-once, and allowed).
    pub duplicates_under_new_ids: usize,
    /// Webhooks still owed when the server last started: the backlog the drain time
    /// is the time to clear (the dead process's claims among it).
    pub owed_at_last_start: usize,
    /// From the last start of the server to the arrival of the last webhook owed.
    pub drain_ms: u128,
}

/// The server binary, started on `db_url` and `bind` with a known API key.
pub struct Server {
    binary: PathBuf,
    dir: PathBuf,
    db_url: String,
    bind: String,
    /// The default tenant's (agent) key.
    pub key: String,
}

impl Server {
    /// The server `binary` on a fresh database of `backend`, on a free port, not started.
    pub async fn new(binary: &Path, backend: Backend) -> Self {
        let dir = std::env::temp_dir().join(format!("greenlight-crash-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("work directory");
        Server {
            binary: binary.to_owned(),
            db_url: fresh_database(backend).await,
            bind: format!("127.0.0.1:{}", free_port().await),
            key: format!("glk_crash_{}", uuid::Uuid::new_v4().simple()),
            dir,
        }
    }

    pub fn base(&self) -> String {
        format!("http://{}", self.bind)
    }

    pub fn start(&self) -> Child {
        Command::new(&self.binary)
            .current_dir(&self.dir)
            .env("GREENLIGHT_DATABASE_URL", &self.db_url)
            .env("GREENLIGHT_BIND", &self.bind)
            .env("GREENLIGHT_API_KEY", &self.key)
            .env("GREENLIGHT_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the server")
    }

    pub async fn wait_ready(&self, http: &reqwest::Client) {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            if let Ok(r) = http
                .get(format!("http://{}/healthz", self.bind))
                .send()
                .await
                && r.status().is_success()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the server did not answer within 30 s");
    }
}

impl Server {
    /// Removes its working directory (the database is the test server's to drop).
    pub fn clean_up(&self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn free_port() -> u16 {
    Receiver::down_port().await
}

/// Runs the plan against `binary` on a fresh database of `backend`.
pub async fn run(binary: &Path, backend: Backend, plan: CrashPlan) -> CrashReport {
    let server = Server::new(binary, backend).await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let receiver = Receiver::start().await;
    let mut child = server.start();
    server.wait_ready(&http).await;
    let base = format!("http://{}", server.bind);
    let r = http
        .post(format!("{base}/v1/webhooks"))
        .bearer_auth(&server.key)
        .json(&json!({"url": receiver.url("/hook"), "events": ["approval.created"]}))
        .send()
        .await
        .expect("register the receiver");
    assert_eq!(r.status(), 201, "register the receiver");

    let created = Arc::new(Mutex::new(Vec::<String>::new()));
    let writing = Arc::new(AtomicBool::new(true));
    let mut writers = Vec::new();
    for _ in 0..plan.writers {
        let (http, base, key) = (http.clone(), base.clone(), server.key.clone());
        let (created, writing) = (created.clone(), writing.clone());
        writers.push(tokio::spawn(async move {
            while writing.load(Ordering::Relaxed) {
                let sent = http
                    .post(format!("{base}/v1/approvals"))
                    .bearer_auth(&key)
                    .json(&approval_body())
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status() == 201 => {
                        let body: serde_json::Value = r.json().await.unwrap_or_default();
                        if let Some(id) = body["id"].as_str() {
                            created.lock().unwrap().push(id.to_owned());
                        }
                    }
                    // The server is down or dying: try again once it is back.
                    _ => tokio::time::sleep(Duration::from_millis(20)).await,
                }
            }
        }));
    }
    for kill in 0..plan.kills {
        tokio::time::sleep(plan.between_kills).await;
        if kill + 1 == plan.kills {
            writing.store(false, Ordering::Relaxed);
        }
        child.kill().expect("kill -9");
        child.wait().expect("reap");
        child = server.start();
        if kill + 1 < plan.kills {
            server.wait_ready(&http).await;
        }
    }
    let restarted = Instant::now();
    for w in writers {
        w.await.expect("writer");
    }
    let created: Vec<String> = created.lock().unwrap().clone();
    let owed: HashSet<&str> = created.iter().map(String::as_str).collect();
    let arrived = |receiver: &Receiver| -> HashSet<String> {
        receiver
            .received()
            .iter()
            .filter_map(|r| {
                r.json()["data"]["approval"]["id"]
                    .as_str()
                    .map(str::to_owned)
            })
            .collect()
    };
    let at_start = arrived(&receiver);
    let owed_at_last_start = owed.iter().filter(|id| !at_start.contains(**id)).count();
    let mut drained = None;
    while restarted.elapsed() < plan.give_up_after {
        let arrived = arrived(&receiver);
        if owed.iter().all(|id| arrived.contains(*id)) {
            drained = Some(restarted.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let received = receiver.received();
    let mut ids_per_request: HashMap<String, HashSet<String>> = HashMap::new();
    for r in &received {
        if let Some(id) = r.json()["data"]["approval"]["id"].as_str() {
            ids_per_request
                .entry(id.to_owned())
                .or_default()
                .insert(r.header("webhook-id").to_owned());
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    server.clean_up();
    CrashReport {
        backend: backend.name(),
        writers: plan.writers,
        kills: plan.kills,
        created: created.len(),
        missing: owed
            .iter()
            .filter(|id| !ids_per_request.contains_key(**id))
            .count(),
        deliveries: received.len(),
        duplicates_under_new_ids: ids_per_request.values().filter(|ids| ids.len() > 1).count(),
        owed_at_last_start,
        drain_ms: drained.unwrap_or(plan.give_up_after).as_millis(),
    }
}
