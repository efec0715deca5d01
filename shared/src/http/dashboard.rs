//! The web dashboard: server-rendered pages for approvers and admins, signed in with a
//! session cookie; every form carries the session's CSRF token. Pages update live from
//! the event stream (`/v1/stream`, which takes the session cookie for reading).

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Serialize;

use super::links::{error_lines, form_fields, parse_answer};
use crate::app::messages::render;
use crate::app::{Account, App, AppError, PageRequest, SESSION_HOURS};
use crate::domain::Role;
use crate::domain::{Approval, FieldError, Status};
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

pub fn routes() -> Router<App> {
    Router::new()
        .route("/dashboard", get(inbox))
        .route("/dashboard/sign-in", get(sign_in_page).post(sign_in))
        .route("/dashboard/sign-out", post(sign_out))
        .route(
            "/dashboard/invite/{token}",
            get(invite_page).post(accept_invite),
        )
        .route("/dashboard/approvals/{id}", get(approval_page))
        .route("/dashboard/approvals/{id}/decide", post(decide))
        .route("/dashboard/admin", get(admin))
        .route("/dashboard/admin/keys", post(create_key))
        .route("/dashboard/admin/keys/{id}/revoke", post(revoke_key))
        .route("/dashboard/admin/invites", post(invite))
        .route(
            "/dashboard/admin/webhooks/{endpoint}/deliveries/{delivery}/redeliver",
            post(redeliver),
        )
        .route("/dashboard/outbox", get(outbox))
}

/// The session token in a request's cookies.
pub fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_owned())
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
        has_outbox => app.channels.mailbox.is_some(),
        csrf => account.session.csrf_token,
        event_types => EVENT_TYPES,
    }
}

fn form_map(body: &[u8]) -> HashMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

/// The page refusing a form whose CSRF token is not the session's, if it is not.
fn refused(app: &App, account: &Account, form: &HashMap<String, String>) -> Option<Response> {
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
fn cookie(app: &App, headers: &HeaderMap, value: &str, max_age: i64) -> HeaderValue {
    let https = app.channels.public_url.starts_with("https://")
        || headers
            .get("x-forwarded-proto")
            .is_some_and(|v| v.as_bytes() == b"https");
    let secure = if https { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    ))
    .expect("cookie values are ASCII")
}

#[derive(serde::Deserialize, Default)]
struct SignInQuery {
    next: Option<String>,
    expired: Option<String>,
}

/// Only paths of this site: an open redirect would make the sign-in page a phishing aid.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with("/dashboard") && !n.starts_with("//") => n.to_owned(),
        _ => "/dashboard".to_owned(),
    }
}

async fn sign_in_page(Query(q): Query<SignInQuery>) -> Response {
    let message = q
        .expired
        .is_some()
        .then_some("Your session has expired. Sign in again.");
    page(
        StatusCode::OK,
        "dashboard/sign_in.html",
        minijinja::context! { title => "Sign in", next => safe_next(q.next.as_deref()), message, email => "" },
    )
}

async fn sign_in(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Response {
    let form = form_map(&body);
    let get = |k: &str| form.get(k).map_or("", String::as_str);
    match app.accounts().sign_in(get("email"), get("password")).await {
        Ok(signed) => {
            let mut r = Redirect::to(&safe_next(Some(get("next")))).into_response();
            r.headers_mut().insert(
                header::SET_COOKIE,
                cookie(&app, &headers, &signed.token, SESSION_HOURS * 3600),
            );
            r
        }
        Err(AppError::Unauthorized) => page(
            StatusCode::UNAUTHORIZED,
            "dashboard/sign_in.html",
            minijinja::context! {
                title => "Sign in", next => safe_next(Some(get("next"))),
                error => "That email and password do not match an account.",
                email => get("email"),
            },
        ),
        Err(e) => failure(e),
    }
}

async fn sign_out(
    State(app): State<App>,
    Signed(account): Signed,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(r) = refused(&app, &account, &form_map(&body)) {
        return r;
    }
    if let Some(token) = session_token(&headers)
        && let Err(e) = app.accounts().sign_out(&token).await
    {
        return failure(e);
    }
    let mut r = Redirect::to("/dashboard/sign-in").into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, cookie(&app, &headers, "", 0));
    r
}

