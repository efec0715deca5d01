//! The axum routers. The local server serves them all with `axum::serve`; on AWS the
//! api function serves the API and the callback function what people open, each
//! through `lambda_http`.

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

/// Everything, as the local server serves it: `api_router`'s and `people_router`'s
/// routes. The dashboard's pages follow the live stream at `live`.
pub fn router(app: App, live: LiveStream) -> Router {
    finish(api_routes().merge(people_routes(live)).merge(health()), app)
}

/// The public API (`/v1/…`, `/healthz`, the OpenAPI document): what the api function
/// serves to agents.
pub fn api_router(app: App) -> Router {
    finish(api_routes().merge(health()), app)
}

/// What people open: the dashboard, Slack's interactivity endpoint and the
/// approval-link pages, which the callback function serves at its function URL. Kept
/// apart from the API, so that the api function links neither the dashboard's
/// templates nor its password hashing.
pub fn people_router(app: App, live: LiveStream) -> Router {
    finish(people_routes(live).merge(health()), app)
}

/// Every process answers it.
fn health() -> Router<App> {
    Router::new().route("/healthz", get(api::health::healthz))
}

fn api_routes() -> Router<App> {
    api::routes().route("/v1/openapi.json", get(openapi::document))
}

fn people_routes(live: LiveStream) -> Router<App> {
    dashboard::routes(live)
        .merge(callbacks::routes())
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
