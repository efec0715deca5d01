//! The inbox: pending requests first, filtered, newest first.

use super::*;

#[derive(serde::Deserialize, Default)]
pub(super) struct InboxQuery {
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

pub(super) async fn inbox(
    State(app): State<App>,
    Extension(live): live::Live,
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
    let mut items = match app.approvals().list_for(&account.caller(), req).await {
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
            sort, live => live::context(&live, None),
            ..ctx
        },
    )
}
