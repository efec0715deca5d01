//! Workflows for admins: the list, a version's DAG, the runs, and a run's page with
//! each step's status, attempts, timing and output, drawn on the DAG and updated live
//! from the run's events on the stream.

use super::dag::{self, Edge, Node};
use super::*;
use crate::app::workflows::RunPageRequest;
use crate::domain::workflow::{Definition, Run, RunStatus, StepState};

/// What a run page listens for on the stream (SSE names events by type).
const RUN_EVENT_TYPES: [&str; 14] = [
    "run.started",
    "run.waiting",
    "run.succeeded",
    "run.failed",
    "run.cancelled",
    "step.started",
    "step.succeeded",
    "step.failed",
    "step.retrying",
    "step.skipped",
    "compensation.started",
    "compensation.step.ended",
    "compensation.completed",
    "compensation.failed",
];

fn when(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map_or_else(String::new, |t| {
        t.format("%Y-%m-%d %H:%M:%S%.3f UTC").to_string()
    })
}

fn pretty(v: &Option<serde_json::Value>) -> Option<String> {
    v.as_ref()
        .map(|v| serde_json::to_string_pretty(v).unwrap_or_default())
}

/// The definition's graph, each step with its status in `run` when there is one.
fn drawing(def: &Definition, run: Option<&Run>) -> dag::Layout {
    let nodes: Vec<Node> = def
        .steps
        .iter()
        .map(|s| Node {
            key: s.key.clone(),
            kind: s.kind.clone(),
            status: run
                .and_then(|r| r.step(&s.key))
                .map(|st| st.status.as_str().to_owned()),
        })
        .collect();
    let edges: Vec<Edge> = def
        .edges
        .iter()
        .map(|e| Edge {
            from: e.from.clone(),
            to: e.to.clone(),
            branch: e.branch.clone(),
        })
        .collect();
    dag::layout(&nodes, &edges)
}

#[derive(Serialize)]
struct RunRow {
    id: String,
    workflow_id: String,
    version: u32,
    status: &'static str,
    started: String,
    ended: String,
}

fn run_rows(runs: &[Run]) -> Vec<RunRow> {
    runs.iter()
        .map(|r| RunRow {
            id: r.id.clone(),
            workflow_id: r.workflow_id.clone(),
            version: r.version,
            status: r.status.as_str(),
            started: when(Some(r.created_at)),
            ended: when(r.ended_at),
        })
        .collect()
}

/// A page the caller's role may not see says so, with the status the API would give.
fn refusal(app: &App, account: &Account, e: AppError) -> Response {
    match e {
        AppError::Forbidden(reason) => page(
            StatusCode::FORBIDDEN,
            "dashboard/refused.html",
            minijinja::context! { reason, ..base(app, account, "Not for you") },
        ),
        AppError::NotFound(what) => page(
            StatusCode::NOT_FOUND,
            "dashboard/refused.html",
            minijinja::context! { reason => format!("No such {what}."), ..base(app, account, "Not found") },
        ),
        e => failure(e),
    }
}

pub(super) async fn workflows(State(app): State<App>, Signed(account): Signed) -> Response {
    let caller = account.caller();
    let flows = app.workflows();
    let (list, runs) = match tokio::try_join!(
        flows.list(&caller, None, Some(crate::app::MAX_PAGE)),
        flows.runs(
            &caller,
            RunPageRequest {
                limit: Some(20),
                ..Default::default()
            }
        ),
    ) {
        Ok(both) => both,
        Err(e) => return refusal(&app, &account, e),
    };
    let items: Vec<minijinja::Value> = list
        .items
        .iter()
        .map(|w| {
            minijinja::context! {
                id => w.id, name => w.name, description => w.description,
                active_version => w.active_version, latest_version => w.latest_version,
                enabled => w.enabled, updated => when(Some(w.updated_at)),
            }
        })
        .collect();
    page(
        StatusCode::OK,
        "dashboard/workflows.html",
        minijinja::context! {
            items, runs => run_rows(&runs.items),
            ..base(&app, &account, "Workflows")
        },
    )
}

#[derive(serde::Deserialize, Default)]
pub(super) struct VersionQuery {
    version: Option<u32>,
}

