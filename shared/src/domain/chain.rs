//! The hash chain of a request's log, and of a run's: each event's hash covers its content, its tenant and the
//! hash of the event before, so editing, removing, reordering or moving history is
//! detectable. Hashes alone can be recomputed by whoever can write the database, so the
//! head is also sealed with an HMAC under a server key the database does not hold.

use chrono::SecondsFormat;
use hmac::{Hmac, Mac};
use serde::Serialize;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::event::Event;

/// How an event's hash was made; stored with the event, so that history written before
/// a change of scheme still verifies under the scheme it was written with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ChainScheme {
    /// The event's content and `prevHash` (events written before 0009).
    Untenanted = 1,
    /// Also the tenant id, so history cannot be moved to another tenant.
    #[default]
    Tenanted = 2,
}

impl ChainScheme {
    pub fn from_number(n: i32) -> Option<Self> {
        match n {
            1 => Some(Self::Untenanted),
            2 => Some(Self::Tenanted),
            _ => None,
        }
    }

    pub fn number(self) -> i32 {
        self as i32
    }
}

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

/// One entry of a hash-chained log: a request's event or a run's.
pub trait Link {
    /// What the hash covers besides the tenant, with the API's field names.
    fn content(&self) -> Value;
    fn scheme(&self) -> ChainScheme;
    /// The request or run whose log this is.
    fn subject(&self) -> &str;
    fn seq(&self) -> i64;
    fn prev_hash(&self) -> &str;
    fn hash(&self) -> &str;
}

impl Link for Event {
    fn content(&self) -> Value {
        json!({
            "id": self.id,
            "approvalId": self.approval_id,
            "seq": self.seq,
            "type": self.event_type,
            "data": self.data,
            "snapshot": self.snapshot,
            "actor": self.actor,
            "source": self.source,
            "occurredAt": self.occurred_at.to_rfc3339_opts(SecondsFormat::Micros, true),
            "prevHash": self.prev_hash,
        })
    }

    fn scheme(&self) -> ChainScheme {
        self.scheme
    }

    fn subject(&self) -> &str {
        &self.approval_id
    }

    fn seq(&self) -> i64 {
        self.seq
    }

    fn prev_hash(&self) -> &str {
        &self.prev_hash
    }

    fn hash(&self) -> &str {
        &self.hash
    }
}

/// The hash of `e`, an entry of tenant `tenant_id`'s log, under its scheme.
pub fn hash_event(tenant_id: &str, e: &impl Link) -> String {
    let mut body = e.content();
    if e.scheme() == ChainScheme::Tenanted {
        body["tenantId"] = json!(tenant_id);
        body["scheme"] = json!(e.scheme().number());
    }
    let mut h = Sha256::new();
    h.update(canonical(&body).to_string().as_bytes());
    hex::encode(h.finalize())
}

/// The seal of a request's head: an HMAC-SHA256, under the server's audit key, of the
/// tenant, the request, the head's sequence number and its hash.
pub fn seal(key: &[u8], tenant_id: &str, approval_id: &str, seq: i64, head: &str) -> String {
    hex::encode(
        head_mac(key, tenant_id, approval_id, seq, head)
            .finalize()
            .into_bytes(),
    )
}

fn head_mac(key: &[u8], tenant_id: &str, approval_id: &str, seq: i64, head: &str) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(
        format!("greenlight-audit-head:1\n{tenant_id}\n{approval_id}\n{seq}\n{head}").as_bytes(),
    );
    mac
}

/// What verify checks the head against beyond the chain: the seal the request's row
/// keeps (none on requests last written before seals), and the key to check it with.
#[derive(Debug, Clone, Copy)]
pub struct HeadSeal<'a> {
    pub key: &'a [u8],
    pub recorded: Option<&'a str>,
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
    /// Whether the head carries this server's seal, so that the database alone could not
    /// have rewritten it; `false` only for requests last written before seals existed.
    pub sealed: bool,
}

/// Checks `events` (in `seq` order) of tenant `tenant_id` link up and hash correctly,
/// that the last one is the head the request's row recorded (a truncated log fails
/// this), and that the head carries the server's seal.
pub fn verify<L: Link>(
    tenant_id: &str,
    events: &[L],
    recorded_head: &str,
    seal_of_head: HeadSeal<'_>,
) -> ChainVerification {
    let sealed = seal_of_head.recorded.is_some();
    let broken = |seq: i64, reason: String| ChainVerification {
        valid: false,
        events: events.len(),
        head_hash: events.last().map(|e| e.hash().to_owned()),
        broken_at: Some(seq),
        reason: Some(reason),
        sealed,
    };
    let mut prev = GENESIS_HASH.to_owned();
    for (i, e) in events.iter().enumerate() {
        let expected_seq = i as i64 + 1;
        if e.seq() != expected_seq {
            return broken(e.seq(), format!("expected sequence number {expected_seq}"));
        }
        if e.prev_hash() != prev {
            return broken(
                e.seq(),
                "prevHash does not match the previous event's hash".into(),
            );
        }
        if hash_event(tenant_id, e) != e.hash() {
            return broken(e.seq(), "content does not match its hash".into());
        }
        prev = e.hash().to_owned();
    }
    if prev != recorded_head {
        return broken(
            events.len() as i64,
            "the last event is not the head the request recorded (events missing?)".into(),
        );
    }
    let last_seq = events.len() as i64;
    match (seal_of_head.recorded, events.last()) {
        (Some(recorded), Some(head)) => {
            let mac = head_mac(seal_of_head.key, tenant_id, head.subject(), last_seq, &prev);
            let matches = hex::decode(recorded).is_ok_and(|tag| mac.verify_slice(&tag).is_ok());
            if !matches {
                return broken(
                    last_seq,
                    "the head's seal does not match: history was rewritten outside Greenlight, \
                     or under another audit key"
                        .into(),
                );
            }
        }
        // Events of the tenanted scheme were written with a seal: one missing was removed.
        (None, _) if events.iter().any(|e| e.scheme() == ChainScheme::Tenanted) => {
            return broken(last_seq, "the head's seal is missing".into());
        }
        _ => {}
    }
    ChainVerification {
        valid: true,
        events: events.len(),
        head_hash: events.last().map(|e| e.hash().to_owned()),
        broken_at: None,
        reason: None,
        sealed,
    }
}
