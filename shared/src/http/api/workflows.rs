//! `/v1/workflows`: definitions, their versions, and the runs of one workflow.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

use super::approvals::{idempotency_key, limit, query};
use super::runs::{RunListParams, list_runs};
use crate::app::workflows::{
    NewRun, NewVersion, NewWorkflow, WorkflowDetail, WorkflowPage, WorkflowPatch,
};
use crate::app::{App, AppError, RunPage};
use crate::domain::workflow::{Run, WorkflowVersion};
use crate::http::Problem;
use crate::http::extract::{Authed, JsonBody, OptionalJsonBody};
use crate::http::problem::{ApiCall, BadBody, BadQuery, NotFound, RoleForbidden, RunConflict};

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// `nextCursor` of the previous page, as it was given; empty is none.
    cursor: Option<String>,
    /// Default 50.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    limit: Option<String>,
}

fn created<T: Serialize>(body: &T, location: &str) -> Response {
    let mut res = (StatusCode::CREATED, Json(body)).into_response();
    if let Ok(loc) = HeaderValue::from_str(location) {
        res.headers_mut().insert(header::LOCATION, loc);
    }
    res
}

#[utoipa::path(post, path = "/v1/workflows", tag = "workflows",
    request_body = NewWorkflow,
    responses(
        (status = 201, description = "Created, with version 1 active", body = WorkflowDetail,
            headers(("Location" = String, description = "The workflow's URL"))),
        BadBody, RoleForbidden, ApiCall),
    security(("bearer" = [])))]
pub async fn create(
    State(app): State<App>,
    Authed(caller): Authed,
    JsonBody(input): JsonBody<NewWorkflow>,
) -> Result<Response, Problem> {
    let w = app.workflows().create(&caller, input).await?;
    Ok(created(&w, &format!("/v1/workflows/{}", w.workflow.id)))
}

#[utoipa::path(get, path = "/v1/workflows", tag = "workflows", params(PageParams),
    responses((status = 200, description = "Newest first", body = WorkflowPage), BadQuery, RoleForbidden, ApiCall),
    security(("bearer" = [])))]
pub async fn list(
    State(app): State<App>,
    Authed(caller): Authed,
    params: Result<Query<PageParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<WorkflowPage>, Problem> {
    let p = query(params)?;
    let limit = limit(p.limit.as_deref())?;
    let cursor = p.cursor.filter(|c| !c.is_empty());
    Ok(Json(
        app.workflows()
            .list(&caller, cursor.as_deref(), limit)
            .await?,
    ))
}

#[utoipa::path(get, path = "/v1/workflows/{id}", tag = "workflows",
    params(("id" = String, Path, max_length = 64)),
    responses((status = 200, description = "With its active definition", body = WorkflowDetail), RoleForbidden, NotFound, ApiCall),
    security(("bearer" = [])))]
pub async fn get(
    State(app): State<App>,
    Authed(caller): Authed,
    Path(id): Path<String>,
) -> Result<Json<WorkflowDetail>, Problem> {
    Ok(Json(app.workflows().get(&caller, &id).await?))
}

#[utoipa::path(patch, path = "/v1/workflows/{id}", tag = "workflows",
    params(("id" = String, Path, max_length = 64)), request_body = WorkflowPatch,
    responses((status = 200, body = WorkflowDetail), BadBody, RoleForbidden, NotFound, RunConflict, ApiCall),
    security(("bearer" = [])))]
pub async fn update(
    State(app): State<App>,
    Authed(caller): Authed,
    Path(id): Path<String>,
    JsonBody(patch): JsonBody<WorkflowPatch>,
) -> Result<Json<WorkflowDetail>, Problem> {
    Ok(Json(app.workflows().update(&caller, &id, patch).await?))
}

