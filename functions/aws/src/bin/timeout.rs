//! The timeout function: timers from EventBridge Scheduler and the SQS delay queue.

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let l = greenlight::lambda::start().await?;
    let app = &l.app;
    lambda_runtime::run(service_fn(|e: LambdaEvent<Value>| async move {
        greenlight::handlers::timeout::handle(app, e.payload)
            .await
            .map_err(lambda_runtime::Error::from)
    }))
    .await
}
