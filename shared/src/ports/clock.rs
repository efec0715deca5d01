use chrono::{DateTime, Utc};

/// The only source of "now", so tests can move time. Implementations return times
/// truncated to the microsecond (`domain::approval::normalize_time`): that is what the
/// stores keep, and replay must rebuild a state exactly.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}
