use std::time::Duration;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::app::{App, AppError, DecisionInput, Page, PageRequest, Verification};
use crate::domain::{Approval, Event, ExecutionReport, NewApproval, Status};
use crate::http::Problem;
use crate::http::extract::{Authed, JsonBody, OptionalJsonBody};
use crate::http::problem::{
    ApiCall, BadBody, BadQuery, Conflict, Forbidden, NotFound, RoleForbidden,
};

/// The longest a long-poll may hold a connection, in seconds: the app's own cap.
const MAX_WAIT_SECONDS: u64 = 25;

/// Query parameters are taken as text and parsed here, so a bad one is named; the
/// document states the types they are parsed to.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    #[param(value_type = Option<Status>)]
    status: Option<String>,
    agent_id: Option<String>,
    action_type: Option<String>,
    /// `nextCursor` of the previous page, as it was given; empty is none.
    cursor: Option<String>,
    /// Default 50.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    limit: Option<String>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WaitParams {
    /// Long-poll: hold the answer up to this many seconds until the request leaves
    /// PENDING (0, the default, answers at once).
    #[param(value_type = Option<u64>, minimum = 0, maximum = 25)]
    wait: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelInput {
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventList {
    pub items: Vec<Event>,
}

/// The `Idempotency-Key` header, if sent: visible ASCII (spaces inside).
pub(super) fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, AppError> {
    headers
        .get("idempotency-key")
        .map(|v| {
            v.to_str()
                .ok()
                .filter(|k| !k.contains('\t'))
                .map(str::to_owned)
                .ok_or_else(|| AppError::invalid("Idempotency-Key", "must be visible ASCII"))
        })
        .transpose()
}

/// `?wait=N`, a whole number of seconds from 0 to `MAX_WAIT_SECONDS`.
pub(super) fn wait_seconds(wait: Option<&str>) -> Result<Option<u64>, AppError> {
    wait.map(|w| match w.parse::<u64>() {
        Ok(secs @ 0..=MAX_WAIT_SECONDS) => Ok(secs),
        _ => Err(AppError::invalid(
            "wait",
            format!("a whole number of seconds from 0 to {MAX_WAIT_SECONDS}"),
        )),
    })
    .transpose()
}

/// `?limit=N`, parsed; its range is the app's to check.
pub(super) fn limit(limit: Option<&str>) -> Result<Option<u32>, AppError> {
    limit
        .map(|l| {
            l.parse::<u32>()
                .map_err(|_| AppError::invalid("limit", "must be a whole number"))
        })
        .transpose()
}

pub(super) fn query<T>(
    q: Result<Query<T>, axum::extract::rejection::QueryRejection>,
) -> Result<T, Problem> {
    q.map(|Query(t)| t)
        .map_err(|e| Problem::bad_request("bad-query", "Bad query string", e.body_text(), None))
}

#[utoipa::path(post, path = "/v1/approvals", tag = "approvals",
    request_body = NewApproval,
    params(("Idempotency-Key" = Option<String>, Header, nullable = false,
        max_length = 255, pattern = "^[!-~]([ -~]*[!-~])?$",
        description = "Same key and body → the same response, nothing new created; same key, other body → 422. Visible ASCII, spaces only inside.")),
    responses(
        (status = 201, description = "Created (or replayed: header Idempotent-Replayed: true)", body = Approval,
            headers(("Location" = String, description = "The request's URL"),
                ("Idempotent-Replayed" = String, description = "`true` when this answer is a replay"))),
        BadBody, RoleForbidden, ApiCall),
    security(("bearer" = [])))]
pub async fn create(
    State(app): State<App>,
    Authed(caller): Authed,
    headers: HeaderMap,
    JsonBody(input): JsonBody<NewApproval>,
) -> Result<Response, Problem> {
    let key = idempotency_key(&headers)?;
    let created = app.approvals().create(&caller, input, key).await?;
    let mut res = (StatusCode::CREATED, Json(&created.approval)).into_response();
    if let Ok(loc) = HeaderValue::from_str(&format!("/v1/approvals/{}", created.approval.id)) {
        res.headers_mut().insert(header::LOCATION, loc);
    }
    if created.replayed {
        res.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(res)
}

#[utoipa::path(get, path = "/v1/approvals", tag = "approvals", params(ListParams),
    responses((status = 200, description = "Newest first", body = Page), BadQuery, ApiCall),
    security(("bearer" = [])))]
