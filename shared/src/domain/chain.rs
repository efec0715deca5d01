//! The per-request hash chain: each event's hash covers its content and the hash of the
//! event before, so editing, removing or reordering history is detectable.

use chrono::SecondsFormat;
use serde::Serialize;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::event::Event;

/// The `prevHash` of a request's first event.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Objects with their keys sorted, recursively: one byte string per value, whatever the
/// map order of the `serde_json` build or the database the value came back from.
fn canonical(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let mut out = Map::new();
            for k in keys {
                out.insert(k.clone(), canonical(&m[k]));
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

pub fn hash_event(e: &Event) -> String {
    let body = canonical(&json!({
        "id": e.id,
        "approvalId": e.approval_id,
        "seq": e.seq,
        "type": e.event_type,
        "data": e.data,
        "snapshot": e.snapshot,
        "actor": e.actor,
        "source": e.source,
        "occurredAt": e.occurred_at.to_rfc3339_opts(SecondsFormat::Micros, true),
        "prevHash": e.prev_hash,
    }));
    let mut h = Sha256::new();
    h.update(body.to_string().as_bytes());
    hex::encode(h.finalize())
}

/// The result of checking a request's chain.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChainVerification {
    pub valid: bool,
    pub events: usize,
    /// Hash of the last event, which the request's row also records.
    pub head_hash: Option<String>,
    /// Sequence number of the first event that does not check out.
    pub broken_at: Option<i64>,
    pub reason: Option<String>,
}

/// Checks `events` (in `seq` order) link up and hash correctly, and that the last one is
/// the head the request's row recorded; a truncated log fails the last check.
pub fn verify(events: &[Event], recorded_head: &str) -> ChainVerification {
    let broken = |seq: i64, reason: String| ChainVerification {
        valid: false,
        events: events.len(),
        head_hash: events.last().map(|e| e.hash.clone()),
        broken_at: Some(seq),
        reason: Some(reason),
    };
    let mut prev = GENESIS_HASH.to_owned();
    for (i, e) in events.iter().enumerate() {
        let expected_seq = i as i64 + 1;
        if e.seq != expected_seq {
            return broken(e.seq, format!("expected sequence number {expected_seq}"));
        }
        if e.prev_hash != prev {
            return broken(
                e.seq,
                "prevHash does not match the previous event's hash".into(),
            );
        }
        if hash_event(e) != e.hash {
            return broken(e.seq, "content does not match its hash".into());
        }
        prev = e.hash.clone();
    }
    if prev != recorded_head {
        return broken(
            events.len() as i64,
            "the last event is not the head the request recorded (events missing?)".into(),
        );
    }
    ChainVerification {
        valid: true,
        events: events.len(),
        head_hash: events.last().map(|e| e.hash.clone()),
        broken_at: None,
        reason: None,
    }
}
