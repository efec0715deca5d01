//! Outbound webhooks, by the Standard Webhooks specification
//! (https://www.standardwebhooks.com): secrets, signatures, event filters, the retry
//! schedule, and which addresses a receiver may have.

use std::net::IpAddr;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::FieldError;

/// The prefix of every secret, as the specification's libraries expect it.
pub const SECRET_PREFIX: &str = "whsec_";
/// Attempts per delivery: the first and its retries.
pub const MAX_ATTEMPTS: u32 = 10;
/// A receiver that answers slower than this has failed the attempt.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// An endpoint failing without a single success for this long is disabled.
pub const DISABLE_AFTER: chrono::Duration = chrono::Duration::days(5);
/// How much of a receiver's answer each attempt keeps.
pub const RESPONSE_EXCERPT: usize = 512;
pub const MAX_EVENT_PATTERNS: usize = 50;
pub const MAX_DESCRIPTION: usize = 500;
pub const MAX_URL: usize = 2048;

/// A signing secret: `whsec_` and the base64 of 32 random bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

impl Secret {
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        Secret(format!("{SECRET_PREFIX}{}", B64.encode(bytes)))
    }

    /// A stored secret; `None` if it is not one of ours.
    pub fn parse(s: &str) -> Option<Self> {
        let key = s.strip_prefix(SECRET_PREFIX)?;
        B64.decode(key).ok().filter(|k| !k.is_empty())?;
        Some(Secret(s.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    fn key(&self) -> Vec<u8> {
        B64.decode(&self.0[SECRET_PREFIX.len()..])
            .expect("checked when made")
    }

    /// `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`.
    pub fn sign(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key()).expect("HMAC takes any key");
        mac.update(msg_id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", B64.encode(mac.finalize().into_bytes()))
    }
}

/// The `webhook-signature` header: one signature per secret, space-separated, so a
/// receiver still holding the previous secret during a rotation can verify.
pub fn signature_header(secrets: &[&Secret], msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    secrets
        .iter()
        .map(|s| s.sign(msg_id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether `event_type` is selected by one of `patterns`: an exact type, `*`, or a
/// prefix ending in `.*` (`approval.*` selects `approval.approved` and
/// `approval.reminder.sent`).
pub fn matches(patterns: &[String], event_type: &str) -> bool {
    patterns.iter().any(|p| match p.strip_suffix('*') {
        Some("") => true,
        Some(prefix) => prefix.ends_with('.') && event_type.starts_with(prefix),
        None => p == event_type,
    })
}

/// Checks an endpoint's event filter; problems are reported under `field`.
pub fn check_patterns(patterns: &[String], field: &str) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if patterns.is_empty() {
        errors.push(FieldError::new(
            field,
            "give at least one event type or pattern, e.g. \"approval.*\"",
        ));
    }
    if patterns.len() > MAX_EVENT_PATTERNS {
        errors.push(FieldError::new(
            field,
            format!("at most {MAX_EVENT_PATTERNS} patterns"),
        ));
    }
    for (i, p) in patterns.iter().enumerate() {
        if p == "*" {
            continue;
        }
        let body = p.strip_suffix(".*").unwrap_or(p);
        let ok = !body.is_empty()
            && body.len() <= 100
            && body.split('.').all(|part| {
                !part.is_empty() && part.chars().all(|c| c.is_ascii_lowercase() || c == '_')
            });
        if !ok {
            errors.push(FieldError::new(
                format!("{field}/{i}"),
                "an event type (approval.approved), a prefix pattern (approval.*) or *",
            ));
        }
    }
    errors
}

/// Checks a receiver URL's form: absolute http(s), a host, no credentials.
pub fn check_url(url: &str, field: &str) -> Result<url::Url, FieldError> {
    if url.len() > MAX_URL {
        return Err(FieldError::new(
            field,
            format!("at most {MAX_URL} characters"),
        ));
    }
    let parsed =
        url::Url::parse(url).map_err(|e| FieldError::new(field, format!("not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(FieldError::new(field, "must be an http(s) URL"));
    }
    if parsed.host().is_none() {
        return Err(FieldError::new(field, "must name a host"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(FieldError::new(field, "must not carry credentials"));
    }
    Ok(parsed)
}

/// Whether an address is on the public internet: not loopback, private, link-local
/// (169.254.169.254 is the cloud metadata service), shared, documentation, multicast,
/// or otherwise reserved.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            !(v4.is_unspecified()
                || v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0 && c == 0)
                || (a == 198 && (b == 18 || b == 19))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_unspecified()
                || v6.is_loopback()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || (first == 0x2001 && v6.segments()[1] == 0x0db8)
                || first == 0x0064)
        }
    }
}

/// A `Retry-After` value (delay-seconds or an HTTP date) as a wait from `now`.
pub fn parse_retry_after(
    value: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<chrono::Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u32>() {
        return Some(chrono::Duration::seconds(i64::from(seconds)));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    Some((at.with_timezone(&chrono::Utc) - now).max(chrono::Duration::zero()))
}

/// A tenant's webhook receiver.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    pub tenant_id: String,
    pub id: String,
    pub url: String,
    pub description: String,
    /// Event types and patterns (`approval.*`, `*`) this endpoint receives.
    pub events: Vec<String>,
    pub active: bool,
    pub secret: Secret,
    /// During a rotation's overlap, the secret that also still signs.
    pub previous_secret: Option<(Secret, DateTime<Utc>)>,
    /// When the current run of failures began; cleared by any success.
    pub failing_since: Option<DateTime<Utc>>,
    pub disabled_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Who a delivery goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookPurpose {
    /// A webhook endpoint of the tenant.
    Endpoint,
    /// The request's `callbackUrl`.
    Callback,
    /// The request's `executor`: the approved action, to be carried out.
    Executor,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookDeliveryStatus {
    Pending,
    Delivered,
    /// Out of attempts (or the receiver is gone): kept, visible, redeliverable.
    Dead,
}

text_enum!(WebhookPurpose { Endpoint = "endpoint", Callback = "callback", Executor = "executor" });
text_enum!(WebhookDeliveryStatus { Pending = "pending", Delivered = "delivered", Dead = "dead" });

/// One message to one receiver; its id is the `webhook-id` of every attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookDelivery {
    pub tenant_id: String,
    pub id: String,
    pub purpose: WebhookPurpose,
    pub endpoint_id: Option<String>,
    pub url: String,
    pub approval_id: String,
    pub event_id: String,
    pub event_type: String,
    /// The event's sequence number within its request.
    pub event_seq: i64,
    pub body: String,
    pub status: WebhookDeliveryStatus,
    pub attempts: i32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// One try at sending a delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    pub attempt: i32,
    pub at: DateTime<Utc>,
    pub status_code: Option<i32>,
    pub latency_ms: i64,
    /// The first bytes of the answer.
    pub response: Option<String>,
    pub error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::retry::Backoff;

    #[test]
    fn signs_the_specifications_example() {
        // The example of the Standard Webhooks reference libraries' tests.
        let secret = Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            secret.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn a_rotation_signs_with_both_secrets() {
        let (a, b) = (Secret::from_bytes(&[1; 32]), Secret::from_bytes(&[2; 32]));
        let header = signature_header(&[&a, &b], "msg_1", 1, b"{}");
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(
            parts,
            [a.sign("msg_1", 1, b"{}"), b.sign("msg_1", 1, b"{}")]
        );
        assert_ne!(parts[0], parts[1]);
    }

    #[test]
    fn patterns_select_by_type_and_prefix() {
        let p = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert!(matches(&p(&["approval.*"]), "approval.reminder.sent"));
        assert!(matches(&p(&["*"]), "execution.completed"));
        assert!(matches(&p(&["approval.approved"]), "approval.approved"));
        assert!(!matches(&p(&["approval.approved"]), "approval.approved.x"));
        assert!(!matches(&p(&["approval.*"]), "execution.completed"));
        assert!(!matches(&p(&["appr*"]), "approval.approved"));
        assert!(check_patterns(&p(&["approval.*", "*", "execution.failed"]), "/events").is_empty());
        let bad = check_patterns(&p(&["Approval.*", "approval..x", "", "appr*"]), "/events");
        let fields: Vec<&str> = bad.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["/events/0", "/events/1", "/events/2", "/events/3"]);
    }

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fc00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn urls_must_be_plain_http() {
        assert!(check_url("https://example.com/hook", "/url").is_ok());
        for bad in [
            "ftp://example.com",
            "https://user:pw@example.com",
            "not a url",
            "http://",
        ] {
            assert!(check_url(bad, "/url").is_err(), "{bad}");
        }
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        let now: chrono::DateTime<chrono::Utc> = "2026-01-01T12:00:00Z".parse().unwrap();
        assert_eq!(
            parse_retry_after("120", now),
            Some(chrono::Duration::seconds(120))
        );
        assert_eq!(
            parse_retry_after("Thu, 01 Jan 2026 12:05:00 GMT", now),
            Some(chrono::Duration::seconds(300))
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn retries_span_about_a_day() {
        let span = |jitter| -> Duration {
            (1..MAX_ATTEMPTS)
                .map(|n| Backoff::WEBHOOKS.delay(n, jitter))
                .sum()
        };
        // 5 s × (1 + 3 + … + 3⁸) = 13.7 h without jitter; jitter adds up to as much again.
        assert_eq!(span(0.0), Duration::from_secs(49_205));
        assert!(span(0.999) < Duration::from_secs(2 * 49_205));
    }
}
