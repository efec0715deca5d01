//! The web dashboard: server-rendered pages for approvers and admins, signed in with a
//! session cookie; every form carries the session's CSRF token. Pages update live from
//! the event stream: `/v1/stream`, which takes the session cookie for reading, or on AWS
//! the WebSocket API with a ticket (`live.rs`).

use std::collections::HashMap;

use axum::extract::{Form, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use serde::Serialize;

mod admin;
mod approval;
mod dag;
mod inbox;
mod jobs;
mod live;
mod session;
mod workflows;

use crate::app::messages::render;
use crate::app::{Account, App, AppError, NewKey, PageRequest, SESSION_HOURS};
use crate::domain::{Approval, FieldError, Status};
use crate::domain::{KeyRole, Role};
use crate::http::callbacks::links::{error_lines, form_fields, parse_answer};
use crate::templates;

/// The session cookie's name.
pub const COOKIE: &str = "gl_session";

/// Every event type, for the page script's stream listener (SSE names events by type).
const EVENT_TYPES: [&str; 16] = [
    "approval.created",
    "approval.approved",
    "approval.modified",
    "approval.rejected",
    "approval.timed_out",
    "approval.voted",
    "approval.escalated",
    "approval.reminder.sent",
    "approval.cancelled",
    "execution.started",
    "execution.completed",
    "execution.failed",
    "approval.sent.slack",
    "approval.sent.email",
    "approval.sent.sms",
    "delivery.failed",
];

pub use live::LiveStream;

/// The dashboard's pages, following the live stream at `live`.
pub fn routes(live: LiveStream) -> Router<App> {
    Router::new()
        .route("/dashboard", get(inbox::inbox))
        .route(
            "/dashboard/sign-in",
            get(session::sign_in_page).post(session::sign_in),
        )
        .route("/dashboard/sign-out", post(session::sign_out))
        .route(
            "/dashboard/invite/{token}",
            get(session::invite_page).post(session::accept_invite),
        )
        .route("/dashboard/approvals/{id}", get(approval::approval_page))
        .route("/dashboard/approvals/{id}/decide", post(approval::decide))
        .route("/dashboard/admin", get(admin::admin))
        .route("/dashboard/admin/keys", post(admin::create_key))
        .route("/dashboard/admin/keys/{id}/revoke", post(admin::revoke_key))
        .route("/dashboard/admin/invites", post(admin::invite))
        .route(
            "/dashboard/admin/webhooks/{endpoint}/deliveries/{delivery}/redeliver",
            post(admin::redeliver),
        )
        .route("/dashboard/mailbox", get(admin::mailbox))
        .route("/dashboard/workflows", get(workflows::workflows))
        .route("/dashboard/workflows/{id}", get(workflows::workflow))
        .route("/dashboard/runs", get(workflows::runs))
        .route("/dashboard/runs/{id}", get(workflows::run))
        .route("/dashboard/admin/jobs", get(jobs::buried))
        // The page's first name, for bookmarks; it moves to the new one.
        .route(
            "/dashboard/outbox",
            get(|| async { Redirect::permanent("/dashboard/mailbox") }),
        )
        .route(live::TICKET_PATH, post(live::ticket))
        .layer(Extension(live))
}

/// The session token in a request's cookies.
pub fn session_token(headers: &HeaderMap) -> Option<String> {
    CookieJar::from_headers(headers)
        .get(COOKIE)
        .map(|c| c.value().to_owned())
        .filter(|v| !v.is_empty())
}

/// The signed-in person; without a live session, a redirect to the sign-in page.
pub struct Signed(pub Account);

impl FromRequestParts<App> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let token = session_token(&parts.headers);
        let expired = token.is_some();
        if let Some(token) = token {
            match app.accounts().account(&token).await {
                Ok(a) => return Ok(Signed(a)),
                Err(AppError::Unauthorized) => {}
                Err(e) => return Err(failure(e)),
            }
        }
        let next = parts
            .uri
            .path_and_query()
            .map_or("/dashboard", |p| p.as_str());
        let next = if parts.method == axum::http::Method::GET {
            next
        } else {
            "/dashboard"
        };
        let mut to = format!("/dashboard/sign-in?next={}", encode(next));
        if expired {
            to.push_str("&expired=1");
        }
        Err(Redirect::to(&to).into_response())
    }
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn failure(e: AppError) -> Response {
    tracing::error!(error = %crate::telemetry::error_chain(&e), "a dashboard page failed");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Html("<!doctype html><p>Greenlight cannot answer right now; try again in a minute.</p>"),
    )
        .into_response()
}

fn page(status: StatusCode, name: &str, ctx: minijinja::Value) -> Response {
    (
        status,
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::REFERRER_POLICY, "same-origin"),
            (header::X_FRAME_OPTIONS, "DENY"),
        ],
        Html(templates::render(name, ctx)),
    )
        .into_response()
}

/// What every signed-in page's layout needs.
fn base(app: &App, account: &Account, title: &str) -> minijinja::Value {
    minijinja::context! {
        title => title,
        account => account.user.email,
        is_admin => account.is_admin(),
        has_mailbox => app.channels.mailbox.is_some() && account.is_admin(),
        csrf => account.session.csrf_token,
        event_types => EVENT_TYPES,
    }
}

/// A dashboard form's fields, by name.
type Fields = HashMap<String, String>;

/// The page refusing a form whose CSRF token is not the session's, if it is not.
fn refused(app: &App, account: &Account, form: &Fields) -> Option<Response> {
    let e = app
        .accounts()
        .check_csrf(account, form.get("csrf").map_or("", String::as_str))
        .err()?;
    Some(
        (
            StatusCode::FORBIDDEN,
            Html(format!(
                "<!doctype html><title>Refused</title><p>{e}</p><p><a href=\"/dashboard\">Back to the dashboard</a></p>"
            )),
        )
            .into_response(),
    )
}

/// The session cookie: HttpOnly, SameSite=Lax, and Secure whenever the dashboard is
/// reached over HTTPS (always on AWS; the local server on plain http cannot use it).
fn cookie(app: &App, headers: &HeaderMap, value: String, max_age_seconds: i64) -> Cookie<'static> {
    let https = app.channels.public_url.starts_with("https://")
        || headers
            .get("x-forwarded-proto")
            .is_some_and(|v| v.as_bytes() == b"https");
    Cookie::build((COOKIE, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .max_age(cookie::time::Duration::seconds(max_age_seconds))
        .secure(https)
        .build()
}