async fn invite_page(State(app): State<App>, Path(token): Path<String>) -> Response {
    match app.accounts().open_invite(&token).await {
        Ok(i) => page(
            StatusCode::OK,
            "dashboard/invite.html",
            minijinja::context! {
                title => "Join", role => i.role.as_str(), email => i.email,
                action => format!("/dashboard/invite/{token}"), given_email => "",
            },
        ),
        Err(AppError::NotFound(_)) => gone_invite(),
        Err(e) => failure(e),
    }
}

fn gone_invite() -> Response {
    (
        StatusCode::NOT_FOUND,
        Html("<!doctype html><title>Invitation</title><p>This invitation was used or has expired. Ask an admin for a new one.</p><p><a href=\"/dashboard/sign-in\">Sign in</a></p>"),
    )
        .into_response()
}

async fn accept_invite(
    State(app): State<App>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = form_map(&body);
    let email = form.get("email").map(String::as_str);
    let password = form.get("password").map_or("", String::as_str);
    match app.accounts().accept_invite(&token, email, password).await {
        Ok(signed) => {
            let mut r = Redirect::to("/dashboard").into_response();
            r.headers_mut().insert(
                header::SET_COOKIE,
                cookie(&app, &headers, &signed.token, SESSION_HOURS * 3600),
            );
            r
        }
        Err(AppError::Invalid(errors)) => match app.accounts().open_invite(&token).await {
            Ok(i) => page(
                StatusCode::UNPROCESSABLE_ENTITY,
                "dashboard/invite.html",
                minijinja::context! {
                    title => "Join", role => i.role.as_str(), email => i.email,
                    action => format!("/dashboard/invite/{token}"),
                    given_email => email.unwrap_or_default(),
                    errors => errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>(),
                },
            ),
            Err(_) => gone_invite(),
        },
        Err(AppError::NotFound(_)) => gone_invite(),
        Err(e) => failure(e),
    }
}

#[derive(serde::Deserialize, Default)]
struct InboxQuery {
    status: Option<String>,
    agent: Option<String>,
    action: Option<String>,
    sort: Option<String>,
    partial: Option<String>,
}

#[derive(Serialize)]
struct Row {
    id: String,
    name: String,
    action_type: String,
    agent: String,
    status: &'static str,
    due: String,
}

async fn inbox(
    State(app): State<App>,
    Signed(account): Signed,
    Query(q): Query<InboxQuery>,
) -> Response {
    let nonempty = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
    // Pending by default: the inbox is what waits for someone.
    let status = match q.status.as_deref() {
        None => Some(Status::Pending),
        Some("") => None,
        Some(s) => Status::parse(s),
    };
    let req = PageRequest {
        status,
        agent_id: nonempty(&q.agent),
        action_type: nonempty(&q.action),
        cursor: None,
        limit: Some(crate::app::MAX_PAGE),
    };
    let mut items = match app.approvals().list(&account.user.tenant_id, req).await {
        Ok(p) => p.items,
        Err(e) => return failure(e),
    };
    let sort = if q.sort.as_deref() == Some("expiring") {
        items.sort_by_key(|a| a.due_at);
        "expiring"
    } else {
        "newest"
    };
    let rows: Vec<Row> = items
        .iter()
        .map(|a| Row {
            id: a.id.clone(),
            name: a.spec.name.clone(),
            action_type: a.spec.action_type.clone(),
            agent: a.spec.agent_id.clone(),
            status: a.status.as_str(),
            due: render::time(a.due_at),
        })
        .collect();
    let filtered = status != Some(Status::Pending) || q.agent.is_some() || q.action.is_some();
    let ctx = minijinja::context! {
        items => rows, filtered,
        ..base(&app, &account, "Inbox")
    };
    if q.partial.is_some() {
        return page(StatusCode::OK, "dashboard/inbox_list.html", ctx);
    }
    let statuses: Vec<&str> = std::iter::once("")
        .chain(Status::ALL.iter().map(|s| s.as_str()))
        .collect();
    page(
        StatusCode::OK,
        "dashboard/inbox.html",
        minijinja::context! {
            statuses, status => status.map_or("", |s| s.as_str()),
            agent => q.agent.unwrap_or_default(), action => q.action.unwrap_or_default(),
            sort, stream_url => "/v1/stream",
            ..ctx
        },
    )
}

#[derive(Serialize)]
struct TimelineEntry {
    seq: i64,
    #[serde(rename = "type")]
    kind: String,
    at: String,
    actor: String,
    source: &'static str,
    /// The top-level fields of the state this event changed.
    changed: Vec<String>,
}

