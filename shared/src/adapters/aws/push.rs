//! Live-stream pushes on AWS: API Gateway's management API (`PostToConnection`) for the
//! WebSocket API's connections.

use async_trait::async_trait;
use aws_sdk_apigatewaymanagement::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_apigatewaymanagement::primitives::Blob;

use crate::ports::{PushError, Pusher};

pub struct ApiGatewayPusher {
    client: aws_sdk_apigatewaymanagement::Client,
}

impl ApiGatewayPusher {
    /// `endpoint` is the WebSocket API's management URL,
    /// `https://{api-id}.execute-api.{region}.amazonaws.com/{stage}`.
    pub fn new(sdk: &aws_config::SdkConfig, endpoint: &str) -> Self {
        let config = aws_sdk_apigatewaymanagement::config::Builder::from(sdk)
            .endpoint_url(endpoint)
            .build();
        Self {
            client: aws_sdk_apigatewaymanagement::Client::from_conf(config),
        }
    }
}

#[async_trait]
impl Pusher for ApiGatewayPusher {
    async fn push(&self, connection_id: &str, data: &str) -> Result<(), PushError> {
        match self
            .client
            .post_to_connection()
            .connection_id(connection_id)
            .data(Blob::new(data.as_bytes()))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(e)) if e.err().code() == Some("GoneException") => {
                Err(PushError::Gone)
            }
            Err(e) => Err(PushError::Failed(crate::telemetry::error_chain(&e))),
        }
    }
}
