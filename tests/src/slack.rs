//! A Slack Web API on loopback: records every call (method, token, body) and answers
//! like Slack, `{"ok": true, …}`, or with the error the test scripts. Also signs
//! interaction payloads the way Slack does, written here apart from Greenlight's code.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

/// One call as received.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    pub token: String,
    /// The JSON body, or the form body as a JSON object.
    pub body: Value,
}

/// An answer the test scripts for the next call of a method.
#[derive(Debug, Clone)]
pub struct Scripted {
    pub status: u16,
    pub body: Value,
    pub retry_after: Option<u64>,
}

#[derive(Default)]
struct Inner {
    calls: Vec<Call>,
    scripted: HashMap<String, VecDeque<Scripted>>,
    emails: HashMap<String, String>,
    posted: u64,
}

#[derive(Clone)]
pub struct SlackServer {
    inner: Arc<Mutex<Inner>>,
    pub base: String,
}

impl SlackServer {
    pub async fn start() -> Self {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}/api", listener.local_addr().expect("address"));
        let app = Router::new()
            .route("/api/{method}", axum::routing::post(answer))
            .with_state(inner.clone());
        tokio::spawn(async move {
            axum::serve(listener, app).await.expect("slack server");
        });
        Self { inner, base }
    }

    /// The email `users.info` gives for `user`.
    pub fn set_email(&self, user: &str, email: &str) {
        let mut s = self.inner.lock().unwrap();
        s.emails.insert(user.into(), email.into());
    }

    /// The next call of `method` gets this answer instead of success.
    pub fn script(&self, method: &str, answer: Scripted) {
        let mut s = self.inner.lock().unwrap();
        s.scripted
            .entry(method.into())
            .or_default()
            .push_back(answer);
    }

    /// The next call of `method` is refused with Slack's `error`.
    pub fn fail_next(&self, method: &str, error: &str, retry_after: Option<u64>) {
        self.script(
            method,
            Scripted {
                status: 200,
                body: json!({"ok": false, "error": error}),
                retry_after,
            },
        );
    }

    pub fn calls(&self, method: &str) -> Vec<Call> {
        let s = self.inner.lock().unwrap();
        s.calls
            .iter()
            .filter(|c| c.method == method)
            .cloned()
            .collect()
    }
}

async fn answer(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path(method): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_owned();
    let is_form = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let parsed: Value = if is_form {
        Value::Object(
            url::form_urlencoded::parse(&body)
                .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
                .collect(),
        )
    } else {
        serde_json::from_slice(&body).unwrap_or(Value::Null)
    };
    let mut s = inner.lock().unwrap();
    s.calls.push(Call {
        method: method.clone(),
        token,
        body: parsed.clone(),
    });
    if let Some(scripted) = s.scripted.get_mut(&method).and_then(VecDeque::pop_front) {
        let mut response = (
            StatusCode::from_u16(scripted.status).unwrap(),
            axum::Json(scripted.body),
        )
            .into_response();
        if let Some(after) = scripted.retry_after {
            response
                .headers_mut()
                .insert("retry-after", after.to_string().parse().unwrap());
        }
        return response;
    }
    let ok = match method.as_str() {
        "chat.postMessage" => {
            s.posted += 1;
            json!({"ok": true, "channel": format!("D{}", parsed["channel"].as_str().unwrap_or("")),
                   "ts": format!("1767268800.{:06}", s.posted)})
        }
        "users.info" => {
            let user = parsed["user"].as_str().unwrap_or_default();
            match s.emails.get(user) {
                Some(email) => {
                    json!({"ok": true, "user": {"id": user, "profile": {"email": email}}})
                }
                None => json!({"ok": false, "error": "user_not_found"}),
            }
        }
        _ => json!({"ok": true}),
    };
    axum::Json(ok).into_response()
}

/// Slack's `X-Slack-Signature` for `body` sent at `timestamp`.
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key");
    mac.update(format!("v0:{timestamp}:{body}").as_bytes());
    format!("v0={}", hex_lower(&mac.finalize().into_bytes()))
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An interaction payload as Slack posts it: a form with one `payload` field.
pub fn form(payload: &Value) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("payload", &payload.to_string())
        .finish()
}

/// A `block_actions` payload: `user` clicked `action_id` on the message whose button
/// carried `value`.
pub fn click(user: &str, action_id: &str, value: &str) -> Value {
    json!({
        "type": "block_actions",
        "user": {"id": user, "username": user, "team_id": "T1"},
        "team": {"id": "T1"},
        "channel": {"id": "D1"},
        "trigger_id": format!("trigger-{user}-{action_id}"),
        "response_url": "https://hooks.slack.com/actions/T1/1/x",
        "actions": [{"type": "button", "action_id": action_id, "block_id": "greenlight",
                     "value": value, "action_ts": "1767268800.000001"}],
    })
}

/// A `view_submission` of the "Approve with changes" modal: `values` maps block ids to
/// the element's state.
pub fn submit(user: &str, private_metadata: &str, values: Value) -> Value {
    json!({
        "type": "view_submission",
        "user": {"id": user, "username": user, "team_id": "T1"},
        "team": {"id": "T1"},
        "view": {"id": "V1", "callback_id": "greenlight_modify",
                 "private_metadata": private_metadata, "state": {"values": values}},
    })
}
