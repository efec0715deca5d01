//! The compositions: the one place that reads settings, picks the adapters and drives
//! the app. `local` is the all-in-one server (API, `worker`, sweeper) and `lambda` what
//! every AWS function builds at its cold start, with `handlers` for their events.

pub mod config;
#[cfg(feature = "aws")]
pub mod handlers;
#[cfg(feature = "aws")]
pub mod lambda;
pub mod local;
mod worker;
