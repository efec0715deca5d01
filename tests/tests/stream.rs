//! The live stream: Server-Sent Events at /v1/stream, filtered, and resumed from the
//! event log with Last-Event-ID.

use std::time::Duration;

use futures_util::StreamExt;
use greenlight_tests::{Backend, TestApp, approval_body, on_every_store, spawn_app};
use serde_json::{Value, json};

#[derive(Debug)]
struct Message {
    id: String,
    event: String,
    data: Value,
}

struct Stream {
    bytes:
        std::pin::Pin<Box<dyn futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>,
    buffer: String,
}

impl Stream {
    async fn open(app: &TestApp, query: &str, last_event_id: Option<&str>) -> Self {
        let mut req = app
            .http
            .get(format!("{}/v1/stream{query}", app.base))
            .bearer_auth(&app.key);
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id);
        }
        let res = req.send().await.expect("stream");
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "text/event-stream");
        Self {
            bytes: Box::pin(res.bytes_stream()),
            buffer: String::new(),
        }
    }

    /// The next message, skipping keep-alive comments; `None` after 3 s of nothing.
    async fn next(&mut self) -> Option<Message> {
        self.next_within(Duration::from_secs(3)).await
    }

    async fn next_within(&mut self, patience: Duration) -> Option<Message> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let frame: String = self.buffer.drain(..end + 2).collect();
                let (mut id, mut event, mut data) = (String::new(), String::new(), String::new());
                for line in frame.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        id = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("event:") {
                        event = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if data.is_empty() {
                    continue;
                }
                return Some(Message {
                    id,
                    event,
                    data: serde_json::from_str(&data).expect("JSON data"),
                });
            }
            match tokio::time::timeout(patience, self.bytes.next()).await {
                Ok(Some(Ok(chunk))) => self.buffer.push_str(&String::from_utf8_lossy(&chunk)),
                _ => return None,
            }
        }
    }
}

async fn a_client_sees_events_live_and_resumes_where_it_left_off(backend: Backend) {
    let app = spawn_app(backend).await;
    let before = app.create(&approval_body()).await;
    let mut live = Stream::open(&app, "", None).await;
    let a = app.create(&approval_body()).await;
    let created = live.next().await.expect("created");
    assert_eq!(created.event, "approval.created");
    assert_eq!(
        created.data["data"]["event"]["approvalId"],
        json!(a),
        "only what happens after connecting"
    );
    app.decide(&a, &json!({"decision": "approved"})).await;
    let approved = live.next().await.expect("approved");
    assert_eq!(approved.event, "approval.approved");
    assert_eq!(approved.data["data"]["approval"]["status"], "APPROVED");
    assert_eq!(approved.data["type"], "approval.approved");
    drop(live);

    // Offline: more happens.
    let b = app.create(&approval_body()).await;
    app.post(
        &format!("/v1/approvals/{b}/cancel"),
        &json!({"reason": "changed my mind"}),
    )
    .await;
    app.decide(&before, &json!({"decision": "rejected"})).await;

    let mut resumed = Stream::open(&app, "", Some(&approved.id)).await;
    let mut seen = Vec::new();
    while let Some(m) = resumed.next().await {
        seen.push((
            m.data["data"]["event"]["approvalId"]
                .as_str()
                .unwrap()
                .to_owned(),
            m.event,
        ));
        if seen.len() == 3 {
            break;
        }
    }
    assert_eq!(
        seen,
        [
            (b.clone(), "approval.created".to_owned()),
            (b.clone(), "approval.cancelled".to_owned()),
            (before.clone(), "approval.rejected".to_owned()),
        ]
    );
    app.shutdown().await;
}

async fn filters_narrow_the_stream(backend: Backend) {
    let app = spawn_app(backend).await;
    let a = app.create(&approval_body()).await;
    let mut other = approval_body();
    other["agentId"] = json!("deploy-bot");
    let b = app.create(&other).await;
    let mut by_request = Stream::open(&app, &format!("?approvalId={b}&lastEventId=0"), None).await;
    let mut by_agent = Stream::open(&app, "?agentId=support-bot&lastEventId=0", None).await;
    let mut by_type = Stream::open(
        &app,
        "?types=approval.approved,execution.*&lastEventId=0",
        None,
    )
    .await;
    app.decide(&a, &json!({"decision": "approved"})).await;
    app.decide(&b, &json!({"decision": "rejected"})).await;

    let r1 = by_request.next().await.unwrap();
    let r2 = by_request.next().await.unwrap();
    assert_eq!(
        (r1.event.as_str(), r2.event.as_str()),
        ("approval.created", "approval.rejected")
    );
    let s1 = by_agent.next().await.unwrap();
    let s2 = by_agent.next().await.unwrap();
    assert_eq!(
        (s1.event.as_str(), s2.event.as_str()),
        ("approval.created", "approval.approved")
    );
    assert_eq!(s2.data["data"]["event"]["approvalId"], json!(a));
    let t1 = by_type.next().await.unwrap();
    assert_eq!(
        (
            t1.event.as_str(),
            t1.data["data"]["event"]["approvalId"].clone()
        ),
        ("approval.approved", json!(a))
    );
    assert!(by_type.next().await.is_none(), "nothing else matches");

    for (query, field) in [
        ("?lastEventId=abc", "Last-Event-ID"),
        ("?types=Bad", "types/0"),
    ] {
        let r = app.get(&format!("/v1/stream{query}")).await;
        assert_eq!(r.status, 422, "{query}: {}", r.body);
        assert_eq!(r.body["errors"][0]["field"], field);
    }
    let unauthorized = app
        .send(reqwest::Method::GET, "/v1/stream", None, None)
        .await;
    assert_eq!(unauthorized.status, 401);
    app.shutdown().await;
}