#[derive(Serialize)]
struct DeliveryRow {
    channel: &'static str,
    recipient: String,
    status: &'static str,
    attempts: i32,
    error: Option<String>,
}

/// What moved between two snapshots, besides the bookkeeping every event moves.
fn changed_fields(before: Option<&serde_json::Value>, after: &serde_json::Value) -> Vec<String> {
    let Some(after) = after.as_object() else {
        return Vec::new();
    };
    after
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "version" | "updatedAt"))
        .filter(|(k, v)| before.and_then(|b| b.get(k.as_str())) != Some(*v))
        .filter(|_| before.is_some())
        .map(|(k, _)| k.clone())
        .collect()
}

struct Shown {
    errors: Vec<FieldError>,
    inputs: HashMap<String, String>,
    feedback: String,
    message: Option<String>,
}

async fn render_approval(
    app: &App,
    account: &Account,
    a: &Approval,
    shown: Shown,
    status: StatusCode,
    partial: bool,
) -> Response {
    let tenant = &account.user.tenant_id;
    let caller = account.caller();
    let (approvals, messages) = (app.approvals(), app.messages());
    let (events, deliveries, verification) = match tokio::try_join!(
        approvals.events(tenant, &a.id),
        messages.of(&caller, &a.id),
        approvals.verify(tenant, &a.id),
    ) {
        Ok(all) => all,
        Err(e) => return failure(e),
    };
    let mut previous: Option<&serde_json::Value> = None;
    let timeline: Vec<TimelineEntry> = events
        .iter()
        .map(|e| {
            let entry = TimelineEntry {
                seq: e.seq,
                kind: e.event_type.clone(),
                at: e.occurred_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                actor: e.actor.clone(),
                source: e.source.as_str(),
                changed: changed_fields(previous, &e.snapshot),
            };
            previous = Some(&e.snapshot);
            entry
        })
        .collect();
    let deliveries: Vec<DeliveryRow> = deliveries
        .into_iter()
        .map(|d| DeliveryRow {
            channel: d.channel.as_str(),
            recipient: d.recipient,
            status: d.status.as_str(),
            attempts: d.attempts,
            error: d.last_error,
        })
        .collect();
    let s = render::summary(a, None);
    // The action as approved, each changed value with what it was.
    let approved_fields: Vec<(String, String, Option<String>)> = a
        .approved_data
        .as_ref()
        .and_then(|d| d.as_object())
        .map(|o| {
            o.iter()
                .map(|(k, v)| {
                    let was = a.spec.action_data.get(k).filter(|old| *old != v);
                    (k.clone(), render::as_text(v), was.map(render::as_text))
                })
                .collect()
        })
        .unwrap_or_default();
    let can_decide = a.status == Status::Pending && app.messages().may_decide(account, a);
    let ctx = minijinja::context! {
        a => minijinja::context! { id => a.id, name => a.spec.name, status => a.status.as_str() },
        agent => s.agent, action_type => s.action_type, due => s.expires, fields => s.fields,
        outcome => render::outcome(a), can_decide, approved_fields,
        form_fields => form_fields(a, &shown.errors, &shown.inputs),
        errors => error_lines(&shown.errors), feedback => shown.feedback, message => shown.message,
        timeline, deliveries,
        chain_valid => verification.chain.valid, chain_events => events.len(),
        chain_broken_at => verification.chain.broken_at, chain_reason => verification.chain.reason,
        stream_url => format!("/v1/stream?approvalId={}", encode(&a.id)),
        ..base(app, account, &a.spec.name)
    };
    let name = if partial {
        "dashboard/approval_live.html"
    } else {
        "dashboard/approval.html"
    };
    page(status, name, ctx)
}

#[derive(serde::Deserialize, Default)]
struct PartialQuery {
    partial: Option<String>,
}

async fn approval_page(
    State(app): State<App>,
    Signed(account): Signed,
    Path(id): Path<String>,
    Query(q): Query<PartialQuery>,
) -> Response {
    match app.approvals().get(&account.user.tenant_id, &id).await {
        Ok(a) => {
            let shown = Shown {
                errors: Vec::new(),
                inputs: HashMap::new(),
                feedback: String::new(),
                message: None,
            };
            render_approval(&app, &account, &a, shown, StatusCode::OK, q.partial.is_some()).await
        }
        Err(AppError::NotFound(_)) => (
            StatusCode::NOT_FOUND,
            Html("<!doctype html><title>Not found</title><p>No such request.</p><p><a href=\"/dashboard\">Inbox</a></p>"),
        )
            .into_response(),
        Err(e) => failure(e),
    }
}

