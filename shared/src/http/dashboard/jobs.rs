//! The admin's read-only page of buried jobs: what will not be retried, and why.

use super::*;

/// How many buried jobs the page shows.
const SHOWN: u32 = 100;

pub(super) async fn buried(State(app): State<App>, Signed(account): Signed) -> Response {
    let jobs = match app.buried_jobs(&account, SHOWN).await {
        Ok(jobs) => jobs,
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
    let jobs: Vec<minijinja::Value> = jobs
        .into_iter()
        .map(|j| {
            minijinja::context! {
                kind => j.kind, error => j.last_error, attempts => j.attempts,
                max_attempts => j.max_attempts, when => render::time(j.run_at),
                approval_id => j.approval_id,
            }
        })
        .collect();
    page(
        StatusCode::OK,
        "dashboard/jobs.html",
        minijinja::context! { jobs, limit => SHOWN, ..base(&app, &account, "Buried jobs") },
    )
}
