//! One module per technology, each implementing ports.

#[cfg(feature = "aws")]
pub mod aws;
pub mod changes;
pub mod chat;
pub mod clock;
pub mod dev_mailbox;
pub mod http_sender;
pub mod ids;
pub mod rate_memory;
pub mod slack_api;
pub mod sql;
