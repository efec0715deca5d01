//! Concurrent deciders: exactly one wins, everyone else is told the state that won.

use greenlight_tests::{Backend, approval_body, on_every_store, spawn_app};
use serde_json::json;

const DECIDERS: usize = 50;

async fn fifty_concurrent_decisions_have_one_winner(backend: Backend) {
    let app = spawn_app(backend).await;
    // Fifty approvers, each deciding on its own through the admin key on its behalf.
    let mut body = approval_body();
    body["approvers"] = (0..DECIDERS)
        .map(|i| json!({"id": format!("approver-{i}"), "channel": "email", "recipient": format!("approver-{i}@example.com")}))
        .collect();
    for round in 0..3 {
        let id = app.create(&body).await;
        let mut handles = Vec::new();
        for i in 0..DECIDERS {
            let (http, base, key, id) = (
                app.http.clone(),
                app.base.clone(),
                app.admin_key.clone(),
                id.clone(),
            );
            handles.push(tokio::spawn(async move {
                let decision = if i % 2 == 0 { "approved" } else { "rejected" };
                let res = http
                    .post(format!("{base}/v1/approvals/{id}/decision"))
                    .bearer_auth(key)
                    .json(&json!({"decision": decision, "respondedBy": format!("approver-{i}")}))
                    .send()
                    .await
                    .unwrap();
                (
                    res.status().as_u16(),
                    res.json::<serde_json::Value>().await.unwrap(),
                )
            }));
        }
        let mut winners = Vec::new();
        let mut losers = Vec::new();
        for h in handles {
            let (status, body) = h.await.unwrap();
            match status {
                200 => winners.push(body),
                409 => losers.push(body),
                other => panic!("round {round}: unexpected {other}: {body}"),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: exactly one winner");
        assert_eq!(losers.len(), DECIDERS - 1);
        let won = &winners[0];
        for l in &losers {
            assert_eq!(
                l["current"]["decision"], won["decision"],
                "losers see the winning decision"
            );
            assert_eq!(l["current"]["version"], 2);
        }
        let events = app.events(&id).await;
        assert_eq!(events.len(), 2, "round {round}: one creation, one decision");
        assert_eq!(
            events[1]["data"]["respondedBy"],
            won["decision"]["respondedBy"]
        );
        assert!(events[1]["actor"].as_str().unwrap().starts_with("api-key:"));
        let verify = app.get(&format!("/v1/approvals/{id}/events/verify")).await;
        assert_eq!(verify.body["valid"], true);
    }
    app.shutdown().await;
}

async fn a_decision_racing_cancel_and_timeout_has_one_outcome(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut body = approval_body();
    body["timeoutSeconds"] = json!(1);
    for _ in 0..20 {
        let id = app.create(&body).await;
        app.clock.advance(chrono::Duration::milliseconds(999));
        let (approve, empty) = (json!({"decision": "approved"}), json!({}));
        let cancel_path = format!("/v1/approvals/{id}/cancel");
        let decide = app.decide(&id, &approve);
        let cancel = app.post(&cancel_path, &empty);
        let expire = async {
            app.clock.advance(chrono::Duration::milliseconds(1));
            app.drain_jobs().await
        };
        let (d, c, _) = tokio::join!(decide, cancel, expire);
        let state = app.get(&format!("/v1/approvals/{id}")).await.body;
        let events = app.events(&id).await;
        assert_eq!(events.len(), 2, "one terminal event: {events:?}");
        let won = [d.status, c.status].iter().filter(|s| **s == 200).count();
        let status = state["status"].as_str().unwrap();
        match status {
            "APPROVED" | "CANCELLED" => assert_eq!(won, 1, "{d:?} {c:?}", d = d.body, c = c.body),
            "TIMEOUT" => assert_eq!(won, 0),
            other => panic!("unexpected {other}"),
        }
    }
    app.shutdown().await;
}

on_every_store!(
    fifty_concurrent_decisions_have_one_winner,
    a_decision_racing_cancel_and_timeout_has_one_outcome,
);
