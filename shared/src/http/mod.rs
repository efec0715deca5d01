//! The axum routers. The local server serves them with `axum::serve`; the `api` Lambda
//! function serves the same `Router` through `lambda_http`.

mod approvals;
pub mod dashboard;
mod deliveries;
mod extract;
mod health;
mod links;
mod logging;
mod openapi;
pub mod problem;
mod slack;
mod stream;
mod webhooks;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

use crate::app::App;
pub use openapi::{ApiDoc, api_document};
pub use problem::Problem;

/// Request bodies larger than this are refused with 413 before they are parsed.
/// `actionData` has its own, smaller limit.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// The public API (`/v1/…`, `/healthz`, the OpenAPI document), the dashboard, Slack's
/// interactivity endpoint and the approval-link pages: what the local server and the
/// api function serve.
pub fn router(app: App) -> Router {
    finish(api_routes().merge(callback_routes()), app)
}

/// What the callback function serves at its function URL: Slack's interactivity
/// endpoint and the approval-link pages.
pub fn callback_router(app: App) -> Router {
    finish(callback_routes(), app)
}

fn callback_routes() -> Router<App> {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/slack/interactions", post(slack::interactions))
        .route("/a/{token}", get(links::show).post(links::answer))
        .route("/s/{code}", get(links::short))
}

fn api_routes() -> Router<App> {
    dashboard::routes()
        .route("/v1/openapi.json", get(openapi::document))
        .route(
            "/v1/approvals",
            post(approvals::create).get(approvals::list),
        )
        .route("/v1/approvals/{id}", get(approvals::get))
        .route("/v1/approvals/{id}/decision", post(approvals::decide))
        .route("/v1/approvals/{id}/cancel", post(approvals::cancel))
        .route("/v1/approvals/{id}/execution", post(approvals::execution))
        .route("/v1/approvals/{id}/events", get(approvals::events))
        .route("/v1/approvals/{id}/events/verify", get(approvals::verify))
        .route("/v1/approvals/{id}/deliveries", get(deliveries::list))
        .route("/v1/dev/outbox", get(deliveries::outbox))
        .route("/v1/stream", get(stream::stream))
        .route("/v1/webhooks", post(webhooks::create).get(webhooks::list))
        .route(
            "/v1/webhooks/{id}",
            get(webhooks::get)
                .patch(webhooks::update)
                .delete(webhooks::delete),
        )
        .route("/v1/webhooks/{id}/rotate-secret", post(webhooks::rotate))
        .route("/v1/webhooks/{id}/deliveries", get(webhooks::deliveries))
        .route(
            "/v1/webhooks/{id}/deliveries/{delivery_id}",
            get(webhooks::delivery),
        )
        .route(
            "/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver",
            post(webhooks::redeliver),
        )
        .route(
            "/v1/webhooks/{id}/redeliver",
            post(webhooks::redeliver_since),
        )
        .route(
            "/v1/callback-secret/rotate",
            post(webhooks::rotate_callback_secret),
        )
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
