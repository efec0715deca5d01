//! The api and callback functions: the same routers as the local server, and after
//! each change a relay of the outbox jobs it wrote, before the answer leaves (nothing
//! runs after a Lambda invocation returns).

use axum::Router;
use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::{self, Next};
use axum::response::Response;

use crate::app::App;
use crate::app::outbox::OutboxRelay;

pub fn router(app: App, relay: OutboxRelay) -> Router {
    crate::http::router(app).layer(middleware::from_fn_with_state(relay, relay_after_changes))
}

/// The callback function's router (Slack interactivity, approval links), relaying
/// the same way.
pub fn callback_router(app: App, relay: OutboxRelay) -> Router {
    crate::http::callback_router(app)
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
