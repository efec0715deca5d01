//! The AWS SDK's configuration, shared by the DynamoDB store and the AWS adapters.

mod http;

use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_types::sdk_config::{SharedCredentialsProvider, SharedHttpClient};

fn http_client() -> SharedHttpClient {
    SharedHttpClient::new(http::ReqwestHttpClient::default())
}

/// The SDK's whole configuration chain (profiles, SSO, STS, IMDS, …), for the local
/// server and its command-line tools, which run wherever a person has credentials.
/// Load it once per process and share the clients built from it.
pub fn config_loader() -> aws_config::ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest()).http_client(http_client())
}

/// The configuration of a Lambda function: region, credentials and endpoint from the
/// variables Lambda sets (`AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
/// `AWS_SESSION_TOKEN`; `AWS_ENDPOINT_URL` for an emulator), and nothing else. The full
/// chain of `config_loader` would read profile files at every cold start and link its
/// SSO, STS, IMDS and ECS clients into every function, which never uses them.
pub fn lambda_config(var: impl Fn(&str) -> Option<String>) -> SdkConfig {
    let var = |k: &str| var(k).filter(|v| !v.is_empty());
    let mut config = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(http_client())
        .credentials_provider(SharedCredentialsProvider::new(
            EnvironmentVariableCredentialsProvider::new(),
        ));
    if let Some(region) = var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION")) {
        config = config.region(Region::new(region));
    }
    if let Some(endpoint) = var("AWS_ENDPOINT_URL") {
        config = config.endpoint_url(endpoint);
    }
    config.build()
}
