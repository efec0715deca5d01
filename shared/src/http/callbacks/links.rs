//! The approval-link pages: `GET /a/{token}` shows the request and a form and decides
//! nothing (mail scanners open links); `POST /a/{token}` from that form decides, once.
//! `GET /s/{code}` is an SMS's short link to the same page.

use std::collections::HashMap;

use axum::extract::{Form, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Serialize;

use crate::app::messages::render;
use crate::app::messages::{FormAnswer, LinkPage, LinkRefused, LinkState};
use crate::app::{App, AppError};
use crate::domain::form::{self, FieldKind};
use crate::domain::protocol::link::LinkError;
use crate::domain::{Approval, FieldError};
use crate::templates;

#[derive(Serialize)]
pub(crate) struct FieldView {
    name: String,
    label: String,
    description: Option<String>,
    kind: &'static str,
    choices: Vec<String>,
    required: bool,
    value: String,
    error: Option<String>,
}

fn notice(page: &LinkPage) -> Option<String> {
    let outcome = render::outcome(&page.approval);
    let with = |lead: &str| match &outcome {
        Some(o) => format!("{lead} {o}."),
        None => lead.to_owned(),
    };
    match page.state {
        LinkState::Open => None,
        LinkState::Used if outcome.is_none() => {
            Some("Your answer is recorded; the request is waiting for other approvers.".into())
        }
        LinkState::Used => Some(with("You have answered this request.")),
        LinkState::Answered => Some(with("This request has already been answered.")),
        LinkState::Expired => Some(with("This link has expired.")),
        LinkState::MovedOn => Some(
            "This request has gone on to other approvers; this link no longer decides it.".into(),
        ),
    }
}

/// The `uiSchema` form of a request, with what was entered and the errors by field.
pub(crate) fn form_fields(
    a: &Approval,
    errors: &[FieldError],
    inputs: &HashMap<String, String>,
) -> Vec<FieldView> {
    a.spec
        .ui_schema
        .as_ref()
        .map(|schema| form::fields(schema, &a.spec.action_data))
        .unwrap_or_default()
        .into_iter()
        .map(|f| {
            let (kind, choices) = match f.kind {
                FieldKind::Text => ("text", Vec::new()),
                FieldKind::Integer => ("integer", Vec::new()),
                FieldKind::Number => ("number", Vec::new()),
                FieldKind::Boolean => ("boolean", Vec::new()),
                FieldKind::Choice(c) => ("choice", c),
            };
            let error = errors
                .iter()
                .find(|e| e.field == format!("/responseData/{}", f.name))
                .map(|e| e.message.clone());
            FieldView {
                value: inputs
                    .get(&f.name)
                    .cloned()
                    .or(f.current)
                    .unwrap_or_default(),
                name: f.name,
                label: f.label,
                description: f.description,
                kind,
                choices,
                required: f.required,
                error,
            }
        })
        .collect()
}

/// Errors as lines: a field's named by the field.
pub(crate) fn error_lines(errors: &[FieldError]) -> Vec<String> {
    errors
        .iter()
        .map(|e| match e.field.strip_prefix("/responseData/") {
            Some(field) => format!("{field}: {}", e.message),
            None => e.message.clone(),
        })
        .collect()
}

/// A form post's fields: `decision`, `feedback`, and `field.<name>` inputs.
pub(crate) fn parse_answer(form: &HashMap<String, String>) -> FormAnswer {
    FormAnswer {
        decision: form.get("decision").cloned().unwrap_or_default(),
        feedback: form.get("feedback").cloned(),
        fields: form
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix("field.")?.to_owned(), v.clone())))
            .collect(),
    }
}

fn render(page: &LinkPage, action: &str, feedback: &str) -> String {
    let a = &page.approval;
    let s = render::summary(a, None);
    let form_fields = form_fields(a, &page.errors, &page.inputs);
    let errors = error_lines(&page.errors);
    templates::render(
        "link.html",
        minijinja::context! {
            title => s.name.clone(), name => s.name, agent => s.agent,
            action_type => s.action_type, fields => s.fields, expires => s.expires,
            notice => notice(page), open => page.state == LinkState::Open,
            approver => page.approver, errors => errors, action => action,
            form_fields => form_fields, feedback => feedback,
        },
    )
}

/// A page for a link that is not one of ours, or a request that is gone.
fn refusal(e: LinkRefused) -> Response {
    let (status, text) = match &e {
        LinkRefused::Invalid(LinkError::Forged) => (
            StatusCode::FORBIDDEN,
            "This link was not issued by this Greenlight, or it was changed.",
        ),
        LinkRefused::Invalid(_) => (StatusCode::BAD_REQUEST, "This is not an approval link."),
        LinkRefused::App(AppError::NotFound(_)) => {
            (StatusCode::NOT_FOUND, "This request no longer exists.")
        }
        LinkRefused::App(err) => {
            tracing::error!(error = %crate::telemetry::error_chain(err), "an approval link failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "Greenlight cannot answer right now; please try again in a minute.",
            )
        }
    };
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Greenlight</title></head><body style=\"font-family: sans-serif; max-width: 40rem; \
         margin: 2rem auto; padding: 0 1rem;\"><h1>Greenlight</h1><p>{text}</p></body></html>"
    );
    (status, no_store(), Html(body)).into_response()
}

/// Pages carry a live token and a request's details: no caching, no referrer.
fn no_store() -> [(header::HeaderName, &'static str); 2] {
    [
        (header::CACHE_CONTROL, "no-store"),
        (header::REFERRER_POLICY, "no-referrer"),
    ]
}

pub async fn show(State(app): State<App>, Path(token): Path<String>) -> Response {
    match app.messages().open_link(&token).await {
        Ok(page) => (no_store(), Html(render(&page, &format!("/a/{token}"), ""))).into_response(),
        Err(e) => refusal(e),
    }
}

pub async fn answer(
    State(app): State<App>,
    Path(token): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let answer = parse_answer(&form);
    let feedback = answer.feedback.clone().unwrap_or_default();
    match app.messages().answer_link(&token, answer).await {
        Ok(page) => {
            let status = if page.errors.is_empty() {
                StatusCode::OK
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            let kept = if page.errors.is_empty() {
                ""
            } else {
                &feedback
            };
            let html = render(&page, &format!("/a/{token}"), kept);
            (status, no_store(), Html(html)).into_response()
        }
        Err(e) => refusal(e),
    }
}

pub async fn short(State(app): State<App>, Path(code): Path<String>) -> Response {
    match app.messages().expand_short_link(&code).await {
        Ok(Some(token)) => Redirect::to(&format!("/a/{token}")).into_response(),
        Ok(None) => refusal(LinkRefused::Invalid(LinkError::Malformed)),
        Err(e) => refusal(LinkRefused::App(e)),
    }
}
