//! The webhook-fanout function: the outbox queue's consumer (fan-out, webhook sends,
//! executor calls, timers handed to the scheduler, live-stream pushes), and on DynamoDB
//! the table stream's consumer, which hands each job written to its queue.

use greenlight::app::outbox::Tasks;
use greenlight::run::handlers::outbox;
use greenlight::run::lambda::{self, Calls};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda::serve_relaying(
        Calls::NONE.runs(Tasks::OUTBOX).scheduler().pushes(),
        async |l, event| {
            outbox::handle_event(&l.relay, &l.runner, event, l.dead_letters.as_deref()).await
        },
    )
    .await
}
