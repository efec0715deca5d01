//! Checks of what outside parties send: Slack's request signatures, and the signed
//! grants inside approval links.

pub mod link;
pub mod slack;
