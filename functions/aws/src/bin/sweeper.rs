//! The sweeper function: every minute, lost deadlines and due outbox jobs.

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let l = greenlight::run::lambda::start().await?;
    let (app, relay) = (&l.app, &l.relay);
    lambda_runtime::run(service_fn(|_: LambdaEvent<Value>| async move {
        greenlight::run::handlers::sweeper::handle(app, relay)
            .await
            .map_err(lambda_runtime::Error::from)
    }))
    .await
}