async fn decide(
    State(app): State<App>,
    Signed(account): Signed,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let form = form_map(&body);
    if let Some(r) = refused(&app, &account, &form) {
        return r;
    }
    let answer = parse_answer(&body);
    let current = match app.approvals().get(&account.user.tenant_id, &id).await {
        Ok(a) => a,
        Err(e) => return failure(e),
    };
    let mut shown = Shown {
        errors: Vec::new(),
        inputs: answer.fields.clone(),
        feedback: answer.feedback.clone().unwrap_or_default(),
        message: None,
    };
    // Answered elsewhere since the page was shown: say how, change nothing.
    if current.status != Status::Pending {
        shown.message = Some(format!(
            "Nothing changed: {}.",
            render::outcome(&current).unwrap_or_else(|| "the request changed; look again".into())
        ));
        return render_approval(&app, &account, &current, shown, StatusCode::CONFLICT, false).await;
    }
    match app.messages().decide_as(&account, &id, &answer).await {
        Ok(_) => Redirect::to(&format!("/dashboard/approvals/{id}")).into_response(),
        Err(AppError::Invalid(errors)) => {
            shown.errors = errors;
            render_approval(
                &app,
                &account,
                &current,
                shown,
                StatusCode::UNPROCESSABLE_ENTITY,
                false,
            )
            .await
        }
        Err(AppError::Forbidden(why)) => {
            shown.message = Some(format!("Nothing changed: {why}."));
            render_approval(
                &app,
                &account,
                &current,
                shown,
                StatusCode::FORBIDDEN,
                false,
            )
            .await
        }
        Err(AppError::Conflict { current, message }) => {
            shown.message = Some(format!(
                "Nothing changed: {}.",
                render::outcome(&current).unwrap_or(message)
            ));
            shown.inputs.clear();
            render_approval(&app, &account, &current, shown, StatusCode::CONFLICT, false).await
        }
        Err(e) => failure(e),
    }
}

#[derive(Default)]
struct AdminShown {
    message: Option<String>,
    secret: Option<(String, String)>,
    errors: Vec<String>,
}

async fn render_admin(
    app: &App,
    account: &Account,
    shown: AdminShown,
    status: StatusCode,
) -> Response {
    let caller = account.caller();
    let (accounts, webhooks) = (app.accounts(), app.webhooks());
    let (keys, people, endpoints) = match tokio::try_join!(
        accounts.api_keys_of(account),
        accounts.people(account),
        webhooks.endpoints(&caller),
    ) {
        Ok(all) => all,
        Err(AppError::Forbidden(why)) => {
            return (
                StatusCode::FORBIDDEN,
                Html(format!(
                    "<!doctype html><p>{why}</p><p><a href=\"/dashboard\">Inbox</a></p>"
                )),
            )
                .into_response();
        }
        Err(e) => return failure(e),
    };
    let mut endpoint_views = Vec::new();
    for e in endpoints {
        let deliveries = match app.webhooks().endpoint_deliveries(&caller, &e.id, 20).await {
            Ok(d) => d,
            Err(err) => return failure(err),
        };
        endpoint_views.push(minijinja::context! {
            id => e.id, url => e.url, events => e.events.join(", "), active => e.active,
            disabled_reason => e.disabled_reason,
            deliveries => deliveries.into_iter().map(|d| minijinja::context! {
                id => d.id, event_type => d.event_type, status => d.status.as_str(),
                attempts => d.attempts, last_error => d.last_error,
                created => render::time(d.created_at),
            }).collect::<Vec<_>>(),
        });
    }
    let keys: Vec<minijinja::Value> = keys
        .into_iter()
        .map(|k| minijinja::context! {
            id => k.id, name => k.name, prefix => k.prefix, created => render::time(k.created_at),
            revoked => k.revoked_at.map(render::time),
        })
        .collect();
    let people: Vec<minijinja::Value> = people
        .into_iter()
        .map(|p| minijinja::context! { email => p.email, role => p.role.as_str() })
        .collect();
    let (shown_label, shown_secret) = shown.secret.unzip();
    page(
        status,
        "dashboard/admin.html",
        minijinja::context! {
            endpoints => endpoint_views, keys, people, message => shown.message,
            errors => shown.errors, shown_label, shown_secret,
            ..base(app, account, "Admin")
        },
    )
}

