//! `approval`: the config is an approval request body. The request is created under
//! an id made of the run, the step and the attempt, so a job delivered twice creates it
//! once; the run then waits holding nothing, and the request's outcome resumes it
//! through the `ResumeRun` task its deciding change writes.

use async_trait::async_trait;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{Executor, StepCall, StepResult};
use crate::app::{App, AppError};
use crate::domain::NewApproval;

pub struct Approval;

#[async_trait]
impl Executor for Approval {
    async fn execute(&self, app: &App, call: &StepCall<'_>) -> Result<StepResult, AppError> {
        let mut body = call.config.clone();
        // What an agent must send and a step may leave out: who asks, and what.
        if let Value::Object(m) = &mut body {
            m.entry("agentId")
                .or_insert_with(|| Value::String(format!("workflow:{}", call.run.workflow_id)));
            m.entry("actionData")
                .or_insert_with(|| Value::Object(Default::default()));
        }
        let input: NewApproval = match serde_json::from_value(body) {
            Ok(i) => i,
            Err(e) => {
                return Ok(StepResult::failed(
                    format!("not an approval request: {e}"),
                    false,
                ));
            }
        };
        let digest = Sha256::digest(
            format!(
                "{}|{}|{}|{}",
                call.tenant_id, call.run.id, call.key, call.attempt
            )
            .as_bytes(),
        );
        let id = format!("apr_{}", &hex::encode(digest)[..32]);
        match app
            .approvals()
            .create_for_step(call.tenant_id, input, id, &call.run.id, call.key)
            .await
        {
            Ok(a) => Ok(StepResult::Waiting { approval_id: a.id }),
            Err(AppError::Invalid(errors)) => {
                let why: Vec<String> = errors
                    .iter()
                    .map(|e| format!("{}: {}", e.field, e.message))
                    .collect();
                Ok(StepResult::failed(
                    format!("the request is not valid: {}", why.join("; ")),
                    false,
                ))
            }
            Err(AppError::Forbidden(why)) => Ok(StepResult::failed(why, false)),
            Err(e) => Err(e),
        }
    }
}
