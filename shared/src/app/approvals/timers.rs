//! A timer came back: from the local worker's delayed job, or from the outside
//! scheduler through the timeout function.

use chrono::{DateTime, Utc};

use super::Approvals;
use crate::app::{AppError, Timers};
use crate::domain::TimerFired;
use crate::domain::{Actor, Command, Status, TimerKind};

/// What became of a timer that came back.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "outcome", rename_all = "camelCase")]
pub enum TimerOutcome {
    /// It applied: the request is now in this status.
    Applied { status: Status },
    /// The request was decided, cancelled, escalated, or the timer already fired:
    /// nothing changed.
    Stale,
    /// It came back early (EventBridge Scheduler fires a little ahead on purpose); it
    /// was set again for this time.
    SetAgain { at: DateTime<Utc> },
    /// Not due yet, and there is no outside scheduler to set it again with: the caller
    /// keeps it until then.
    NotBefore { at: DateTime<Utc> },
}

impl Approvals<'_> {
    /// Runs a timer's command. Timers fire at least once, and may fire late or after
    /// the request moved on: a stale one is refused by the domain and changes nothing.
    pub async fn fire_timer(&self, t: &TimerFired) -> Result<TimerOutcome, AppError> {
        let level = Some(t.level);
        let command = match t.kind {
            TimerKind::Expire => Command::Expire { level },
            TimerKind::Remind { index } => Command::Remind { index, level },
        };
        let ran = self
            .run_command(&t.tenant_id, &t.approval_id, command, &Actor::timeout())
            .await;
        match (ran, &self.timers) {
            (Ok(a), _) => Ok(TimerOutcome::Applied { status: a.status }),
            (Err(AppError::Conflict { .. }), _) => Ok(TimerOutcome::Stale),
            (Err(AppError::NotDue(at)), Timers::External(Some(scheduler))) => {
                scheduler
                    .set(&TimerFired {
                        due_at: at,
                        ..t.clone()
                    })
                    .await?;
                Ok(TimerOutcome::SetAgain { at })
            }
            (Err(AppError::NotDue(at)), _) => Ok(TimerOutcome::NotBefore { at }),
            (Err(e), _) => Err(e),
        }
    }
}
