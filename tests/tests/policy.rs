//! Policy over time, played out in local mode with a controlled clock: an escalation
//! ladder, reminders and a quorum; and the races that must have exactly one outcome.

use chrono::Duration;
use greenlight::app::TimerOutcome;
use greenlight::domain::TimerFired;
use greenlight::domain::TimerKind;
use greenlight_tests::{
    Backend, TestApp, approval_body, greenlight, on_both_stores, on_every_store, spawn_app,
};
use serde_json::{Value, json};

fn ladder_body() -> Value {
    let mut b = approval_body();
    b["approvers"] = json!([
        {"channel": "slack", "recipient": "U_ANN", "id": "ann"},
        {"channel": "email", "recipient": "ann@example.com", "id": "ann"},
        {"channel": "email", "recipient": "bob@example.com", "id": "bob"}
    ]);
    b["timeoutSeconds"] = json!(600);
    b["timeoutAction"] = json!("escalate");
    b["quorum"] = json!(2);
    b["requestedBy"] = json!("support-bot-owner@example.com");
    b["escalation"] = json!([
        {"approvers": [{"channel": "email", "recipient": "lead@example.com", "id": "lead"}], "timeoutSeconds": 300},
        {"approvers": [{"channel": "sms", "recipient": "+15550100", "id": "cfo"}], "timeoutSeconds": 120}
    ]);
    b["reminders"] = json!([{"afterSeconds": 60}, {"beforeExpirySeconds": 30}]);
    b.as_object_mut().unwrap().remove("uiSchema");
    b
}

/// A timer as the scheduler would hand it back.
fn timer(approval_id: &str, kind: TimerKind, level: u32) -> TimerFired {
    TimerFired {
        tenant_id: "default".into(),
        approval_id: approval_id.to_owned(),
        kind,
        level,
        due_at: "2026-01-01T12:00:00Z".parse().unwrap(),
        expected_version: 1,
    }
}

async fn types(app: &TestApp, id: &str) -> Vec<String> {
    app.events(id)
        .await
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect()
}

async fn advance_and_drain(app: &TestApp, secs: i64) -> usize {
    app.clock.advance(Duration::seconds(secs));
    app.drain_jobs().await
}

async fn a_ladder_with_reminders_and_a_quorum_plays_out_as_configured(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.create(&ladder_body()).await;
    let path = format!("/v1/approvals/{id}");

    // Level 0: Ann votes twice (two channels, one person), a reminder reaches Bob only.
    let ann = app
        .decide(
            &id,
            &json!({"decision": "approved", "respondedBy": "U_ANN"}),
        )
        .await;
    assert_eq!(
        (ann.status, ann.body["status"].as_str()),
        (200, Some("PENDING")),
        "{}",
        ann.body
    );
    let again = app
        .decide(
            &id,
            &json!({"decision": "approved", "respondedBy": "ann@example.com"}),
        )
        .await;
    assert_eq!(again.status, 409, "Ann counts once: {}", again.body);
    assert_eq!(advance_and_drain(&app, 60).await, 1, "reminder after 60 s");
    let reminder = app.events(&id).await.last().cloned().unwrap();
    assert_eq!(reminder["type"], "approval.reminder.sent");
    assert_eq!(
        reminder["data"]["recipients"],
        json!([{"channel": "email", "recipient": "bob@example.com", "id": "bob"}])
    );
    assert_eq!(advance_and_drain(&app, 509).await, 0);
    assert_eq!(
        advance_and_drain(&app, 1).await,
        1,
        "reminder 30 s before the deadline"
    );
    assert_eq!(
        advance_and_drain(&app, 30).await,
        1,
        "the deadline escalates"
    );
    let a = app.get(&path).await.body;
    assert_eq!(
        (a["status"].as_str(), a["level"].as_u64()),
        (Some("PENDING"), Some(1))
    );
    assert_eq!(a["dueAt"], "2026-01-01T12:15:00Z");
    let stale = timer(&id, TimerKind::Expire, 0);
    let before = app.events(&id).await.len();
    let refused = app.app.approvals().fire_timer(&stale).await;
    assert!(matches!(refused, Ok(TimerOutcome::Stale)), "{refused:?}");
    assert_eq!(
        app.events(&id).await.len(),
        before,
        "a level-0 timer is stale at level 1"
    );

    // Level 1: the lead is silent; the ladder moves on.
    assert_eq!(
        advance_and_drain(&app, 60).await,
        1,
        "level 1's first reminder"
    );
    assert_eq!(
        advance_and_drain(&app, 240).await,
        2,
        "its second reminder, then its deadline"
    );
    let a = app.get(&path).await.body;
    assert_eq!(a["level"], 2);

    // Level 2: the CFO's vote completes the quorum with Ann's.
    let outsider = app
        .decide(
            &id,
            &json!({"decision": "approved", "respondedBy": "mallory"}),
        )
        .await;
    assert_eq!(outsider.status, 403);
    let cfo = app
        .decide(
            &id,
            &json!({"decision": "approved", "respondedBy": "+15550100"}),
        )
        .await;
    assert_eq!(cfo.body["status"], "APPROVED", "{}", cfo.body);
    assert_eq!(cfo.body["votes"].as_array().unwrap().len(), 2);
    assert_eq!(
        advance_and_drain(&app, 3600).await,
        0,
        "no timer outlives the decision"
    );
    assert_eq!(
        types(&app, &id).await,
        [
            "approval.created",
            "approval.voted",
            "approval.reminder.sent",
            "approval.reminder.sent",
            "approval.escalated",
            "approval.reminder.sent",
            "approval.reminder.sent",
            "approval.escalated",
            "approval.approved",
        ]
    );
    let verify = app.get(&format!("{path}/events/verify")).await.body;
    assert_eq!(verify["valid"], true, "{verify}");
    app.shutdown().await;
}

