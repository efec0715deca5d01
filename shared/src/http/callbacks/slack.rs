//! `POST /slack/interactions`: Slack's calls when someone clicks a button or submits
//! the modal. The signature is checked before anything is read.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::Value;

use crate::app::App;
use crate::app::AppError;
use crate::app::messages::SlackReply;
use crate::domain::protocol::slack::{self, Interaction};
use crate::http::Problem;
use crate::http::extract::pointer_of;

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The form body as Slack signed it: as received, or base64-decoded when a Lambda
/// function URL encoded it.
fn form_body(body: &[u8]) -> Vec<u8> {
    if body.starts_with(b"payload=") {
        return body.to_vec();
    }
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .ok()
        .filter(|d| d.starts_with(b"payload="))
        .unwrap_or_else(|| body.to_vec())
}

pub async fn interactions(
    State(app): State<App>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    let secret = app
        .channels
        .slack_signing_secret
        .as_deref()
        .ok_or_else(|| {
            Problem::new(
                StatusCode::NOT_FOUND,
                "slack-not-configured",
                "Slack is not configured",
                "set GREENLIGHT_SLACK_SIGNING_SECRET and GREENLIGHT_SLACK_BOT_TOKEN",
            )
        })?;
    let body = form_body(&body);
    slack::verify(
        secret,
        header(&headers, "x-slack-request-timestamp"),
        header(&headers, "x-slack-signature"),
        &body,
        app.clock.now(),
    )
    .map_err(|e| {
        Problem::new(
            StatusCode::UNAUTHORIZED,
            "bad-slack-signature",
            "The Slack signature does not verify",
            e.to_string(),
        )
    })?;
    let payload: Value = url::form_urlencoded::parse(&body)
        .find(|(k, _)| k == "payload")
        .and_then(|(_, v)| serde_json::from_str(&v).ok())
        .ok_or_else(|| {
            Problem::bad_request(
                "bad-slack-payload",
                "Not a Slack interaction",
                "the body must be a form with a JSON `payload` field",
                None,
            )
        })?;
    let interaction: Interaction = serde_path_to_error::deserialize(payload)
        .map_err(|e| AppError::invalid(pointer_of(e.path()), e.inner().to_string()))?;
    Ok(
        match app.messages().slack_interaction(&interaction).await? {
            SlackReply::Empty => StatusCode::OK.into_response(),
            SlackReply::Json(v) => Json(v).into_response(),
        },
    )
}
