//! One tracing set-up for every binary: JSON lines by default (what CloudWatch and log
//! tools parse), human-readable on request. Follows Lambda's `AWS_LAMBDA_LOG_LEVEL` and
//! `AWS_LAMBDA_LOG_FORMAT` when set, else `GREENLIGHT_LOG` / `GREENLIGHT_LOG_FORMAT`.

use tracing_subscriber::EnvFilter;

pub fn init(lookup: impl Fn(&str) -> Option<String>) {
    let level = lookup("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|| lookup("GREENLIGHT_LOG"))
        .unwrap_or_else(|| "info".into())
        .to_lowercase();
    let filter = EnvFilter::try_new(&level).unwrap_or_else(|_| EnvFilter::new("info"));
    let format = lookup("AWS_LAMBDA_LOG_FORMAT")
        .or_else(|| lookup("GREENLIGHT_LOG_FORMAT"))
        .unwrap_or_else(|| "json".into())
        .to_lowercase();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = if format == "text" || format == "pretty" {
        builder.try_init()
    } else {
        builder.json().flatten_event(true).try_init()
    };
    // Already initialised (tests start several servers in one process): keep the first.
    let _ = result;
}

/// An error and its causes on one line, for logs. Never sent to clients.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
