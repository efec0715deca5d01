//! The backstop, run on a schedule: finishes deadlines whose timers were lost and
//! forgets expired dashboard sessions. The local server runs it every half minute, the
//! AWS sweeper function on its schedule.

use serde::Serialize;

use super::{App, AppError};

/// How late a pending request must be before the sweep expires it in place of its
/// timer (which normally lands within seconds).
const GRACE_SECONDS: i64 = 60;
/// Requests expired per sweep at the most; the next sweep takes the rest.
const SWEEP_BATCH: u32 = 500;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Swept {
    pub expired: usize,
    pub sessions_forgotten: u64,
}

impl App {
    /// One pass; a failing part is logged and the others still run.
    pub async fn sweep(&self) -> Result<Swept, AppError> {
        let grace = chrono::Duration::seconds(GRACE_SECONDS);
        let expired = self.approvals().sweep_overdue(grace, SWEEP_BATCH).await;
        let sessions = self.accounts().prune_sessions().await;
        // Rate windows are an hour at the longest.
        let window = self.clock.now() - chrono::Duration::hours(1);
        if let Err(e) = self.limiter.forget_before(window).await {
            tracing::error!(error = %crate::telemetry::error_chain(&e), "forgetting old rate counts failed");
        }
        if let Err(e) = &expired {
            tracing::error!(error = %crate::telemetry::error_chain(e), "sweeping overdue requests failed");
        }
        if let Err(e) = &sessions {
            tracing::error!(error = %crate::telemetry::error_chain(e), "pruning sessions failed");
        }
        Ok(Swept {
            expired: expired?,
            sessions_forgotten: sessions?,
        })
    }
}
