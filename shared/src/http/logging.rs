use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;

/// One log line per request: method, route, status, latency. The route is the
/// template the request matched (`/a/{token}`), never the path itself: paths carry link
/// tokens, invitation tokens and SMS codes. No query, no headers, no bodies: they carry
/// keys, tickets and personal data.
pub async fn log_request(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("(no route)", MatchedPath::as_str)
        .to_owned();
    let started = Instant::now();
    let res = next.run(req).await;
    let status = res.status().as_u16();
    let micros = started.elapsed().as_micros() as u64;
    if status >= 500 {
        tracing::error!(%method, %route, status, micros, "request");
    } else {
        tracing::info!(%method, %route, status, micros, "request");
    }
    res
}
