//! The workflow-steps function: the steps queue's consumer (workflow steps that call
//! out, their retries and compensations, and runs resumed after a decision).

use greenlight::app::outbox::Tasks;
use greenlight::run::handlers::outbox;
use greenlight::run::lambda::{self, Calls};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda::serve_relaying(Calls::NONE.runs(Tasks::STEPS), async |l, event| {
        Ok(outbox::handle(&l.relay, &l.runner, event, l.dead_letters.as_deref()).await)
    })
    .await
}