async fn the_last_level_applies_its_own_action(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut body = ladder_body();
    body["quorum"] = json!(1);
    body["escalation"][1]["timeoutAction"] = json!("approve");
    body.as_object_mut().unwrap().remove("reminders");
    let id = app.create(&body).await;
    assert_eq!(advance_and_drain(&app, 600).await, 1);
    assert_eq!(advance_and_drain(&app, 300).await, 1);
    assert_eq!(advance_and_drain(&app, 120).await, 1);
    let a = app.get(&format!("/v1/approvals/{id}")).await.body;
    assert_eq!(a["status"], "APPROVED");
    assert_eq!(a["decision"]["respondedBy"], "system:timeout");
    app.shutdown().await;
}

async fn the_requester_cannot_approve_and_bad_policies_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut body = approval_body();
    body["approvers"] = json!([{"channel": "email", "recipient": "ann@example.com"}]);
    body["requestedBy"] = json!("ann@example.com");
    let id = app.create(&body).await;
    let own = app
        .decide(
            &id,
            &json!({"decision": "approved", "respondedBy": "ann@example.com"}),
        )
        .await;
    assert_eq!(own.status, 403, "{}", own.body);
    let no = app
        .decide(
            &id,
            &json!({"decision": "rejected", "respondedBy": "ann@example.com"}),
        )
        .await;
    assert_eq!(no.status, 200, "the requester may still say no");

    let cases = [
        (json!({"quorum": 5}), "/quorum"),
        (json!({"rejectQuorum": 0}), "/rejectQuorum"),
        (
            json!({"escalation": [{"approvers": [], "timeoutSeconds": 10}]}),
            "/escalation",
        ),
        (
            json!({"reminders": [{"afterSeconds": 5, "beforeExpirySeconds": 5}]}),
            "/reminders/0",
        ),
    ];
    for (patch, field) in cases {
        let mut b = approval_body();
        for (k, v) in patch.as_object().unwrap() {
            b[k] = v.clone();
        }
        let r = app.post("/v1/approvals", &b).await;
        assert_eq!(r.status, 422, "{field}: {}", r.body);
        let fields: Vec<&str> = r.body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert!(fields.contains(&field), "{field} not in {fields:?}");
    }
    app.shutdown().await;
}

