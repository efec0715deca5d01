//! Where the pages follow the live stream: Server-Sent Events from this server, or on
//! AWS the WebSocket API, which takes a ticket the page asks for here.

use super::*;

/// Where the dashboard's pages follow the tenant's events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveStream {
    /// `GET /v1/stream` on this server, with the session cookie (the local server).
    ServerSentEvents,
    /// The WebSocket API at this `wss://` URL, opened with a ticket from
    /// `TICKET_PATH` (on AWS, where a buffered Lambda answer cannot stream).
    WebSocket(String),
}

/// Where a page's script asks for a WebSocket ticket.
pub(super) const TICKET_PATH: &str = "/dashboard/stream/ticket";

/// The page's live stream, as its handler extracts it.
pub(super) type Live = Extension<LiveStream>;

/// What `live.html` needs to follow the events of `subject` (a request's or a run's
/// id), or of the whole tenant without one: the same filter over either transport.
pub(super) fn context(live: &LiveStream, subject: Option<&str>) -> minijinja::Value {
    let filter = subject
        .map(|id| format!("approvalId={}", encode(id)))
        .unwrap_or_default();
    match live {
        LiveStream::ServerSentEvents => {
            let url = if filter.is_empty() {
                "/v1/stream".to_owned()
            } else {
                format!("/v1/stream?{filter}")
            };
            minijinja::context! { stream_url => url }
        }
        LiveStream::WebSocket(url) => minijinja::context! {
            socket_url => url, socket_filter => filter, ticket_url => TICKET_PATH,
        },
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TicketBody {
    ticket: String,
    expires_at: chrono::DateTime<chrono::Utc>,
}

/// A ticket for the page's WebSocket, as the signed-in person. A POST with the session's
/// CSRF token, like every form, so only the dashboard's own pages have one minted.
pub(super) async fn ticket(
    State(app): State<App>,
    Signed(account): Signed,
    Form(form): Form<Fields>,
) -> Response {
    if let Some(r) = refused(&app, &account, &form) {
        return r;
    }
    let t = app.stream().person_ticket(&account);
    (
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(TicketBody {
            ticket: t.ticket,
            expires_at: t.expires_at,
        }),
    )
        .into_response()
}
