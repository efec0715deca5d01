use chrono::{DateTime, Utc};

/// The only source of "now", so tests can move time.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}
