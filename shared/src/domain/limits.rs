//! Input limits. They are part of the API contract: docs/api.md lists them, and the
//! served OpenAPI document states them (`http/openapi.rs`).

use chrono::{DateTime, Duration, Utc};

/// `actionData`, serialized, at most 64 KiB.
pub const MAX_ACTION_DATA_BYTES: usize = 64 * 1024;
/// `metadata`, serialized, at most 16 KiB.
pub const MAX_METADATA_BYTES: usize = 16 * 1024;
/// `uiSchema`, serialized, at most 32 KiB.
pub const MAX_UI_SCHEMA_BYTES: usize = 32 * 1024;
/// `responseData`, serialized, at most 64 KiB.
pub const MAX_RESPONSE_DATA_BYTES: usize = 64 * 1024;
/// Short text fields (`name`, `agentId`, `actionType`, recipients, `respondedBy`).
pub const MAX_SHORT_TEXT: usize = 256;
/// Free text (`feedback`, cancel `reason`, execution `error`).
pub const MAX_LONG_TEXT: usize = 4096;
/// Approvers of one level: the first approvers, or one escalation level's.
pub const MAX_APPROVERS: usize = 50;
/// Approvers on every level together.
pub const MAX_APPROVERS_TOTAL: usize = 100;
/// Escalation levels after the first approvers.
pub const MAX_LEVELS: usize = 5;
pub const MAX_REMINDERS: usize = 10;
/// The shortest deadline, level timeout or reminder offset.
pub const MIN_TIMEOUT_SECONDS: i64 = 1;
/// The longest deadline, level timeout or reminder offset: 30 days.
pub const MAX_TIMEOUT_SECONDS: i64 = 30 * 24 * 3600;

/// `uiSchema` subschemas, counted as validation meets them: each `$ref` counts the
/// subschemas of its target again. Validation visits at most this many per value it
/// checks, so a schema cannot multiply its cost through references.
pub const MAX_UI_SCHEMA_SUBSCHEMAS: usize = 1000;
/// `$ref`s followed one inside another. A form needs a few; a cycle needs infinitely many.
pub const MAX_UI_SCHEMA_REF_DEPTH: usize = 8;
/// How long checking a `responseData` against its `uiSchema` may take before the
/// decision is refused (milliseconds). The caps above keep honest schemas far below it.
pub const UI_SCHEMA_BUDGET_MS: u64 = 250;

/// Applied when a request names neither `expiresAt` nor `timeoutSeconds`.
pub fn default_timeout() -> Duration {
    Duration::hours(24)
}

/// Whether `seconds` is a deadline, level timeout or reminder offset Greenlight takes.
pub fn is_timeout(seconds: i64) -> bool {
    (MIN_TIMEOUT_SECONDS..=MAX_TIMEOUT_SECONDS).contains(&seconds)
}

/// `seconds` after `t`, saturating: input is bounded when it is checked, and time
/// arithmetic on a stored value must not panic if an old bound was looser.
pub fn after(t: DateTime<Utc>, seconds: i64) -> DateTime<Utc> {
    Duration::try_seconds(seconds)
        .and_then(|d| t.checked_add_signed(d))
        .unwrap_or(if seconds < 0 {
            DateTime::<Utc>::MIN_UTC
        } else {
            DateTime::<Utc>::MAX_UTC
        })
}

/// `seconds` before `t`, saturating like `after`.
pub fn before(t: DateTime<Utc>, seconds: i64) -> DateTime<Utc> {
    after(t, seconds.checked_neg().unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_arithmetic_saturates_instead_of_panicking() {
        let t: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().unwrap();
        assert_eq!(after(t, 60), t + Duration::seconds(60));
        assert_eq!(before(t, 60), t - Duration::seconds(60));
        assert_eq!(after(t, i64::MAX), DateTime::<Utc>::MAX_UTC);
        assert_eq!(after(t, i64::MIN), DateTime::<Utc>::MIN_UTC);
        assert_eq!(before(t, i64::MIN), DateTime::<Utc>::MAX_UTC);
        assert_eq!(before(t, i64::MAX), DateTime::<Utc>::MIN_UTC);
        assert!(is_timeout(MAX_TIMEOUT_SECONDS) && !is_timeout(MAX_TIMEOUT_SECONDS + 1));
    }
}
