use std::sync::atomic::{AtomicU64, Ordering};

use crate::ports::{IdKind, Ids};

/// `apr_0192…`: a kind prefix and a UUIDv7, which sorts by creation time.
#[derive(Debug, Default, Clone, Copy)]
pub struct UuidIds;

impl Ids for UuidIds {
    fn next(&self, kind: IdKind) -> String {
        format!("{}_{}", kind.prefix(), uuid::Uuid::now_v7().simple())
    }
}

/// Predictable identifiers for tests: `apr_000001`, `evt_000002`, …
#[derive(Debug, Default)]
pub struct SequentialIds {
    next: AtomicU64,
}

impl Ids for SequentialIds {
    fn next(&self, kind: IdKind) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        format!("{}_{n:06}", kind.prefix())
    }
}
