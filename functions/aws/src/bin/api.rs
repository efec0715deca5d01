//! The api function: API Gateway HTTP API → the same router as the local server.

use greenlight::run::handlers::api;
use greenlight::run::lambda::{self, Calls};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda::serve_http(Calls::NONE, |l| api::router(l.app, l.relay, l.stream_url)).await
}
