//! The realtime function: the live stream's API Gateway WebSocket API. `$connect`
//! authenticates and records the connection with its filters; `$disconnect` forgets
//! it. Messages go out from the fan-out (see `App::push_to_connections`).
//!
//! The caller is an API key in `Authorization: Bearer`, or, for browsers (which
//! cannot set headers on a WebSocket), a ticket in the `ticket` query parameter: from
//! `POST /v1/stream/ticket` for a key, or from the dashboard for a signed-in person,
//! whose pages follow the stream here. A key in the query string is refused: API
//! Gateway logs query strings, and a ticket there is worth a minute, a key for ever.

use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
use serde_json::{Value, json};

use crate::app::{App, AppError};
use crate::domain::StreamFilter;

fn answer(status: u16, body: &str) -> Value {
    json!({"statusCode": status, "body": body})
}

pub async fn handle(app: &App, event: ApiGatewayWebsocketProxyRequest) -> Value {
    let ctx = &event.request_context;
    let Some(connection_id) = ctx.connection_id.as_deref() else {
        return answer(400, "not a WebSocket event: no connectionId");
    };
    match ctx.route_key.as_deref() {
        Some("$connect") => {
            let query = |k: &str| event.query_string_parameters.first(k).map(str::to_owned);
            if ["key", "token", "apiKey", "api_key"]
                .iter()
                .any(|k| query(k).is_some())
            {
                return answer(
                    400,
                    "API keys are not taken from the query string, which is logged: send \
                     Authorization: Bearer <key>, or ?ticket= from POST /v1/stream/ticket",
                );
            }
            let bearer = event
                .headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split_once(' '))
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                .map(|(_, k)| k.trim().to_owned())
                .filter(|k| !k.is_empty());
            let caller = match (bearer, query("ticket")) {
                (Some(key), _) => app.accounts().authenticate(&key).await,
                (None, Some(ticket)) => app.stream().redeem(&ticket).await,
                (None, None) => {
                    return answer(
                        401,
                        "send an API key as Authorization: Bearer <key>, or ?ticket= from \
                         POST /v1/stream/ticket",
                    );
                }
            };
            let caller = match caller {
                Ok(c) => c,
                Err(AppError::Unauthorized) => {
                    return answer(
                        401,
                        "unknown API key, or a ticket expired, not ours, or of someone \
                         who no longer signs in",
                    );
                }
                Err(e) => return failed(e),
            };
            let filter = match StreamFilter::parse(
                query("approvalId"),
                query("agentId"),
                query("types").as_deref(),
            ) {
                Ok(f) => f,
                Err(errors) => {
                    let why: Vec<String> = errors
                        .iter()
                        .map(|e| format!("{}: {}", e.field, e.message))
                        .collect();
                    return answer(400, &why.join("; "));
                }
            };
            match app.stream().open(&caller, connection_id, filter).await {
                Ok(()) => answer(200, "connected"),
                Err(AppError::Forbidden(why)) => answer(403, &why),
                Err(e) => failed(e),
            }
        }
        Some("$disconnect") => match app.stream().close(connection_id).await {
            Ok(()) => answer(200, "disconnected"),
            Err(e) => failed(e),
        },
        // The stream only talks one way.
        _ => answer(200, "this stream only sends"),
    }
}

fn failed(e: AppError) -> Value {
    tracing::error!(error = %crate::telemetry::error_chain(&e), "realtime event failed");
    answer(500, "internal error")
}
