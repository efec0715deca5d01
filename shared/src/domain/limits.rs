//! Input limits. They are part of the API contract and listed in the README.

use chrono::Duration;

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
pub const MAX_APPROVERS: usize = 50;
pub const MIN_TIMEOUT_SECONDS: i64 = 1;
/// 30 days.
pub const MAX_TIMEOUT_SECONDS: i64 = 30 * 24 * 3600;

/// Applied when a request names neither `expiresAt` nor `timeoutSeconds`.
pub fn default_timeout() -> Duration {
    Duration::hours(24)
}
