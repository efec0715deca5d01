//! The AWS side of the harness: the real SDK pointed at the local emulator (moto's
//! server, started by `infra/scripts/test.sh`), and per-test resources with unique
//! names so tests can run side by side on one emulator.

use aws_config::{Region, SdkConfig};
use aws_sdk_sqs::config::Credentials;

/// Where the emulator answers.
pub fn endpoint() -> String {
    std::env::var("GREENLIGHT_TEST_AWS_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:5000".into())
}

/// The SDK configuration Greenlight's adapters get, aimed at the emulator.
pub async fn sdk_config() -> SdkConfig {
    let endpoint = endpoint();
    if let Err(e) = tokio::net::TcpStream::connect(endpoint.trim_start_matches("http://")).await {
        panic!(
            "the AWS emulator must be running for these tests ({endpoint}): {e}; \
             infra/scripts/test.sh starts it"
        );
    }
    greenlight::adapters::aws::config_loader()
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .load()
        .await
}

/// A name no other test uses.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

/// A new standard queue; its URL.
pub async fn queue(sdk: &SdkConfig, prefix: &str) -> String {
    aws_sdk_sqs::Client::new(sdk)
        .create_queue()
        .queue_name(unique(prefix))
        .send()
        .await
        .expect("create queue")
        .queue_url
        .expect("queue URL")
}

/// A new schedule group; its name.
pub async fn schedule_group(sdk: &SdkConfig) -> String {
    let name = unique("gl-timers");
    aws_sdk_scheduler::Client::new(sdk)
        .create_schedule_group()
        .name(&name)
        .send()
        .await
        .expect("create schedule group");
    name
}
