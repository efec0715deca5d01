//! `delay`: its job is written to run when the delay ends (a delayed job, on the
//! durable timers), so running it is the end of the wait.

use async_trait::async_trait;
use serde_json::json;

use super::{Executor, StepCall, StepResult};
use crate::app::{App, AppError};
use crate::domain::workflow::Branch;

pub struct Delay;

#[async_trait]
impl Executor for Delay {
    async fn execute(&self, app: &App, _call: &StepCall<'_>) -> Result<StepResult, AppError> {
        Ok(StepResult::Succeeded(
            json!({"resumedAt": app.clock.now()}),
            Branch::Default,
        ))
    }
}
