//! The realtime function: the live stream's WebSocket API ($connect, $disconnect).

use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let l = greenlight::run::lambda::start().await?;
    let app = &l.app;
    lambda_runtime::run(service_fn(
        |e: LambdaEvent<ApiGatewayWebsocketProxyRequest>| async move {
            Ok::<_, lambda_runtime::Error>(
                greenlight::run::handlers::realtime::handle(app, e.payload).await,
            )
        },
    ))
    .await
}
