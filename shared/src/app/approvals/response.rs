//! The costly step of a modified decision: checking `responseData` against the
//! request's `uiSchema`, run on the blocking pool within a time budget.

use std::time::Duration;

use super::Approvals;
use crate::app::AppError;
use crate::domain::{Command, DecisionKind, form, limits};

impl Approvals<'_> {
    /// For a modified decision on a request with a `uiSchema`, the check of its
    /// `responseData`; `None` for every other command. The check runs off the async
    /// threads, and a check still running after `UI_SCHEMA_BUDGET_MS` refuses the
    /// decision: the caller waits no longer, and the schema's caps (`form`) bound what
    /// the abandoned thread still spends.
    pub(crate) async fn check_response(
        &self,
        tenant_id: &str,
        id: &str,
        command: &Command,
    ) -> Result<Option<form::Checked>, AppError> {
        let Command::Decide {
            decision: DecisionKind::Modified,
            response_data: Some(data),
            ..
        } = command
        else {
            return Ok(None);
        };
        if !data.is_object() {
            // Refused by the decision itself, before any schema is read.
            return Ok(None);
        }
        let Some(schema) = self.stored(tenant_id, id).await?.approval.spec.ui_schema else {
            return Ok(None);
        };
        let (s, d) = (schema.clone(), data.clone());
        let check = tokio::task::spawn_blocking(move || form::Checked::run(&s, &d));
        let budget = Duration::from_millis(limits::UI_SCHEMA_BUDGET_MS);
        Ok(Some(match tokio::time::timeout(budget, check).await {
            Ok(Ok(checked)) => checked,
            Ok(Err(failed)) => {
                tracing::error!(error = %failed, approval = id, "the uiSchema check failed");
                form::Checked::over_budget(&schema, data)
            }
            Err(_) => {
                tracing::warn!(approval = id, "the uiSchema check ran past its budget");
                form::Checked::over_budget(&schema, data)
            }
        }))
    }
}
