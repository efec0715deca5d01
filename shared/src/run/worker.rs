//! The in-process worker of the local server: the stand-in for SQS consumers and
//! EventBridge Scheduler. It keeps their semantics: at-least-once, retries with backoff,
//! delayed jobs, and leases that expire so a stuck worker's jobs are picked up again.

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::app::App;
use crate::app::outbox::JobRunner;

/// How long the worker sleeps at most when it knows of no due job; it also wakes when a
/// change in this process writes jobs.
const IDLE_POLL: Duration = Duration::from_millis(500);

pub fn spawn(app: App, runner: JobRunner, mut shutdown: watch::Receiver<bool>) -> JoinHandle<()> {
    let lane = runner.lane();
    tokio::spawn(async move {
        let mut changes = app.changes.subscribe();
        loop {
            if *shutdown.borrow() {
                return;
            }
            match runner.run_due().await {
                Ok(kinds) if !kinds.is_empty() => continue,
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "worker could not claim jobs"),
            }
            let nap = match app.stores.jobs.next_due_in(lane).await {
                Ok(Some(due)) => (due - app.clock.now())
                    .to_std()
                    .unwrap_or_default()
                    .min(IDLE_POLL),
                Ok(None) => IDLE_POLL,
                Err(e) => {
                    tracing::error!(error = %e, "worker could not read the outbox");
                    IDLE_POLL
                }
            };
            if nap.is_zero() {
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep(nap) => {}
                _ = shutdown.changed() => {}
                // Only changes that wrote jobs are news to the worker; a lagged
                // receiver wakes too, since it may have missed one.
                _ = async {
                    loop {
                        match changes.recv().await {
                            Ok(c) if !c.has_jobs => continue,
                            _ => break,
                        }
                    }
                } => {}
            }
        }
    })
}
