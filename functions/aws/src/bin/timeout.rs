//! The timeout function: timers from EventBridge Scheduler and the SQS delay queue.

use greenlight::run::handlers::timeout;
use greenlight::run::lambda::{self, Calls};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda::serve_relaying(Calls::NONE.scheduler(), async |l, event| {
        timeout::handle(&l.app, event, l.dead_letters.as_deref()).await
    })
    .await
}
