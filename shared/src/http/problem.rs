//! Errors as RFC 9457 `application/problem+json`. The one place an error becomes a
//! status; causes are logged here and never sent to clients.

use std::collections::BTreeMap;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::openapi::{self, ContentBuilder, RefOr, ResponseBuilder};
use utoipa::{IntoResponses, ToSchema};

use crate::app::AppError;
use crate::domain::{Approval, FieldError, Quota, Verdict};

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    /// A URN naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Each field at fault, as a JSON Pointer into the request body (or a parameter name).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// On 409: the request as it is now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<Box<Approval>>,
    /// On 429: the quota and when to come back, sent as headers.
    #[serde(skip)]
    #[schema(ignore)]
    pub limited: Option<Box<(Quota, Verdict)>>,
}

impl Problem {
    pub fn new(status: StatusCode, kind: &str, title: &str, detail: impl Into<String>) -> Self {
        Self {
            kind: format!("urn:greenlight:problem:{kind}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
            current: None,
            limited: None,
        }
    }

    pub fn invalid(errors: Vec<FieldError>) -> Self {
        let detail = errors
            .iter()
            .map(|e| {
                if e.field.is_empty() {
                    e.message.clone()
                } else {
                    format!("{}: {}", e.field, e.message)
                }
            })
            .collect::<Vec<_>>()
            .join("; ");
        Self {
            errors,
            ..Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-input",
                "The request is not valid",
                detail,
            )
        }
    }

    pub fn bad_request(
        kind: &str,
        title: &str,
        detail: impl Into<String>,
        field: Option<String>,
    ) -> Self {
        let detail = detail.into();
        Self {
            errors: field
                .map(|f| vec![FieldError::new(f, detail.clone())])
                .unwrap_or_default(),
            ..Self::new(StatusCode::BAD_REQUEST, kind, title, detail)
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut res = (status, axum::Json(&self)).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if status == StatusCode::UNAUTHORIZED {
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some((quota, verdict)) = self.limited.as_deref() {
            let headers = res.headers_mut();
            let value = |v: String| HeaderValue::from_str(&v).expect("quota names are ASCII");
            headers.insert(header::RETRY_AFTER, verdict.reset_seconds.into());
            headers.insert("ratelimit-policy", value(quota.policy_header()));
            headers.insert("ratelimit", value(verdict.header(quota)));
        }
        res
    }
}

impl From<AppError> for Problem {
    fn from(e: AppError) -> Self {
        match e {
            AppError::NotFound(what) => Problem::new(
                StatusCode::NOT_FOUND,
                "not-found",
                "Not found",
                format!("{what} not found"),
            ),
            AppError::Invalid(errors) => Problem::invalid(errors),
            AppError::Conflict { message, current } => Problem {
                current: Some(current),
                ..Problem::new(
                    StatusCode::CONFLICT,
                    "conflict",
                    "Conflict with the request's state",
                    message,
                )
            },
            AppError::RunConflict(message) => Problem::new(
                StatusCode::CONFLICT,
                "conflict",
                "Conflict with the workflow's or run's state",
                message,
            ),
            AppError::IdempotencyKeyReused => Problem {
                errors: vec![FieldError::new(
                    "Idempotency-Key",
                    "was already used with a different request body",
                )],
                ..Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "idempotency-key-reused",
                    "Idempotency-Key reused",
                    "this Idempotency-Key was already used with a different request body",
                )
            },
            AppError::NotDue(at) => Problem::new(
                StatusCode::CONFLICT,
                "not-due",
                "Not due",
                format!("not due before {at}"),
            ),
            AppError::Forbidden(why) => {
                Problem::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden", why)
            }
            AppError::RateLimited { quota, verdict } => Problem {
                limited: Some(Box::new((quota, verdict))),
                ..Problem::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate-limited",
                    "Too many requests",
                    format!(
                        "more than {} in {} seconds ({}); try again in {} s",
                        quota.limit, quota.window_seconds, quota.name, verdict.reset_seconds
                    ),
                )
            },
            AppError::Unauthorized => Problem::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Unauthorized",
                "send a valid API key as `Authorization: Bearer <key>`",
            ),
            AppError::Store(_) | AppError::Scheduler(_) | AppError::Relay(_) => {
                tracing::error!(error = %crate::telemetry::error_chain(&e), "internal failure");
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "Internal error",
                    "the request could not be completed; it is safe to retry",
                )
            }
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        Problem::from(self).into_response()
    }
}

