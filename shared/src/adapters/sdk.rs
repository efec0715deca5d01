//! The AWS SDK's configuration, shared by the DynamoDB store and the AWS adapters.

use aws_config::BehaviorVersion;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};

/// The SDK's configuration loader with Greenlight's one HTTP client (rustls on ring).
/// Load it once per process (per Lambda container) and share the clients built from it.
pub fn config_loader() -> aws_config::ConfigLoader {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https();
    aws_config::defaults(BehaviorVersion::latest()).http_client(http)
}
