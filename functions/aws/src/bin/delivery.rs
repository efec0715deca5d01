//! The delivery function: the delivery queue's consumer (messages to approvers planned,
//! sent, and updated once answered) and SES's bounce, complaint and delivery reports
//! from EventBridge.

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let l = greenlight::run::lambda::start().await?;
    let (runner, relay, dead_letters) = (&l.runner, &l.relay, l.dead_letters.as_deref());
    lambda_runtime::run(service_fn(|e: LambdaEvent<Value>| async move {
        let answer =
            greenlight::run::handlers::delivery::handle(runner, e.payload, dead_letters).await;
        // What the messages recorded (their events' webhooks, Slack updates) goes out now.
        greenlight::run::handlers::relay_quietly(relay).await;
        answer.map_err(lambda_runtime::Error::from)
    }))
    .await
}
