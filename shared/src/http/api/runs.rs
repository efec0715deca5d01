//! `/v1/runs`: workflow runs, their long-poll, cancel, and their audit trail.

use std::time::Duration;

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::approvals::{CancelInput, limit, query, wait_seconds};
use crate::app::{App, AppError, Caller, RunPage, RunPageRequest, RunVerification};
use crate::domain::workflow::{Run, RunEvent, RunStatus};
use crate::http::Problem;
use crate::http::extract::{Authed, OptionalJsonBody};
use crate::http::problem::{ApiCall, BadBody, BadQuery, NotFound, RoleForbidden, RunConflict};

/// The longest id a path or filter takes.
const MAX_ID: usize = 64;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct RunListParams {
    #[param(value_type = Option<RunStatus>)]
    status: Option<String>,
    /// `nextCursor` of the previous page, as it was given; empty is none.
    cursor: Option<String>,
    /// Default 50.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    limit: Option<String>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct AllRunsParams {
    /// Only this workflow's runs.
    #[param(max_length = 64)]
    workflow_id: Option<String>,
    #[param(value_type = Option<RunStatus>)]
    status: Option<String>,
    /// `nextCursor` of the previous page, as it was given; empty is none.
    cursor: Option<String>,
    /// Default 50.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    limit: Option<String>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RunWaitParams {
    /// Long-poll: hold the answer up to this many seconds until the run ends (0, the
    /// default, answers at once).
    #[param(value_type = Option<u64>, minimum = 0, maximum = 25)]
    wait: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RunEventList {
    pub items: Vec<RunEvent>,
}

pub(super) async fn list_runs(
    app: &App,
    caller: &Caller,
    workflow_id: Option<String>,
    p: RunListParams,
) -> Result<Json<RunPage>, Problem> {
    let status = p
        .status
        .as_deref()
        .map(|s| {
            RunStatus::parse(s).ok_or_else(|| {
                AppError::invalid("status", format!("unknown status {s:?}; use one of RUNNING, WAITING, SUCCEEDED, FAILED, CANCELLED"))
            })
        })
        .transpose()?;
    if workflow_id.as_ref().is_some_and(|w| w.len() > MAX_ID) {
        return Err(AppError::invalid("workflowId", format!("at most {MAX_ID} characters")).into());
    }
    let req = RunPageRequest {
        workflow_id,
        status,
        cursor: p.cursor.filter(|c| !c.is_empty()),
        limit: limit(p.limit.as_deref())?,
    };
    Ok(Json(app.workflows().runs(caller, req).await?))
}

#[utoipa::path(get, path = "/v1/runs", tag = "runs", params(AllRunsParams),
    responses((status = 200, description = "Newest first", body = RunPage), BadQuery, RoleForbidden, ApiCall),
    security(("bearer" = [])))]
pub async fn list(
    State(app): State<App>,
    Authed(caller): Authed,
    params: Result<Query<AllRunsParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<RunPage>, Problem> {
    let p = query(params)?;
    let page = RunListParams {
        status: p.status,
        cursor: p.cursor,
        limit: p.limit,
    };
    let workflow_id = p.workflow_id.filter(|w| !w.is_empty());
    list_runs(&app, &caller, workflow_id, page).await
}

#[utoipa::path(get, path = "/v1/runs/{id}", tag = "runs",
    params(("id" = String, Path, max_length = 64), RunWaitParams),
    responses((status = 200, body = Run), BadQuery, RoleForbidden, NotFound, ApiCall),
    security(("bearer" = [])))]
pub async fn get(
    State(app): State<App>,
    Authed(caller): Authed,
    Path(id): Path<String>,
    params: Result<Query<RunWaitParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Run>, Problem> {
    let wait = wait_seconds(query(params)?.wait.as_deref())?;
    let run = match wait {
        Some(secs) if secs > 0 => {
            app.workflows()
                .wait(&caller, &id, Duration::from_secs(secs))
                .await?
        }
        _ => app.workflows().run(&caller, &id).await?,
    };
    Ok(Json(run))
}

#[utoipa::path(post, path = "/v1/runs/{id}/cancel", tag = "runs",
    params(("id" = String, Path, max_length = 64)),
    request_body(content = Option<CancelInput>, description = "Optional: no body, or `null`, is no reason"),
    responses((status = 200, description = "Cancelled: a waiting approval request is cancelled with it, and what had succeeded is compensated", body = Run),
        BadBody, RoleForbidden, NotFound, RunConflict, ApiCall),
    security(("bearer" = [])))]
pub async fn cancel(
    State(app): State<App>,
    Authed(caller): Authed,
    Path(id): Path<String>,
    OptionalJsonBody(input): OptionalJsonBody<CancelInput>,
) -> Result<Json<Run>, Problem> {
    Ok(Json(
        app.workflows().cancel(&caller, &id, input.reason).await?,
    ))
}

#[utoipa::path(get, path = "/v1/runs/{id}/events", tag = "audit",
    params(("id" = String, Path, max_length = 64)),
    responses((status = 200, description = "Oldest first", body = RunEventList), RoleForbidden, NotFound, ApiCall),
    security(("bearer" = [])))]
pub async fn events(
    State(app): State<App>,
    Authed(caller): Authed,
    Path(id): Path<String>,
) -> Result<Json<RunEventList>, Problem> {
    Ok(Json(RunEventList {
        items: app.workflows().events(&caller, &id).await?,
    }))
}

#[utoipa::path(get, path = "/v1/runs/{id}/events/verify", tag = "audit",
    params(("id" = String, Path, max_length = 64)),
    responses((status = 200, description = "`valid` says whether the chain holds", body = RunVerification),
        RoleForbidden, NotFound, ApiCall),
    security(("bearer" = [])))]
pub async fn verify(
    State(app): State<App>,
    Authed(caller): Authed,
    Path(id): Path<String>,
) -> Result<Json<RunVerification>, Problem> {
    Ok(Json(app.workflows().verify(&caller, &id).await?))
}
