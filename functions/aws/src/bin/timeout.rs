//! The timeout function: timers from EventBridge Scheduler and the SQS delay queue.

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let l = greenlight::run::lambda::start().await?;
    let (app, relay, dead_letters) = (&l.app, &l.relay, l.dead_letters.as_deref());
    lambda_runtime::run(service_fn(|e: LambdaEvent<Value>| async move {
        let answer = greenlight::run::handlers::timeout::handle(app, e.payload, dead_letters).await;
        // What the timer changed (an escalation's timers, its webhooks) goes out now.
        greenlight::run::handlers::relay_quietly(relay).await;
        answer.map_err(lambda_runtime::Error::from)
    }))
    .await
}
