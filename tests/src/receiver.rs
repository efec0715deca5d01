//! A webhook receiver on loopback: records every request, answers as the test says,
//! and verifies signatures by the Standard Webhooks algorithm, written here apart from
//! Greenlight's own signing code.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// One request as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: String,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", String::as_str)
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }

    /// Verifies the signature against `secret` as the specification says: HMAC-SHA256
    /// of `{webhook-id}.{webhook-timestamp}.{body}` with the base64-decoded key, any
    /// of the space-separated `v1,` signatures matching.
    pub fn verify(&self, secret: &str) -> Result<(), String> {
        let key = B64
            .decode(
                secret
                    .strip_prefix("whsec_")
                    .ok_or("secret without whsec_")?,
            )
            .map_err(|e| e.to_string())?;
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|e| e.to_string())?;
        mac.update(
            format!(
                "{}.{}.{}",
                self.header("webhook-id"),
                self.header("webhook-timestamp"),
                self.body
            )
            .as_bytes(),
        );
        let expected = format!("v1,{}", B64.encode(mac.finalize().into_bytes()));
        if self
            .header("webhook-signature")
            .split(' ')
            .any(|s| s == expected)
        {
            Ok(())
        } else {
            Err(format!(
                "no signature in {:?} matches",
                self.header("webhook-signature")
            ))
        }
    }
}

/// How the receiver answers the next requests; the last one given holds after.
#[derive(Debug, Clone)]
pub enum Answer {
    Status(u16),
    StatusWithRetryAfter(u16, String),
    Json(u16, serde_json::Value),
    Redirect(String),
    /// Waits this long, then 200.
    Slow(Duration),
}

#[derive(Clone, Default)]
struct Shared {
    received: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<VecDeque<Answer>>>,
}

pub struct Receiver {
    pub addr: SocketAddr,
    shared: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    /// A receiver on a free port that answers 200.
    pub async fn start() -> Self {
        Self::start_on(0).await
    }

    /// A receiver on `port` (0 for any), for one that comes back where it was.
    pub async fn start_on(port: u16) -> Self {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind receiver");
        let addr = listener.local_addr().expect("addr");
        let shared = Shared::default();
        let app = Router::new().fallback(receive).with_state(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, shared, task }
    }

    /// A port nothing listens on now: a receiver that is down.
    pub async fn down_port() -> u16 {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        l.local_addr().expect("addr").port()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Answers the next requests in this order; the last answer then holds.
    pub fn answer(&self, answers: impl IntoIterator<Item = Answer>) {
        *self.shared.script.lock().unwrap() = answers.into_iter().collect();
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    pub fn stop(self) {
        self.task.abort();
    }
}

async fn receive(State(shared): State<Shared>, req: axum::extract::Request) -> Response {
    let path = req.uri().path().to_owned();
    let headers: HeaderMap = req.headers().clone();
    let body: Bytes = axum::body::to_bytes(req.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    shared.received.lock().unwrap().push(Received {
        path,
        headers: headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    v.to_str().unwrap_or_default().to_owned(),
                )
            })
            .collect(),
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    let answer = {
        let mut script = shared.script.lock().unwrap();
        if script.len() > 1 {
            script.pop_front()
        } else {
            script.front().cloned()
        }
    };
    let status = |s: u16| StatusCode::from_u16(s).expect("status");
    match answer.unwrap_or(Answer::Status(200)) {
        Answer::Status(s) => (status(s), "ok").into_response(),
        Answer::StatusWithRetryAfter(s, after) => {
            (status(s), [("retry-after", after)], "slow down").into_response()
        }
        Answer::Json(s, v) => (status(s), axum::Json(v)).into_response(),
        Answer::Redirect(to) => (StatusCode::FOUND, [("location", to)], "").into_response(),
        Answer::Slow(d) => {
            tokio::time::sleep(d).await;
            (StatusCode::OK, "late").into_response()
        }
    }
}
