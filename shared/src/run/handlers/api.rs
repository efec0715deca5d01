//! The api and callback functions: the local server's routes, split between the API
//! (the api function) and what people open (the callback function: the dashboard,
//! Slack, approval links), and after each change a relay of the outbox jobs it wrote,
//! before the answer leaves (nothing runs after a Lambda invocation returns).
//!
//! The api function does not serve `/v1/stream`: a buffered Lambda answer cannot
//! stream, and events committed by other containers would never wake it. It answers
//! with a problem that names the WebSocket API, which carries the live stream on AWS.

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};

use crate::app::App;
use crate::app::outbox::OutboxRelay;
use crate::http::{LiveStream, Problem};

/// `stream_url` is the WebSocket API's `wss://` URL, when the function knows it: a
/// client asking for `/v1/stream` is sent there.
pub fn router(app: App, relay: OutboxRelay, stream_url: Option<String>) -> Router {
    crate::http::api_router(app)
        .layer(middleware::from_fn_with_state(relay, relay_after_changes))
        .layer(middleware::from_fn_with_state(stream_url, stream_elsewhere))
}

async fn stream_elsewhere(State(url): State<Option<String>>, req: Request, next: Next) -> Response {
    if req.uri().path() != "/v1/stream" || req.method() != Method::GET {
        return next.run(req).await;
    }
    let at = url.clone().unwrap_or_else(|| {
        "the WebSocket API (GREENLIGHT_WEBSOCKET_ENDPOINT is not set here)".to_owned()
    });
    let mut answer = Problem::new(
        StatusCode::NOT_IMPLEMENTED,
        "stream-on-websocket",
        "The live stream is a WebSocket here",
        format!(
            "this deployment streams events over its WebSocket API, not Server-Sent \
             Events: connect to {at} with Authorization: Bearer <API key>, or from a \
             browser with ?ticket= from POST /v1/stream/ticket; approvalId, agentId and \
             types filter as they do here"
        ),
    )
    .into_response();
    if let Some(link) =
        url.and_then(|u| HeaderValue::from_str(&format!("<{u}>; rel=\"alternate\"")).ok())
    {
        answer.headers_mut().insert(header::LINK, link);
    }
    answer
}

/// The callback function's router (the dashboard, Slack interactivity, approval
/// links), relaying the same way. The dashboard's pages follow the WebSocket API at
/// `stream_url`; without it they try `/v1/stream`, are refused, and fall back to
/// polling.
pub fn callback_router(app: App, relay: OutboxRelay, stream_url: Option<String>) -> Router {
    let live = stream_url.map_or(LiveStream::ServerSentEvents, LiveStream::WebSocket);
    crate::http::people_router(app, live)
        .layer(middleware::from_fn_with_state(relay, relay_after_changes))
}

async fn relay_after_changes(
    State(relay): State<OutboxRelay>,
    req: Request,
    next: Next,
) -> Response {
    let changes = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let response = next.run(req).await;
    // A refused call wrote nothing.
    if changes && response.status().is_success() {
        super::relay_quietly(&relay).await;
    }
    response
}
