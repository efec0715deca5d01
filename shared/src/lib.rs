//! Greenlight: human approval as a service.
//!
//! `domain` is pure (no I/O, no async); `app` holds the use-cases over the traits in
//! `ports`; `adapters` implement those ports for one technology each; `http` holds the
//! axum routers that the local server and the Lambda functions both serve; `run` composes
//! them all, as the local server or as one Lambda function.

/// `ALL`, `as_str` and `parse` for an enum stored as text: each name written once.
macro_rules! text_enum {
    ($t:ty { $($v:ident = $s:literal),+ $(,)? }) => {
        impl $t {
            pub const ALL: &'static [Self] = &[$(Self::$v),+];

            pub fn as_str(self) -> &'static str {
                match self { $(Self::$v => $s),+ }
            }
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($s => Some(Self::$v),)+ _ => None }
            }
        }
    };
}

pub mod adapters;
pub mod app;
pub mod domain;
pub mod http;
pub mod ports;
pub mod run;
pub mod telemetry;
pub mod templates;