pub async fn list(
    State(app): State<App>,
    Authed(caller): Authed,
    params: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Page>, Problem> {
    let p = query(params)?;
    let status = p
        .status
        .as_deref()
        .map(|s| {
            Status::parse(s).ok_or_else(|| {
                AppError::invalid("status", format!("unknown status {s:?}; use one of PENDING, APPROVED, REJECTED, TIMEOUT, CANCELLED, EXECUTING, COMPLETED, FAILED"))
            })
        })
        .transpose()?;
    let limit = limit(p.limit.as_deref())?;
    let page = app
        .approvals()
        .list_for(
            &caller,
            PageRequest {
                status,
                agent_id: p.agent_id,
                action_type: p.action_type,
                // `cursor=` is how many clients send "no cursor".
                cursor: p.cursor.filter(|c| !c.is_empty()),
                limit,
            },
        )
        .await?;
    Ok(Json(page))
}

#[utoipa::path(get, path = "/v1/approvals/{id}", tag = "approvals",
    params(("id" = String, Path), WaitParams),
    responses((status = 200, body = Approval), BadQuery, NotFound, ApiCall),
    security(("bearer" = [])))]
pub async fn get(
    State(app): State<App>,
    Authed(caller): Authed,
    Path(id): Path<String>,
    params: Result<Query<WaitParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Approval>, Problem> {
    let wait = wait_seconds(query(params)?.wait.as_deref())?;
    let approval = match wait {
        Some(secs) if secs > 0 => {
            app.approvals().read(&caller, &id).await?;
            app.approvals()
                .wait_for_outcome(&caller.tenant_id, &id, Duration::from_secs(secs))
                .await?
        }
        _ => app.approvals().read(&caller, &id).await?,
    };
    Ok(Json(approval))
}

#[utoipa::path(post, path = "/v1/approvals/{id}/decision", tag = "approvals",
    params(("id" = String, Path)), request_body = DecisionInput,
    responses((status = 200, body = Approval), BadBody, Forbidden, NotFound, Conflict, ApiCall),
    security(("bearer" = [])))]
pub async fn decide(
    State(app): State<App>,
    Authed(caller): Authed,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<DecisionInput>,
) -> Result<Json<Approval>, Problem> {
    Ok(Json(app.approvals().decide(&caller, &id, input).await?))
}

#[utoipa::path(post, path = "/v1/approvals/{id}/cancel", tag = "approvals",
    params(("id" = String, Path)),
    request_body(content = Option<CancelInput>, description = "Optional: no body, or `null`, is no reason"),
    responses((status = 200, body = Approval), BadBody, RoleForbidden, NotFound, Conflict, ApiCall),
    security(("bearer" = [])))]
pub async fn cancel(
    State(app): State<App>,
    Authed(caller): Authed,
    Path(id): Path<String>,
    OptionalJsonBody(input): OptionalJsonBody<CancelInput>,
) -> Result<Json<Approval>, Problem> {
    Ok(Json(
        app.approvals().cancel(&caller, &id, input.reason).await?,
    ))
}

#[utoipa::path(post, path = "/v1/approvals/{id}/execution", tag = "approvals",
    params(("id" = String, Path)), request_body = ExecutionReport,
    responses((status = 200, body = Approval), BadBody, RoleForbidden, NotFound, Conflict, ApiCall),
    security(("bearer" = [])))]
pub async fn execution(
    State(app): State<App>,
    Authed(caller): Authed,
    Path(id): Path<String>,
    JsonBody(report): JsonBody<ExecutionReport>,
) -> Result<Json<Approval>, Problem> {
    Ok(Json(
        app.approvals()
            .report_execution(&caller, &id, report)
            .await?,
    ))
}

#[utoipa::path(get, path = "/v1/approvals/{id}/events", tag = "audit",
    params(("id" = String, Path)),
    responses((status = 200, description = "Oldest first", body = EventList), NotFound, ApiCall),
    security(("bearer" = [])))]
pub async fn events(
    State(app): State<App>,
    Authed(caller): Authed,
    Path(id): Path<String>,
) -> Result<Json<EventList>, Problem> {
    Ok(Json(EventList {
        items: app.approvals().read_events(&caller, &id).await?,
    }))
}

#[utoipa::path(get, path = "/v1/approvals/{id}/events/verify", tag = "audit",
    params(("id" = String, Path)),
    responses((status = 200, description = "`valid` says whether the chain holds", body = Verification),
        NotFound, ApiCall),
    security(("bearer" = [])))]
pub async fn verify(
    State(app): State<App>,
    Authed(caller): Authed,
    Path(id): Path<String>,
) -> Result<Json<Verification>, Problem> {
    Ok(Json(app.approvals().read_verification(&caller, &id).await?))
}
