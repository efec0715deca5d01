//! AWS adapters over the official SDK. Every client honours the SDK's own settings
//! (`AWS_REGION`, `AWS_ENDPOINT_URL`, credentials chain), which is how the tests point
//! them at the local emulator.

pub mod email;
pub mod push;
pub mod relay;
pub mod secrets;
pub mod sms;
pub mod timers;

use aws_sdk_sqs::error::{ProvideErrorMetadata, SdkError};

pub use super::sdk::config_loader;

/// Sorts an SDK error: `Ok` with its description when another attempt may pass
/// (throttling, a server error, the network), `Err` when the service refused the call and
/// will refuse it again.
pub(crate) fn transient<E, R>(e: SdkError<E, R>) -> Result<String, String>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let detail = crate::telemetry::error_chain(&e);
    match &e {
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or_default();
            let passing = [
                "Throttl",
                "TooManyRequests",
                "RequestLimitExceeded",
                "LimitExceeded",
                "Internal",
                "ServiceUnavailable",
            ]
            .iter()
            .any(|t| code.contains(t));
            if passing {
                Ok(format!("{code}: {detail}"))
            } else {
                Err(format!("{code}: {detail}"))
            }
        }
        SdkError::ConstructionFailure(_) => Err(detail),
        _ => Ok(detail),
    }
}

pub(crate) fn channel_error<E, R>(e: SdkError<E, R>) -> crate::ports::ChannelError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match transient(e) {
        Ok(why) => crate::ports::ChannelError::Unavailable(why),
        Err(why) => crate::ports::ChannelError::Refused(why),
    }
}
