//! The webhook-fanout function: the outbox queue's consumer (fan-out, webhook sends,
//! timers handed to the scheduler).

use aws_lambda_events::sqs::SqsEvent;
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let l = greenlight::lambda::start().await?;
    let runner = &l.runner;
    lambda_runtime::run(service_fn(|e: LambdaEvent<SqsEvent>| async move {
        Ok::<_, lambda_runtime::Error>(
            greenlight::handlers::outbox::handle(runner, e.payload).await,
        )
    }))
    .await
}