/// The media type of every error answer.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// The OpenAPI answers of problems, declared once: a route lists the sets it can answer
/// (`responses((status = 200, body = Approval), NotFound, ApiCall)`), so the document
/// names each status with its media type exactly as `IntoResponse for Problem` sends it.
fn problems(answers: &[(u16, &str)]) -> BTreeMap<String, RefOr<openapi::Response>> {
    answers
        .iter()
        .map(|(status, description)| {
            let content = ContentBuilder::new()
                .schema(Some(RefOr::Ref(openapi::Ref::from_schema_name("Problem"))))
                .build();
            let response = ResponseBuilder::new()
                .description(*description)
                .content(PROBLEM_JSON, content)
                .build();
            (status.to_string(), RefOr::T(response))
        })
        .collect()
}

/// What any call with an API key may answer.
pub struct ApiCall;

impl IntoResponses for ApiCall {
    fn responses() -> BTreeMap<String, RefOr<openapi::Response>> {
        problems(&[
            (401, "Missing or unknown API key"),
            (
                429,
                "Past the key's or the tenant's rate limit; `Retry-After` says when to come back",
            ),
            (
                500,
                "The store failed; nothing was changed and it is safe to retry",
            ),
        ])
    }
}

/// What a call with a JSON body may answer about the body.
pub struct BadBody;

impl IntoResponses for BadBody {
    fn responses() -> BTreeMap<String, RefOr<openapi::Response>> {
        problems(&[
            (400, "The body is missing or is not JSON"),
            (413, "The body is over 256 KiB"),
            (415, "The body is not sent as application/json"),
            (
                422,
                "The input is not valid; `errors` names each field at fault (a JSON Pointer into the body, or a header's name)",
            ),
        ])
    }
}

/// What a call with query parameters may answer about them.
pub struct BadQuery;

impl IntoResponses for BadQuery {
    fn responses() -> BTreeMap<String, RefOr<openapi::Response>> {
        problems(&[
            (
                400,
                "The query string cannot be read (a parameter given twice)",
            ),
            (422, "A parameter is not valid; `errors` names it"),
        ])
    }
}

pub struct NotFound;

impl IntoResponses for NotFound {
    fn responses() -> BTreeMap<String, RefOr<openapi::Response>> {
        problems(&[(404, "No such resource for this tenant")])
    }
}

/// What a decision may answer when the caller may not decide.
pub struct Forbidden;

impl IntoResponses for Forbidden {
    fn responses() -> BTreeMap<String, RefOr<openapi::Response>> {
        problems(&[(
            403,
            "Not a named approver's decision: an agent key; an approver key naming someone else in `respondedBy`; an admin key not naming an approver of the current level; or the requester approving their own request. Nothing is written",
        )])
    }
}

/// What a call may answer when the key's role does not allow it.
pub struct RoleForbidden;

impl IntoResponses for RoleForbidden {
    fn responses() -> BTreeMap<String, RefOr<openapi::Response>> {
        problems(&[(
            403,
            "The key's role does not allow this call (see the roles: agent, approver, admin); nothing is done",
        )])
    }
}

/// What a change of a request's state may answer when the state does not allow it.
pub struct Conflict;

impl IntoResponses for Conflict {
    fn responses() -> BTreeMap<String, RefOr<openapi::Response>> {
        problems(&[(
            409,
            "The request's state does not allow this (already decided, expired, or another change won); `current` holds the request as it is now",
        )])
    }
}

/// What a change of a workflow or run may answer when its state does not allow it.
pub struct RunConflict;

impl IntoResponses for RunConflict {
    fn responses() -> BTreeMap<String, RefOr<openapi::Response>> {
        problems(&[(
            409,
            "The workflow's or run's state does not allow this (a disabled workflow, a run that has ended, or other changes kept winning)",
        )])
    }
}

pub async fn not_found() -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "not-found",
        "Not found",
        "no such route",
    )
}

pub async fn method_not_allowed() -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "Method not allowed",
        "this route does not take that method",
    )
}
