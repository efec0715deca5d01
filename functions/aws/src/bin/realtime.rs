//! The realtime function: the live stream's WebSocket API ($connect, $disconnect).

use greenlight::run::handlers::realtime;
use greenlight::run::lambda::{self, Calls};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda::serve(Calls::NONE, async |l, event| {
        Ok(realtime::handle(&l.app, event).await)
    })
    .await
}
