//! A request's page: its timeline, messages and audit check, and the decide form.

use super::*;

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
    live: &LiveStream,
    a: &Approval,
    shown: Shown,
    status: StatusCode,
    partial: bool,
) -> Response {
    let caller = account.caller();
    let (approvals, messages) = (app.approvals(), app.messages());
    let (events, deliveries, verification) = match tokio::try_join!(
        approvals.read_events(&caller, &a.id),
        messages.of(&caller, &a.id),
        approvals.read_verification(&caller, &a.id),
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
        live => live::context(live, Some(&a.id)),
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
pub(super) struct PartialQuery {
    partial: Option<String>,
}

pub(super) async fn approval_page(
    State(app): State<App>,
    Extension(live): live::Live,
    Signed(account): Signed,
    Path(id): Path<String>,
    Query(q): Query<PartialQuery>,
) -> Response {
    match app.approvals().read(&account.caller(), &id).await {
        Ok(a) => {
            let shown = Shown {
                errors: Vec::new(),
                inputs: HashMap::new(),
                feedback: String::new(),
                message: None,
            };
            let partial = q.partial.is_some();
            render_approval(&app, &account, &live, &a, shown, StatusCode::OK, partial).await
        }
        Err(AppError::NotFound(_)) => (
            StatusCode::NOT_FOUND,
            Html("<!doctype html><title>Not found</title><p>No such request.</p><p><a href=\"/dashboard\">Inbox</a></p>"),
        )
            .into_response(),
        Err(e) => failure(e),
    }
}

pub(super) async fn decide(
    State(app): State<App>,
    Extension(live): live::Live,
    Signed(account): Signed,
    Path(id): Path<String>,
    Form(form): Form<Fields>,
) -> Response {
    if let Some(r) = refused(&app, &account, &form) {
        return r;
    }
    let answer = parse_answer(&form);
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
        return render_approval(
            &app,
            &account,
            &live,
            &current,
            shown,
            StatusCode::CONFLICT,
            false,
        )
        .await;
    }
    // Refused: the page again, with why, as the request now stands.
    let (now, status) = match app.messages().decide_as(&account, &id, &answer).await {
        Ok(_) => return Redirect::to(&format!("/dashboard/approvals/{id}")).into_response(),
        Err(AppError::Invalid(errors)) => {
            shown.errors = errors;
            (current, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(AppError::Forbidden(why)) => {
            shown.message = Some(format!("Nothing changed: {why}."));
            (current, StatusCode::FORBIDDEN)
        }
        Err(AppError::Conflict { current, message }) => {
            shown.message = Some(format!(
                "Nothing changed: {}.",
                render::outcome(&current).unwrap_or(message)
            ));
            shown.inputs.clear();
            (*current, StatusCode::CONFLICT)
        }
        Err(e) => return failure(e),
    };
    render_approval(&app, &account, &live, &now, shown, status, false).await
}