async fn two_votes_completing_a_quorum_together_decide_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut body = ladder_body();
    body["approvers"] = json!([
        {"channel": "email", "recipient": "a@example.com"},
        {"channel": "email", "recipient": "b@example.com"},
        {"channel": "email", "recipient": "c@example.com"}
    ]);
    for round in 0..20 {
        let id = app.create(&body).await;
        app.decide(
            &id,
            &json!({"decision": "approved", "respondedBy": "a@example.com"}),
        )
        .await;
        let b = json!({"decision": "approved", "respondedBy": "b@example.com"});
        let c = json!({"decision": "approved", "respondedBy": "c@example.com"});
        let (rb, rc) = tokio::join!(app.decide(&id, &b), app.decide(&id, &c));
        let won = [rb.status, rc.status];
        assert!(
            won.contains(&200) && won.contains(&409),
            "round {round}: {won:?}"
        );
        let approved = app
            .events(&id)
            .await
            .iter()
            .filter(|e| e["type"] == "approval.approved")
            .count();
        assert_eq!(approved, 1, "round {round}: decided once");
    }
    app.shutdown().await;
}

async fn a_timer_firing_twice_acts_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.create(&approval_body()).await;
    app.clock.advance(Duration::seconds(3600));
    let expire = timer(&id, TimerKind::Expire, 0);
    let approvals = app.app.approvals();
    let (a, b, c) = tokio::join!(
        approvals.fire_timer(&expire),
        approvals.fire_timer(&expire),
        app.drain_jobs()
    );
    let _ = (a, b, c);
    let mut body = ladder_body();
    body["timeoutAction"] = json!("reject");
    body.as_object_mut().unwrap().remove("escalation");
    let reminded = app.create(&body).await;
    let remind = timer(&reminded, TimerKind::Remind { index: 0 }, 0);
    let first = app.app.approvals().fire_timer(&remind).await;
    let second = app.app.approvals().fire_timer(&remind).await;
    assert!(
        matches!(first, Ok(TimerOutcome::Applied { .. })),
        "{first:?}"
    );
    assert!(matches!(second, Ok(TimerOutcome::Stale)), "{second:?}");
    let sent = app
        .events(&reminded)
        .await
        .iter()
        .filter(|e| e["type"] == "approval.reminder.sent")
        .count();
    assert_eq!(sent, 1, "a reminder is sent once");
    let timed_out = app
        .events(&id)
        .await
        .iter()
        .filter(|e| e["type"] == "approval.timed_out")
        .count();
    assert_eq!(timed_out, 1);
    assert_eq!(app.events(&id).await.len(), 2);
    app.shutdown().await;
}

async fn the_sweeper_finishes_what_a_lost_timer_left(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.create(&approval_body()).await;
    // The timer job is lost (as if the process died before it ran and the row was gone).
    app.execute_sql("DELETE FROM jobs WHERE approval_id = $1", &id)
        .await;
    app.clock.advance(Duration::seconds(3600));
    assert_eq!(app.drain_jobs().await, 0);
    assert_eq!(
        app.app
            .approvals()
            .sweep_overdue(Duration::seconds(5), 100)
            .await
            .unwrap(),
        0,
        "within grace"
    );
    app.clock.advance(Duration::seconds(5));
    assert_eq!(
        app.app
            .approvals()
            .sweep_overdue(Duration::seconds(5), 100)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        app.get(&format!("/v1/approvals/{id}")).await.body["status"],
        "TIMEOUT"
    );
    assert_eq!(
        app.app
            .approvals()
            .sweep_overdue(Duration::seconds(5), 100)
            .await
            .unwrap(),
        0
    );
    app.shutdown().await;
}

on_every_store!(
    a_ladder_with_reminders_and_a_quorum_plays_out_as_configured,
    the_last_level_applies_its_own_action,
    the_requester_cannot_approve_and_bad_policies_are_refused,
    two_votes_completing_a_quorum_together_decide_once,
    a_timer_firing_twice_acts_once,
);

// This one loses a timer in SQL.
on_both_stores!(the_sweeper_finishes_what_a_lost_timer_left,);