pub(super) async fn workflow(
    State(app): State<App>,
    Signed(account): Signed,
    Path(id): Path<String>,
    Query(q): Query<VersionQuery>,
) -> Response {
    let caller = account.caller();
    let flows = app.workflows();
    let detail = match flows.get(&caller, &id).await {
        Ok(d) => d,
        Err(e) => return refusal(&app, &account, e),
    };
    let shown = q.version.unwrap_or(detail.workflow.active_version);
    let (definition, runs) = match tokio::try_join!(
        async {
            if shown == detail.workflow.active_version {
                Ok(detail.definition.clone())
            } else {
                flows
                    .version(&caller, &id, shown)
                    .await
                    .map(|v| v.definition)
            }
        },
        flows.runs(
            &caller,
            RunPageRequest {
                workflow_id: Some(id.clone()),
                limit: Some(20),
                ..Default::default()
            }
        ),
    ) {
        Ok(both) => both,
        Err(e) => return refusal(&app, &account, e),
    };
    let w = &detail.workflow;
    let steps: Vec<minijinja::Value> = definition
        .steps
        .iter()
        .map(|s| {
            minijinja::context! {
                key => s.key, kind => s.kind,
                config => serde_json::to_string_pretty(&s.config).unwrap_or_default(),
                compensates => s.compensate.is_some(),
            }
        })
        .collect();
    page(
        StatusCode::OK,
        "dashboard/workflow.html",
        minijinja::context! {
            w => minijinja::context! {
                id => w.id, name => w.name, description => w.description,
                active_version => w.active_version, enabled => w.enabled,
            },
            shown, versions => (1..=w.latest_version).rev().collect::<Vec<u32>>(),
            dag => drawing(&definition, None), steps, runs => run_rows(&runs.items),
            ..base(&app, &account, &w.name)
        },
    )
}

#[derive(serde::Deserialize, Default)]
pub(super) struct RunsQuery {
    status: Option<String>,
}

pub(super) async fn runs(
    State(app): State<App>,
    Signed(account): Signed,
    Query(q): Query<RunsQuery>,
) -> Response {
    let status = q.status.as_deref().and_then(RunStatus::parse);
    let req = RunPageRequest {
        status,
        limit: Some(crate::app::MAX_PAGE),
        ..Default::default()
    };
    let runs = match app.workflows().runs(&account.caller(), req).await {
        Ok(p) => p.items,
        Err(e) => return refusal(&app, &account, e),
    };
    let statuses: Vec<&str> = std::iter::once("")
        .chain(RunStatus::ALL.iter().map(|s| s.as_str()))
        .collect();
    page(
        StatusCode::OK,
        "dashboard/runs.html",
        minijinja::context! {
            runs => run_rows(&runs), statuses, status => status.map_or("", |s| s.as_str()),
            ..base(&app, &account, "Runs")
        },
    )
}

fn step_view(s: &StepState) -> minijinja::Value {
    let took = match (s.started_at, s.ended_at) {
        (Some(a), Some(b)) => format!("{} ms", (b - a).num_milliseconds()),
        _ => String::new(),
    };
    minijinja::context! {
        key => s.key, kind => s.kind.as_str(), status => s.status.as_str(),
        attempts => s.attempts, started => when(s.started_at), took,
        output => pretty(&s.output), error => s.error, approval_id => s.approval_id,
    }
}

#[derive(serde::Deserialize, Default)]
pub(super) struct RunQuery {
    partial: Option<String>,
}

pub(super) async fn run(
    State(app): State<App>,
    Extension(live): live::Live,
    Signed(account): Signed,
    Path(id): Path<String>,
    Query(q): Query<RunQuery>,
) -> Response {
    let caller = account.caller();
    let flows = app.workflows();
    let run = match flows.run(&caller, &id).await {
        Ok(r) => r,
        Err(e) => return refusal(&app, &account, e),
    };
    let definition = match flows.version(&caller, &run.workflow_id, run.version).await {
        Ok(v) => v.definition,
        Err(e) => return refusal(&app, &account, e),
    };
    let compensation: Option<minijinja::Value> = run.compensation.as_ref().map(|c| {
        minijinja::context! {
            status => c.status,
            steps => c.steps.iter().map(|s| minijinja::context! {
                key => s.key, kind => s.kind.as_str(), status => s.status.as_str(),
                attempts => s.attempts, error => s.error,
            }).collect::<Vec<_>>(),
        }
    });
    let ctx = minijinja::context! {
        r => minijinja::context! {
            id => run.id, workflow_id => run.workflow_id, version => run.version,
            status => run.status.as_str(), started => when(Some(run.created_at)),
            ended => when(run.ended_at), error => run.error,
            input => serde_json::to_string_pretty(&run.input).unwrap_or_default(),
            output => pretty(&run.output),
        },
        dag => drawing(&definition, Some(&run)),
        steps => run.steps.iter().map(step_view).collect::<Vec<_>>(),
        compensation, terminal => run.status.is_terminal(),
        live => live::context(&live, Some(&run.id)),
        event_types => RUN_EVENT_TYPES,
        ..base(&app, &account, &format!("Run {}", run.id))
    };
    let name = if q.partial.is_some() {
        "dashboard/run_live.html"
    } else {
        "dashboard/run.html"
    };
    page(StatusCode::OK, name, ctx)
}