/// Positions are taken when events are written and seen when they commit. A stream
/// that sent a later position before an earlier one committed would make a client that
/// resumes after it skip the earlier event for good: the stream waits for the hole.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_stream_waits_for_an_earlier_position_still_committing() {
    use sqlx::Connection;
    let app = spawn_app(Backend::Postgres).await;
    let a = app.create(&approval_body()).await;
    let mut live = Stream::open(&app, "", None).await;

    let mut conn = sqlx::PgConnection::connect(&app.db_url).await.unwrap();
    let mut held = conn.begin().await.unwrap();
    sqlx::query(
        "INSERT INTO approval_events (tenant_id, approval_id, seq, id, type, data, snapshot, \
         actor, source, occurred_at, prev_hash, hash) \
         SELECT tenant_id, approval_id, 99, 'evt_held', 'approval.held', data, snapshot, actor, \
         source, occurred_at, prev_hash, hash FROM approval_events WHERE approval_id = $1 AND seq = 1",
    )
    .bind(&a)
    .execute(&mut *held)
    .await
    .unwrap();
    let b = app.create(&approval_body()).await;
    assert!(
        live.next_within(Duration::from_millis(700)).await.is_none(),
        "the later event waits while the earlier position is uncommitted"
    );
    held.commit().await.unwrap();
    let first = live.next().await.expect("the earlier event");
    let second = live.next().await.expect("then the later one");
    assert_eq!(first.event, "approval.held");
    assert_eq!(
        (
            second.event.as_str(),
            second.data["data"]["event"]["approvalId"].clone()
        ),
        ("approval.created", json!(b))
    );
    assert!(first.id.parse::<i64>().unwrap() < second.id.parse::<i64>().unwrap());

    // A position given up by a rolled-back transaction is waited for, then passed.
    let mut conn = sqlx::PgConnection::connect(&app.db_url).await.unwrap();
    let mut rolled_back = conn.begin().await.unwrap();
    sqlx::query("SELECT nextval(pg_get_serial_sequence('approval_events', 'feed_seq'))")
        .execute(&mut *rolled_back)
        .await
        .unwrap();
    rolled_back.rollback().await.unwrap();
    let c = app.create(&approval_body()).await;
    let after_hole = live
        .next_within(Duration::from_secs(5))
        .await
        .expect("delivered after the wait");
    assert_eq!(after_hole.data["data"]["event"]["approvalId"], json!(c));
    app.shutdown().await;
}

async fn run_events_share_the_stream_and_its_order_with_requests(backend: Backend) {
    let app = spawn_app(backend).await;
    let wf = app
        .create_workflow(
            &json!({"steps": [{"key": "ask", "kind": "approval", "config": {
            "name": "Deploy", "actionType": "deploy",
            "approvers": [{"channel": "email", "recipient": "ann@example.com"}]}}]}),
        )
        .await;
    let mut live = Stream::open(&app, "?types=run.*,approval.created", None).await;
    let run = app.start_run(&wf, &json!({})).await;
    app.drain_all().await;
    let mut got = Vec::new();
    for _ in 0..3 {
        let m = live.next().await;
        assert!(m.is_some(), "after {got:?}");
        got.extend(m);
    }
    let types: Vec<&str> = got.iter().map(|m| m.event.as_str()).collect();
    assert_eq!(types, ["run.started", "approval.created", "run.waiting"]);
    assert_eq!(got[0].data["data"]["run"]["id"], run["id"]);
    assert_eq!(got[1].data["data"]["approval"]["workflowRunId"], run["id"]);
    let positions: Vec<i64> = got.iter().map(|m| m.id.parse().unwrap()).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
    // Resuming after the run's first event gives the request's and the wait, in order;
    // a filter on the run's id keeps its own.
    let mut resumed = Stream::open(&app, "?types=run.*,approval.created", Some(&got[0].id)).await;
    assert_eq!(resumed.next().await.unwrap().event, "approval.created");
    assert_eq!(resumed.next().await.unwrap().event, "run.waiting");
    let run_id = run["id"].as_str().unwrap();
    let mut one = Stream::open(&app, &format!("?approvalId={run_id}"), Some("0")).await;
    let mine: Vec<String> = [one.next().await, one.next().await]
        .into_iter()
        .map(|m| m.expect("a message").event)
        .collect();
    assert_eq!(mine[0], "run.started");
    assert!(
        mine.iter()
            .all(|t| t.starts_with("run.") || t.starts_with("step.")),
        "{mine:?}"
    );
    app.shutdown().await;
}

on_every_store!(
    a_client_sees_events_live_and_resumes_where_it_left_off,
    filters_narrow_the_stream,
    run_events_share_the_stream_and_its_order_with_requests,
);
