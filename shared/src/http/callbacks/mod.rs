//! What outside parties call, each authenticated by its own signature rather than an
//! API key: Slack's interactivity endpoint and the approval-link pages.

pub(crate) mod links;
mod slack;

use axum::Router;
use axum::routing::{get, post};

use crate::app::App;

/// What the callback function serves at its function URL, and the local server too.
pub(super) fn routes() -> Router<App> {
    Router::new()
        .route("/slack/interactions", post(slack::interactions))
        .route("/a/{token}", get(links::show).post(links::answer))
        .route("/s/{code}", get(links::short))
}
