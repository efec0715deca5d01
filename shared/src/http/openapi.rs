use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{approvals, deliveries, health, stream, webhooks};

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The OpenAPI 3.1 document, generated from the handlers and types.
#[derive(OpenApi)]
#[openapi(
    info(title = "Greenlight API", description = "Human approval as a service for AI agents and automations."),
    paths(
        approvals::create, approvals::list, approvals::get, approvals::decide,
        approvals::cancel, approvals::execution, approvals::events, approvals::verify,
        deliveries::list, deliveries::outbox,
        stream::stream,
        webhooks::create, webhooks::list, webhooks::get, webhooks::update, webhooks::delete,
        webhooks::rotate, webhooks::deliveries, webhooks::delivery, webhooks::redeliver,
        webhooks::redeliver_since, webhooks::rotate_callback_secret,
        health::healthz,
    ),
    modifiers(&BearerAuth),
    tags((name = "approvals"), (name = "audit"), (name = "webhooks"), (name = "health"), (name = "local"))
)]
pub struct ApiDoc;

pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