#[utoipa::path(delete, path = "/v1/workflows/{id}", tag = "workflows",
    params(("id" = String, Path, max_length = 64)),
    responses((status = 204, description = "Disabled and hidden; its runs stay readable"), RoleForbidden, NotFound, RunConflict, ApiCall),
    security(("bearer" = [])))]
pub async fn delete(
    State(app): State<App>,
    Authed(caller): Authed,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    app.workflows().delete(&caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/v1/workflows/{id}/versions", tag = "workflows",
    params(("id" = String, Path, max_length = 64)), request_body = NewVersion,
    responses(
        (status = 201, description = "The new version (`version`), immutable", body = WorkflowVersion,
            headers(("Location" = String, description = "The version's URL"))),
        BadBody, RoleForbidden, NotFound, RunConflict, ApiCall),
    security(("bearer" = [])))]
pub async fn add_version(
    State(app): State<App>,
    Authed(caller): Authed,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<NewVersion>,
) -> Result<Response, Problem> {
    let v = app.workflows().add_version(&caller, &id, input).await?;
    Ok(created(
        &v,
        &format!("/v1/workflows/{id}/versions/{}", v.version),
    ))
}

#[utoipa::path(get, path = "/v1/workflows/{id}/versions/{n}", tag = "workflows",
    params(("id" = String, Path, max_length = 64),
        ("n" = u32, Path, minimum = 1, maximum = 2147483647, description = "The version number")),
    responses((status = 200, body = WorkflowVersion), BadQuery, RoleForbidden, NotFound, ApiCall),
    security(("bearer" = [])))]
pub async fn version(
    State(app): State<App>,
    Authed(caller): Authed,
    Path((id, n)): Path<(String, String)>,
) -> Result<Json<WorkflowVersion>, Problem> {
    let n = n
        .parse::<u32>()
        .ok()
        .filter(|n| (1..=i32::MAX as u32).contains(n))
        .ok_or_else(|| AppError::invalid("n", "a version number from 1"))?;
    Ok(Json(app.workflows().version(&caller, &id, n).await?))
}

#[utoipa::path(post, path = "/v1/workflows/{id}/runs", tag = "workflows",
    params(("id" = String, Path, max_length = 64),
        ("Idempotency-Key" = Option<String>, Header, nullable = false,
        max_length = 255, pattern = "^[!-~]([ -~]*[!-~])?$",
        description = "Same key and body → the same run, nothing new started; same key, other body → 422.")),
    request_body(content = Option<NewRun>, description = "`{input}`; no body is an empty input"),
    responses(
        (status = 201, description = "Started on the active version (or replayed: header Idempotent-Replayed: true)", body = Run,
            headers(("Location" = String, description = "The run's URL"),
                ("Idempotent-Replayed" = String, description = "`true` when this answer is a replay"))),
        BadBody, RoleForbidden, NotFound, RunConflict, ApiCall),
    security(("bearer" = [])))]
pub async fn start(
    State(app): State<App>,
    Authed(caller): Authed,
    Path(id): Path<String>,
    headers: HeaderMap,
    OptionalJsonBody(input): OptionalJsonBody<NewRun>,
) -> Result<Response, Problem> {
    let key = idempotency_key(&headers)?;
    let (run, replayed) = app.workflows().start(&caller, &id, input, key).await?;
    let mut res = created(&run, &format!("/v1/runs/{}", run.id));
    if replayed {
        res.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(res)
}

#[utoipa::path(get, path = "/v1/workflows/{id}/runs", tag = "workflows",
    params(("id" = String, Path, max_length = 64), RunListParams),
    responses((status = 200, description = "Newest first", body = RunPage), BadQuery, RoleForbidden, NotFound, ApiCall),
    security(("bearer" = [])))]
pub async fn runs(
    State(app): State<App>,
    Authed(caller): Authed,
    Path(id): Path<String>,
    params: Result<Query<RunListParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<RunPage>, Problem> {
    app.workflows().exists(&caller, &id).await?;
    list_runs(&app, &caller, Some(id), query(params)?).await
}