async fn admin(State(app): State<App>, Signed(account): Signed) -> Response {
    render_admin(&app, &account, AdminShown::default(), StatusCode::OK).await
}

/// Runs an admin form's action and shows the admin page with its result.
async fn admin_action(
    app: &App,
    account: &Account,
    body: &[u8],
    act: impl AsyncFnOnce(&HashMap<String, String>) -> Result<AdminShown, AppError>,
) -> Response {
    let form = form_map(body);
    if let Some(r) = refused(app, account, &form) {
        return r;
    }
    match act(&form).await {
        Ok(shown) => render_admin(app, account, shown, StatusCode::OK).await,
        Err(AppError::Invalid(errors)) => {
            let errors = errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect();
            render_admin(
                app,
                account,
                AdminShown {
                    errors,
                    ..Default::default()
                },
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(AppError::Forbidden(why)) => (
            StatusCode::FORBIDDEN,
            Html(format!("<!doctype html><p>{why}</p>")),
        )
            .into_response(),
        Err(AppError::NotFound(what)) => {
            let errors = vec![format!("{what} not found")];
            render_admin(
                app,
                account,
                AdminShown {
                    errors,
                    ..Default::default()
                },
                StatusCode::NOT_FOUND,
            )
            .await
        }
        Err(e) => failure(e),
    }
}

async fn create_key(State(app): State<App>, Signed(account): Signed, body: Bytes) -> Response {
    admin_action(&app, &account, &body, async |form| {
        let name = form.get("name").map_or("", String::as_str);
        let secret = app.accounts().new_api_key(&account, name).await?;
        Ok(AdminShown {
            secret: Some((format!("API key {name:?}"), secret)),
            ..Default::default()
        })
    })
    .await
}

async fn revoke_key(
    State(app): State<App>,
    Signed(account): Signed,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    admin_action(&app, &account, &body, async |_| {
        app.accounts().revoke_api_key(&account, &id).await?;
        Ok(AdminShown {
            message: Some("The key is revoked: calls with it are refused from now on.".into()),
            ..Default::default()
        })
    })
    .await
}

async fn invite(
    State(app): State<App>,
    Signed(account): Signed,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let origin = site_origin(&app, &headers);
    admin_action(&app, &account, &body, async |form| {
        let email = form.get("email").map_or("", String::as_str);
        let role = form
            .get("role")
            .and_then(|r| Role::parse(r))
            .ok_or_else(|| AppError::invalid("role", "must be approver or admin"))?;
        let token = app.accounts().invite(&account, email, role).await?;
        Ok(AdminShown {
            secret: Some((
                format!("Invitation link for {email}: send it to them; it works once, for 7 days"),
                format!("{origin}/dashboard/invite/{token}"),
            )),
            ..Default::default()
        })
    })
    .await
}

/// Where this dashboard is reached, for links shown on it.
fn site_origin(app: &App, headers: &HeaderMap) -> String {
    if !app.channels.public_url.is_empty() {
        return app.channels.public_url.clone();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("https://{host}")
}

async fn redeliver(
    State(app): State<App>,
    Signed(account): Signed,
    Path((endpoint, delivery)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    admin_action(&app, &account, &body, async |_| {
        if !account.is_admin() {
            return Err(AppError::Forbidden("only admins may do this".into()));
        }
        app.webhooks()
            .redeliver(&account.caller(), &endpoint, &delivery)
            .await?;
        Ok(AdminShown {
            message: Some("Queued for another attempt, under the same webhook-id.".into()),
            ..Default::default()
        })
    })
    .await
}

async fn outbox(State(app): State<App>, Signed(account): Signed) -> Response {
    let Some(outbox) = &app.channels.mailbox else {
        return (
            StatusCode::NOT_FOUND,
            Html("<!doctype html><p>There is no outbox: messages are sent.</p>"),
        )
            .into_response();
    };
    page(
        StatusCode::OK,
        "dashboard/outbox.html",
        minijinja::context! {
            messages => outbox.messages().into_iter().rev().collect::<Vec<_>>(),
            ..base(&app, &account, "Outbox")
        },
    )
}
