//! The webhook-fanout function: the outbox queue's consumer (fan-out, webhook sends,
//! executor calls, timers handed to the scheduler, live-stream pushes). The
//! workflow-steps function runs this binary too, on the steps queue.

use greenlight::run::{handlers::outbox, lambda};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda::serve_relaying(async |l, batch| {
        Ok(outbox::handle(&l.runner, batch, l.dead_letters.as_deref()).await)
    })
    .await
}
