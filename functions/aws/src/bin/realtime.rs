//! The realtime function: the live stream's WebSocket API ($connect, $disconnect).

use greenlight::run::{handlers::realtime, lambda};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda::serve(async |l, event| Ok(realtime::handle(&l.app, event).await)).await
}
