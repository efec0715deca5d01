//! One module per technology, each implementing ports.

pub mod changes;
pub mod clock;
pub mod ids;
pub mod local_worker;
pub mod sql;
