//! The event log: replay rebuilds the row; tampering is detected.

use greenlight::domain::chain::{self, ChainScheme};
use greenlight::domain::event::replay;
use greenlight::ports::ApprovalStore;
use greenlight::run::config::LocalConfig;
use greenlight_tests::{
    Backend, TestApp, approval_body, on_both_stores, on_every_store, spawn_app,
};
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
        Backend::Dynamo => unreachable!("a SQL-only test"),
    };
    let v = verify_after_tampering(backend, sql).await;
    assert_eq!(v["valid"], false, "{v}");
    assert_eq!(v["replayMatchesState"], false);
}

/// Rewrites the request's history as someone with the database but not the audit key
/// would: every hash recomputed and relinked, the row's head moved to match. `edit`
/// changes each event first; returns what verification then says.
async fn rewrite_history(
    app: &TestApp,
    id: &str,
    edit: impl Fn(&mut greenlight::domain::Event),
) -> serde_json::Value {
    let mut events = app.stores.approvals.events("default", id).await.unwrap();
    let mut prev = chain::GENESIS_HASH.to_owned();
    for e in &mut events {
        edit(e);
        e.prev_hash = prev.clone();
        e.hash = chain::hash_event("default", e);
        prev = e.hash.clone();
        // Only values this test made go into the text: hex hashes and small numbers.
        let sql = format!(
            "UPDATE approval_events SET actor = '{}', scheme = {}, prev_hash = '{}', hash = '{}' \
             WHERE approval_id = $1 AND seq = {}",
            e.actor,
            e.scheme.number(),
            e.prev_hash,
            e.hash,
            e.seq
        );
        assert_eq!(app.execute_sql(&sql, id).await, 1);
    }
    let sql = format!("UPDATE approvals SET last_event_hash = '{prev}' WHERE id = $1");
    assert_eq!(app.execute_sql(&sql, id).await, 1);
    app.get(&format!("/v1/approvals/{id}/events/verify"))
        .await
        .body
}

async fn a_history_rewritten_in_the_database_fails_the_seal(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = a_full_life(&app).await;
    let v = app
        .get(&format!("/v1/approvals/{id}/events/verify"))
        .await
        .body;
    assert_eq!(
        (v["valid"].clone(), v["sealed"].clone()),
        (json!(true), json!(true)),
        "{v}"
    );
    let v = rewrite_history(&app, &id, |e| {
        if e.seq == 2 {
            e.actor = "mallory".into();
        }
    })
    .await;
    assert_eq!(v["valid"], false, "{v}");
    assert_eq!(v["brokenAt"], 4);
    assert!(v["reason"].as_str().unwrap().contains("seal"), "{v}");
    // Nor does removing the seal help: tenanted events are always sealed.
    app.execute_sql("UPDATE approvals SET head_seal = NULL WHERE id = $1", &id)
        .await;
    let v = app
        .get(&format!("/v1/approvals/{id}/events/verify"))
        .await
        .body;
    assert_eq!(v["valid"], false, "{v}");
    assert!(v["reason"].as_str().unwrap().contains("missing"), "{v}");
    app.shutdown().await;
}

async fn history_written_before_seals_still_verifies(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.create(&approval_body()).await;
    let decided = app.decide(&id, &json!({"decision": "approved"})).await;
    assert_eq!(decided.status, 200, "{}", decided.body);
    // As 0009 found it: hashes without the tenant, and no seal.
    app.execute_sql("UPDATE approvals SET head_seal = NULL WHERE id = $1", &id)
        .await;
    let v = rewrite_history(&app, &id, |e| e.scheme = ChainScheme::Untenanted).await;
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["sealed"], false, "{v}");
    // The next change is hashed under the new scheme on the old links, and sealed.
    let started = app
        .post(
            &format!("/v1/approvals/{id}/execution"),
            &json!({"status": "started"}),
        )
        .await;
    assert_eq!(started.status, 200, "{}", started.body);
    let v = app
        .get(&format!("/v1/approvals/{id}/events/verify"))
        .await
        .body;
    assert_eq!(
        (v["valid"].clone(), v["sealed"].clone()),
        (json!(true), json!(true)),
        "{v}"
    );
    app.shutdown().await;
}

#[test]
fn the_local_audit_key_is_made_once_and_kept_outside_the_database() {
    let dir = std::env::temp_dir().join(format!("greenlight-audit-{}", uuid::Uuid::new_v4()));
    let file = dir.join(".greenlight/audit.key");
    let config = |key: Option<&str>| {
        let file = file.display().to_string();
        let key = key.map(str::to_owned);
        LocalConfig::from_lookup(move |k| match k {
            "GREENLIGHT_AUDIT_KEY_FILE" => Some(file.clone()),
            "GREENLIGHT_AUDIT_KEY" => key.clone(),
            _ => None,
        })
        .unwrap()
    };
    let first = greenlight::run::local::audit_key(&config(None)).unwrap();
    assert_eq!(first.len(), 64);
    let again = greenlight::run::local::audit_key(&config(None)).unwrap();
    assert_eq!(first, again, "a restart keeps the key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "readable by its owner only");
    }
    let given = greenlight::run::local::audit_key(&config(Some("a-key-from-the-env"))).unwrap();
    assert_eq!(&*given, b"a-key-from-the-env");
    std::fs::remove_dir_all(dir).unwrap();
}

on_every_store!(replaying_the_events_rebuilds_the_stored_row,);

// These tamper with the database in SQL.
on_both_stores!(
    a_history_rewritten_in_the_database_fails_the_seal,
    history_written_before_seals_still_verifies,
    editing_history_breaks_verification,
    removing_the_last_event_breaks_verification,
    editing_the_stored_state_breaks_verification,
);
