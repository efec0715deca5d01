//! The sweeper function: the backstop on a schedule - lost deadlines, due outbox jobs.

use greenlight::run::handlers::sweeper;
use greenlight::run::lambda::{self, Calls};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    // The schedule's event says nothing the sweep needs.
    lambda::serve(Calls::NONE, async |l, _: Value| {
        sweeper::handle(&l.app, &l.relay).await
    })
    .await
}
