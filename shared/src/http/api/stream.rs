//! `GET /v1/stream`: the tenant's events (requests' and workflow runs') as Server-Sent
//! Events, live, resumable from the event logs with `Last-Event-ID`.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use utoipa::{IntoParams, ToSchema};

use crate::app::{App, AppError, Caller};
use crate::domain::StreamFilter;
use crate::http::Problem;
use crate::http::extract::Authed;
use crate::http::problem::{ApiCall, BadQuery};
use crate::ports::Changed;

/// Events read from the log per query.
const PAGE: u32 = 200;
/// Feed positions looked at per query when settling.
const HOLE_PAGE: u32 = 1000;
/// The stream also re-reads the log this often, for events written by another process.
const POLL: Duration = Duration::from_secs(1);
/// How long the stream waits for a missing position to commit (see `Reader::settle`).
const HOLE_WAIT: Duration = Duration::from_secs(2);
const HOLE_POLL: Duration = Duration::from_millis(50);

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct StreamParams {
    /// Only this request's events (or, given a run's id, that run's).
    approval_id: Option<String>,
    /// Only events of requests from this agent.
    agent_id: Option<String>,
    /// Comma-separated event types or patterns (`approval.*`, `*`), at most 50, each at
    /// most 100 characters before its `.*`; blank is every type.
    types: Option<String>,
    /// Where to resume, for clients that cannot send the `Last-Event-ID` header.
    #[param(pattern = r"^[0-9]{1,18}$")]
    last_event_id: Option<String>,
}

/// One message of the stream.
#[derive(Debug, ToSchema)]
pub struct StreamMessage {
    /// The event's position in the log: send it back as `Last-Event-ID` to resume after
    /// it.
    #[schema(pattern = "^[0-9]+$")]
    id: String,
    /// The event type.
    event: String,
    /// The webhook body as JSON: `{type, timestamp, data: {event, approval}}`, or
    /// `{type, timestamp, data: {event, run}}` for a workflow run's event.
    data: String,
}

impl From<StreamMessage> for SseEvent {
    fn from(m: StreamMessage) -> Self {
        SseEvent::default().id(m.id).event(m.event).data(m.data)
    }
}

struct Reader {
    app: App,
    tenant_id: String,
    /// Sent up to here.
    cursor: i64,
    /// Every position up to here is committed or given up on (see `settle`).
    settled: i64,
    /// Since when the position after `settled` has been missing.
    hole_since: Option<Instant>,
    filter: StreamFilter,
    /// Who reads: an approver sees only the events of requests that name it.
    caller: Caller,
    changes: broadcast::Receiver<Changed>,
    /// Read and admitted, not yet sent: position, type and message.
    ready: VecDeque<(i64, String, String)>,
}

impl Reader {
    /// Moves `settled` over the positions taken since. Positions are handed out when an
    /// event is written and become visible when its transaction commits, so a later
    /// position can be visible before an earlier one: sending past a hole could skip an
    /// event for good (the client resumes after the later one). So the stream stops at a
    /// hole until it fills, and gives up on it after `HOLE_WAIT` (a rolled-back
    /// transaction leaves a hole that never fills).
    async fn settle(&mut self) -> Result<(), crate::ports::StoreError> {
        let stores = &self.app.stores;
        let requests = stores
            .approvals
            .feed_positions(self.settled, HOLE_PAGE)
            .await?;
        let runs = stores
            .workflows
            .run_feed_positions(self.settled, HOLE_PAGE)
            .await?;
        // Past the end of a full page, the other log's positions would look like holes.
        let bound = [&requests, &runs]
            .iter()
            .filter(|page| page.len() == HOLE_PAGE as usize)
            .filter_map(|page| page.last().copied())
            .min()
            .unwrap_or(i64::MAX);
        let mut taken: Vec<i64> = requests
            .into_iter()
            .chain(runs)
            .filter(|p| *p <= bound)
            .collect();
        taken.sort_unstable();
        for p in taken {
            if p != self.settled + 1 {
                let since = *self.hole_since.get_or_insert_with(Instant::now);
                if since.elapsed() < HOLE_WAIT {
                    return Ok(());
                }
            }
            self.settled = p;
            self.hole_since = None;
        }
        Ok(())
    }

