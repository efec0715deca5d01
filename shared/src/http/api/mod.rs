//! The agents' API under `/v1`: approval requests, their messages, webhooks, the live
//! stream, API keys, workflows and their runs. (`/healthz` is served with the callbacks, which every composition mounts.)

pub(super) mod approvals;
pub(super) mod health;
pub(super) mod keys;
pub(super) mod messages;
pub(super) mod runs;
pub(super) mod stream;
pub(super) mod webhooks;
pub(super) mod workflows;

use axum::Router;
use axum::routing::{delete, get, post};

use crate::app::App;

// The deprecated names of two routes are served on purpose, for one release.
#[allow(deprecated)]
pub(super) fn routes() -> Router<App> {
    Router::new()
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
        .route("/v1/approvals/{id}/messages", get(messages::list))
        // The route's name before messages were called messages; kept for one release.
        .route(
            "/v1/approvals/{id}/deliveries",
            get(messages::list_deprecated),
        )
        .route("/v1/dev/mailbox", get(messages::mailbox))
        // Likewise the dev mailbox's first name.
        .route("/v1/dev/outbox", get(messages::mailbox_deprecated))
        .route("/v1/stream", get(stream::stream))
        .route("/v1/stream/ticket", post(stream::ticket))
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
            "/v1/workflows",
            post(workflows::create).get(workflows::list),
        )
        .route(
            "/v1/workflows/{id}",
            get(workflows::get)
                .patch(workflows::update)
                .delete(workflows::delete),
        )
        .route("/v1/workflows/{id}/versions", post(workflows::add_version))
        .route("/v1/workflows/{id}/versions/{n}", get(workflows::version))
        .route(
            "/v1/workflows/{id}/runs",
            post(workflows::start).get(workflows::runs),
        )
        .route("/v1/runs", get(runs::list))
        .route("/v1/runs/{id}", get(runs::get))
        .route("/v1/runs/{id}/cancel", post(runs::cancel))
        .route("/v1/runs/{id}/events", get(runs::events))
        .route("/v1/runs/{id}/events/verify", get(runs::verify))
        .route("/v1/keys", post(keys::create).get(keys::list))
        .route("/v1/keys/{id}", delete(keys::revoke))
        .route(
            "/v1/callback-secret/rotate",
            post(webhooks::rotate_callback_secret),
        )
}
