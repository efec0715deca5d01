//! One module per technology, each implementing ports.

#[cfg(feature = "aws")]
pub mod aws;
pub mod changes;
pub mod clock;
pub mod http_sender;
pub mod ids;
pub mod local_outbox;
pub mod local_worker;
pub mod slack_api;
pub mod sql;
