//! The event log: replay rebuilds the row; tampering is detected.

use greenlight::domain::event::replay;
use greenlight::ports::ApprovalStore;
use greenlight_tests::{Backend, TestApp, approval_body, on_both_stores, spawn_app};
use serde_json::json;

async fn a_full_life(app: &TestApp) -> String {
    let id = app.create(&approval_body()).await;
    app.clock.advance(chrono::Duration::seconds(30));
    app.decide(
        &id,
        &json!({"decision": "modified", "responseData": {"amount": 50}, "feedback": "ok at 50"}),
    )
    .await;
    app.post(
        &format!("/v1/approvals/{id}/execution"),
        &json!({"status": "started"}),
    )
    .await;
    app.post(
        &format!("/v1/approvals/{id}/execution"),
        &json!({"status": "failed", "error": "bank down"}),
    )
    .await;
    id
}

async fn replaying_the_events_rebuilds_the_stored_row(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = a_full_life(&app).await;
    let store: &dyn ApprovalStore = app.stores.approvals.as_ref();
    let row = store.get("default", &id).await.unwrap().unwrap();
    let events = store.events("default", &id).await.unwrap();
    assert_eq!(events.len(), 4);
    let rebuilt = replay(&events).unwrap();
    assert_eq!(rebuilt, row.approval);
    for (i, e) in events.iter().enumerate() {
        let partial = replay(&events[..=i]).unwrap();
        assert_eq!(
            serde_json::to_value(&partial).unwrap(),
            e.snapshot,
            "snapshot {}",
            e.seq
        );
    }
    assert_eq!(row.approval.status.as_str(), "FAILED");
    app.shutdown().await;
}

/// Lives a request's whole life, runs `sql` (one row, `$1` = the request's id) behind
/// the application's back, and returns what verification then says.
async fn verify_after_tampering(backend: Backend, sql: &str) -> serde_json::Value {
    let app = spawn_app(backend).await;
    let id = a_full_life(&app).await;
    let path = format!("/v1/approvals/{id}/events/verify");
    assert_eq!(app.get(&path).await.body["valid"], true);
    assert_eq!(
        app.execute_sql(sql, &id).await,
        1,
        "the tampering hit one row"
    );
    let verdict = app.get(&path).await.body;
    app.shutdown().await;
    verdict
}

async fn editing_history_breaks_verification(backend: Backend) {
    // Someone rewrites who decided, keeping everything else.
    let sql = "UPDATE approval_events SET actor = 'mallory' WHERE approval_id = $1 AND seq = 2";
    let v = verify_after_tampering(backend, sql).await;
    assert_eq!(v["valid"], false, "{v}");
    assert_eq!(v["brokenAt"], 2);
}

async fn removing_the_last_event_breaks_verification(backend: Backend) {
    let sql = "DELETE FROM approval_events WHERE approval_id = $1 AND seq = 4";
    let v = verify_after_tampering(backend, sql).await;
    assert_eq!(v["valid"], false, "{v}");
    assert_eq!(v["replayMatchesState"], false);
}

async fn editing_the_stored_state_breaks_verification(backend: Backend) {
    let sql = match backend {
        Backend::Postgres => {
            "UPDATE approvals SET state = jsonb_set(state, '{status}', '\"COMPLETED\"') WHERE id = $1"
        }
        Backend::Sqlite => {
            "UPDATE approvals SET state = json_set(state, '$.status', 'COMPLETED') WHERE id = $1"
        }
    };
    let v = verify_after_tampering(backend, sql).await;
    assert_eq!(v["valid"], false, "{v}");
    assert_eq!(v["replayMatchesState"], false);
}

on_both_stores!(
    replaying_the_events_rebuilds_the_stored_row,
    editing_history_breaks_verification,
    removing_the_last_event_breaks_verification,
    editing_the_stored_state_breaks_verification,
);
