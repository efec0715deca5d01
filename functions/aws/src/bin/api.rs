//! The api function: API Gateway HTTP API → the same router as the local server.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let l = greenlight::run::lambda::start().await?;
    lambda_http::run(greenlight::run::handlers::api::router(l.app, l.relay)).await
}
