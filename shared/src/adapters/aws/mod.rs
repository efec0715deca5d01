//! AWS adapters over the official SDK. Every client honours the SDK's own settings
//! (`AWS_REGION`, `AWS_ENDPOINT_URL`, credentials chain), which is how the tests point
//! them at the local emulator.

pub mod push;
pub mod relay;
pub mod secrets;
pub mod timers;

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
