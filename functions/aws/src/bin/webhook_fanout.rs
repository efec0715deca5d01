//! The webhook-fanout function: the outbox queue's consumer (fan-out, webhook sends,
//! executor calls, timers handed to the scheduler, live-stream pushes).

use aws_lambda_events::sqs::SqsEvent;
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let l = greenlight::run::lambda::start().await?;
    let (runner, relay, dead_letters) = (&l.runner, &l.relay, l.dead_letters.as_deref());
    lambda_runtime::run(service_fn(|e: LambdaEvent<SqsEvent>| async move {
        let answer =
            greenlight::run::handlers::outbox::handle(runner, e.payload, dead_letters).await;
        // What the jobs changed (an executor's report, its webhooks) goes out now.
        greenlight::run::handlers::relay_quietly(relay).await;
        Ok::<_, lambda_runtime::Error>(answer)
    }))
    .await
}