    /// Reads the requests' and the runs' events in `(cursor, settled]`, in feed order,
    /// up to where both pages reach; queues those the filter and the caller admit and
    /// moves `cursor` on. `false` when there were none of the tenant's.
    async fn read(&mut self) -> Result<bool, crate::ports::StoreError> {
        let stores = &self.app.stores;
        let (tenant, after, up_to) = (&self.tenant_id, self.cursor, self.settled);
        let requests = stores.approvals.feed(tenant, after, up_to, PAGE).await?;
        let runs = stores
            .workflows
            .run_feed(tenant, after, up_to, PAGE)
            .await?;
        let full = |last: Option<i64>, n: usize| last.filter(|_| n == PAGE as usize);
        let bound = [
            full(requests.last().map(|(p, _)| *p), requests.len()),
            full(runs.last().map(|(p, _)| *p), runs.len()),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(up_to);
        let mut read: Vec<(i64, String, String)> = Vec::new();
        let mut any = false;
        for (p, e) in requests.into_iter().filter(|(p, _)| *p <= bound) {
            any = true;
            if self.filter.admits(&e) && self.caller.may_read_event(&e) {
                read.push((p, e.event_type.clone(), e.message().to_string()));
            }
        }
        for (p, e) in runs.into_iter().filter(|(p, _)| *p <= bound) {
            any = true;
            // A run is the tenant's, not an approver's: only keys that read all see it.
            if self.caller.reads_all
                && self
                    .filter
                    .admits_parts(Some(&e.run_id), None, &e.event_type)
            {
                read.push((p, e.event_type.clone(), e.message().to_string()));
            }
        }
        read.sort_by_key(|(p, _, _)| *p);
        self.ready.extend(read);
        self.cursor = bound;
        Ok(any)
    }

    async fn next(mut self) -> Option<(Result<SseEvent, Infallible>, Self)> {
        loop {
            if let Some((pos, event_type, data)) = self.ready.pop_front() {
                let message = StreamMessage {
                    id: pos.to_string(),
                    event: event_type,
                    data,
                };
                return Some((Ok(message.into()), self));
            }
            let read = match self.settle().await {
                Ok(()) if self.settled > self.cursor => self.read().await,
                Ok(()) => Ok(false),
                Err(e) => Err(e),
            };
            match read {
                Ok(true) => continue,
                // None of ours up to `settled`.
                Ok(false) => self.cursor = self.cursor.max(self.settled),
                Err(e) => {
                    tracing::error!(error = %crate::telemetry::error_chain(&e), "stream could not read the event log");
                }
            }
            // Wait for a change of this tenant, or poll; sooner while a hole is open.
            let wait = if self.hole_since.is_some() {
                HOLE_POLL
            } else {
                POLL
            };
            let tenant = self.tenant_id.clone();
            let _ = tokio::time::timeout(wait, async {
                loop {
                    match self.changes.recv().await {
                        Ok(c) if c.tenant_id != tenant => continue,
                        Err(broadcast::error::RecvError::Closed) => {
                            std::future::pending::<()>().await
                        }
                        _ => break,
                    }
                }
            })
            .await;
        }
    }
}

/// A message id as the stream writes them: 1 to 18 digits, nothing else.
fn position(id: &str) -> Option<i64> {
    (!id.is_empty() && id.len() <= 18 && id.bytes().all(|b| b.is_ascii_digit()))
        .then(|| id.parse().ok())
        .flatten()
}

#[utoipa::path(get, path = "/v1/stream", tag = "approvals", params(StreamParams,
        ("Last-Event-ID" = Option<String>, Header, nullable = false, pattern = r"^[0-9]{1,18}$",
            description = "Resume after this event (the `id` of the last message received); wins over `lastEventId`")),
    responses(
        (status = 200, description = "One message per event, as the event's schema says",
            content_type = "text/event-stream", body = StreamMessage),
        BadQuery, ApiCall),
    security(("bearer" = [])))]
pub async fn stream(
    State(app): State<App>,
    Authed(caller): Authed,
    headers: HeaderMap,
    params: Result<Query<StreamParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, Problem> {
    let p = super::approvals::query(params)?;
    let resume = headers
        .get("last-event-id")
        .map(|v| v.to_str().unwrap_or_default().to_owned())
        .or(p.last_event_id);
    // Subscribed before the first read, so nothing committed in between is missed.
    let changes = app.changes.subscribe();
    let cursor = match resume {
        Some(id) => position(&id).ok_or_else(|| {
            AppError::invalid("Last-Event-ID", "the id of a message of this stream")
        })?,
        None => {
            let requests = app
                .stores
                .approvals
                .feed_head()
                .await
                .map_err(AppError::from)?;
            let runs = app
                .stores
                .workflows
                .run_feed_head()
                .await
                .map_err(AppError::from)?;
            requests.max(runs)
        }
    };
    let types = p.types.as_deref().filter(|t| !t.trim().is_empty());
    let filter =
        StreamFilter::parse(p.approval_id, p.agent_id, types).map_err(AppError::Invalid)?;
    let reader = Reader {
        app,
        tenant_id: caller.tenant_id.clone(),
        caller,
        cursor,
        settled: cursor,
        hole_since: None,
        filter,
        changes,
        ready: VecDeque::new(),
    };
    let stream = futures_util::stream::unfold(reader, Reader::next);
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// A ticket to open the live stream's WebSocket on AWS.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StreamTicket {
    /// Pass as `?ticket=` when connecting; it opens the stream as the key that asked for it.
    ticket: String,
    /// A minute after it was issued.
    expires_at: chrono::DateTime<chrono::Utc>,
}

/// Browsers cannot set headers on a WebSocket, and query strings are logged: the
/// WebSocket takes this ticket in its query string instead of the key.
#[utoipa::path(post, path = "/v1/stream/ticket", tag = "approvals",
    responses((status = 200, description = "A ticket, good for 60 seconds", body = StreamTicket), ApiCall),
    security(("bearer" = [])))]
pub async fn ticket(State(app): State<App>, Authed(caller): Authed) -> Json<StreamTicket> {
    let t = app.stream().ticket(&caller);
    Json(StreamTicket {
        ticket: t.ticket,
        expires_at: t.expires_at,
    })
}
