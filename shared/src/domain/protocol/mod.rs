//! Checks of what outside parties send: Slack's request signatures, and the signed
//! grants inside approval links and live stream tickets.

pub mod link;
pub mod signed;
pub mod slack;
pub mod ticket;
