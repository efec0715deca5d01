//! The axum routers. The local server serves them with `axum::serve`; the `api` Lambda
//! function serves the same `Router` through `lambda_http`.

mod api;
mod callbacks;
pub mod dashboard;
mod extract;
mod logging;
mod openapi;
pub mod problem;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::Redirect;
use axum::routing::get;

use crate::app::App;
pub use dashboard::LiveStream;
pub use openapi::{ApiDoc, api_document};
pub use problem::Problem;

/// Request bodies larger than this are refused with 413 before they are parsed.
/// `actionData` has its own, smaller limit.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// The public API (`/v1/…`, `/healthz`, the OpenAPI document), the dashboard, Slack's
/// interactivity endpoint and the approval-link pages: what the local server and the
/// api function serve. The dashboard's pages follow the live stream at `live`.
pub fn router(app: App, live: LiveStream) -> Router {
    finish(api_routes(live).merge(callbacks::routes()), app)
}

/// What the callback function serves at its function URL: Slack's interactivity
/// endpoint and the approval-link pages.
pub fn callback_router(app: App) -> Router {
    finish(callbacks::routes(), app)
}

fn api_routes(live: LiveStream) -> Router<App> {
    dashboard::routes(live)
        .merge(api::routes())
        .route("/v1/openapi.json", get(openapi::document))
        // A newcomer who opens the server's address lands on the dashboard.
        .route("/", get(|| async { Redirect::to("/dashboard") }))
}

/// Problem answers for unknown routes and methods, the body limit, request logs.
fn finish(routes: Router<App>, app: App) -> Router {
    routes
        .fallback(problem::not_found)
        .method_not_allowed_fallback(problem::method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(logging::log_request))
        .with_state(app)
}
