//! Signed webhooks: endpoints, fan-out to endpoints and callbackUrl, retries through a
//! receiver outage, dead letters and redelivery, secret rotation, the SSRF guard, and
//! the executor. Receivers are real HTTP servers on loopback.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::Duration;
use greenlight::adapters::http_sender::HttpSender;
use greenlight_tests::receiver::{Answer, Receiver};
use greenlight_tests::{
    Backend, TestApp, approval_body, greenlight, on_every_store, spawn_app, spawn_app_configured,
};
use serde_json::{Value, json};

async fn endpoint(app: &TestApp, url: &str, events: Value) -> (String, String) {
    let r = app
        .post(
            "/v1/webhooks",
            &json!({"url": url, "events": events, "description": "agent"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let secret = r.body["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    (r.body["id"].as_str().unwrap().to_owned(), secret)
}

async fn deliveries(app: &TestApp, endpoint_id: &str) -> Vec<Value> {
    let r = app
        .get(&format!("/v1/webhooks/{endpoint_id}/deliveries?limit=200"))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["items"].as_array().unwrap().clone()
}

/// Moves the clock in steps, running what falls due, for `hours`.
async fn let_time_pass(app: &TestApp, hours: i64) {
    for _ in 0..hours * 6 {
        app.clock.advance(Duration::minutes(10));
        app.drain_all().await;
    }
}

async fn endpoints_are_managed_and_their_secret_shown_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let (id, _) = endpoint(&app, "http://127.0.0.1:9/hook", json!(["approval.*"])).await;
    let got = app.get(&format!("/v1/webhooks/{id}")).await;
    assert_eq!(got.status, 200);
    assert!(got.body.get("secret").is_none(), "{}", got.body);
    assert_eq!(got.body["events"], json!(["approval.*"]));
    let listed = app.get("/v1/webhooks").await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);

    let patch = app
        .send(
            reqwest::Method::PATCH,
            &format!("/v1/webhooks/{id}"),
            Some(&app.key),
            Some(&json!({"events": ["approval.approved", "execution.*"], "active": false})),
        )
        .await;
    assert_eq!(patch.status, 200, "{}", patch.body);
    assert_eq!(
        patch.body["events"],
        json!(["approval.approved", "execution.*"])
    );
    assert_eq!(patch.body["active"], false);

    for (body, field) in [
        (json!({"url": "ftp://example.com", "events": ["*"]}), "/url"),
        (
            json!({"url": "http://127.0.0.1:9/", "events": []}),
            "/events",
        ),
        (
            json!({"url": "http://127.0.0.1:9/", "events": ["approval.*", "Nope"]}),
            "/events/1",
        ),
        (
            json!({"url": "http://127.0.0.1:9/", "events": ["*"], "extra": 1}),
            "/extra",
        ),
    ] {
        let r = app.post("/v1/webhooks", &body).await;
        assert_eq!(r.status, 422, "{body}: {}", r.body);
        assert_eq!(r.body["errors"][0]["field"], field, "{}", r.body);
    }
    assert_eq!(
        app.get("/v1/webhooks").await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let del = app
        .send(
            reqwest::Method::DELETE,
            &format!("/v1/webhooks/{id}"),
            Some(&app.key),
            None,
        )
        .await;
    assert_eq!(del.status, 204);
    assert_eq!(app.get(&format!("/v1/webhooks/{id}")).await.status, 404);
    app.shutdown().await;
}

async fn every_event_arrives_signed_with_its_sequence(backend: Backend) {
    let app = spawn_app(backend).await;
    let rx = Receiver::start().await;
    let (endpoint_id, secret) = endpoint(&app, &rx.url("/hooks"), json!(["approval.*"])).await;
    let callback_secret = app
        .post("/v1/callback-secret/rotate", &json!({}))
        .await
        .body["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut body = approval_body();
    body["callbackUrl"] = json!(rx.url("/callback"));
    let id = app.create(&body).await;
    let decided = app
        .decide(
            &id,
            &json!({"decision": "approved", "respondedBy": "ann@example.com"}),
        )
        .await;
    assert_eq!(decided.status, 200);
    app.drain_all().await;

    let got = rx.received();
    assert_eq!(
        got.len(),
        4,
        "two events, to the endpoint and to the callback"
    );
    for (path, secret) in [("/hooks", &secret), ("/callback", &callback_secret)] {
        // Sends run side by side: the order is recovered from the sequence numbers.
        let mut mine: Vec<_> = got.iter().filter(|r| r.path == path).collect();
        mine.sort_by_key(|r| r.json()["data"]["event"]["sequence"].as_i64());
        let types: Vec<Value> = mine.iter().map(|r| r.json()["type"].clone()).collect();
        assert_eq!(
            types,
            [json!("approval.created"), json!("approval.approved")]
        );
        for (i, r) in mine.iter().enumerate() {
            r.verify(secret).unwrap_or_else(|e| panic!("{path}: {e}"));
            assert!(
                r.verify("whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
                    .is_err()
            );
            assert!(r.header("webhook-id").starts_with("msg_"));
            assert_eq!(r.header("webhook-timestamp"), "1767268800");
            assert_eq!(r.header("content-type"), "application/json");
            let m = r.json();
            assert_eq!(m["data"]["event"]["sequence"], json!(i + 1));
            assert_eq!(m["data"]["event"]["approvalId"], json!(id));
            assert_eq!(m["data"]["approval"]["id"], json!(id));
            assert_eq!(m["timestamp"], m["data"]["event"]["occurredAt"]);
        }
    }
    let last = got
        .iter()
        .filter(|r| r.path == "/hooks")
        .max_by_key(|r| r.json()["data"]["event"]["sequence"].as_i64())
        .unwrap()
        .json();
    assert_eq!(last["data"]["approval"]["status"], "APPROVED");
    let listed = deliveries(&app, &endpoint_id).await;
    assert_eq!(listed.len(), 2);
    assert!(
        listed
            .iter()
            .all(|d| d["status"] == "delivered" && d["attempts"] == 1),
        "{listed:?}"
    );
    // A second fan-out of the same event (a retried job) sends nothing new.
    app.drain_all().await;
    assert_eq!(rx.received().len(), 4);
    app.shutdown().await;
}

async fn a_receiver_outage_loses_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let port = Receiver::down_port().await;
    let (endpoint_id, secret) = endpoint(
        &app,
        &format!("http://127.0.0.1:{port}/hooks"),
        json!(["*"]),
    )
    .await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let id = app.create(&approval_body()).await;
        app.decide(&id, &json!({"decision": "rejected", "feedback": "no"}))
            .await;
        ids.push(id);
    }
    app.drain_all().await;
    let pending = deliveries(&app, &endpoint_id).await;
    assert_eq!(pending.len(), 6);
    assert!(
        pending
            .iter()
            .all(|d| d["status"] == "pending" && d["attempts"] == 1 && d["lastError"].is_string()),
        "{pending:?}"
    );

    // Back up, but failing now and then: retries go on until each gets through.
    let rx = Receiver::start_on(port).await;
    rx.answer([
        Answer::Status(500),
        Answer::Status(200),
        Answer::Status(503),
        Answer::Status(200),
    ]);
    let_time_pass(&app, 2).await;
    let got = rx.received();
    let delivered = deliveries(&app, &endpoint_id).await;
    assert!(
        delivered.iter().all(|d| d["status"] == "delivered"),
        "{delivered:?}"
    );

    // Every event arrived; any duplicate is a retry of the same webhook-id.
    let mut by_id: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for r in &got {
        r.verify(&secret).unwrap();
        by_id
            .entry(r.header("webhook-id").to_owned())
            .or_default()
            .push(r.json());
    }
    let expected: BTreeSet<String> = delivered
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(by_id.keys().cloned().collect::<BTreeSet<_>>(), expected);
    assert!(
        by_id
            .values()
            .all(|copies| copies.windows(2).all(|w| w[0] == w[1]))
    );
    // Each request's order is recoverable from the sequence numbers.
    for id in &ids {
        let mut seqs: Vec<i64> = by_id
            .values()
            .map(|c| &c[0])
            .filter(|m| m["data"]["event"]["approvalId"] == json!(id))
            .map(|m| m["data"]["event"]["sequence"].as_i64().unwrap())
            .collect();
        seqs.sort();
        assert_eq!(seqs, [1, 2]);
    }
    rx.stop();
    app.shutdown().await;
}

async fn dead_letters_are_kept_and_can_be_redelivered(backend: Backend) {
    let app = spawn_app(backend).await;
    let rx = Receiver::start().await;
    rx.answer([Answer::Status(500)]);
    let (endpoint_id, _) = endpoint(&app, &rx.url("/hooks"), json!(["approval.created"])).await;
    app.create(&approval_body()).await;
    app.drain_all().await;
    let_time_pass(&app, 48).await;
    let dead = deliveries(&app, &endpoint_id).await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0]["status"], "dead", "{dead:?}");
    assert_eq!(dead[0]["attempts"], 10);
    assert_eq!(rx.received().len(), 10);
    let delivery_id = dead[0]["id"].as_str().unwrap();
    let detail = app
        .get(&format!(
            "/v1/webhooks/{endpoint_id}/deliveries/{delivery_id}"
        ))
        .await
        .body;
    let log = detail["attemptLog"].as_array().unwrap();
    assert_eq!(log.len(), 10);
    assert!(
        log.iter()
            .all(|a| a["statusCode"] == 500 && a["response"] == "ok" && a["latencyMs"].is_i64())
    );
    assert_eq!(detail["payload"]["type"], "approval.created");
    let first = log[0]["at"]
        .as_str()
        .unwrap()
        .parse::<chrono::DateTime<chrono::Utc>>()
        .unwrap();
    let last = log[9]["at"]
        .as_str()
        .unwrap()
        .parse::<chrono::DateTime<chrono::Utc>>()
        .unwrap();
    assert!(
        last - first > Duration::hours(12),
        "retries spread over about a day: {first} … {last}"
    );

    rx.answer([Answer::Status(204)]);
    let r = app
        .post(
            &format!("/v1/webhooks/{endpoint_id}/deliveries/{delivery_id}/redeliver"),
            &json!({}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    app.drain_all().await;
    let again = rx.received();
    assert_eq!(again.len(), 11);
    assert_eq!(
        again[10].header("webhook-id"),
        delivery_id,
        "the same id as before"
    );
    assert_eq!(
        deliveries(&app, &endpoint_id).await[0]["status"],
        "delivered"
    );

    // Everything dead since a time, in one call.
    rx.answer([Answer::Status(500)]);
    app.create(&approval_body()).await;
    app.create(&approval_body()).await;
    app.drain_all().await;
    let_time_pass(&app, 48).await;
    rx.answer([Answer::Status(200)]);
    let r = app
        .post(
            &format!("/v1/webhooks/{endpoint_id}/redeliver"),
            &json!({"since": "2026-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(r.body, json!({"redelivered": 2}));
    app.drain_all().await;
    let all = deliveries(&app, &endpoint_id).await;
    assert!(all.iter().all(|d| d["status"] == "delivered"), "{all:?}");
    app.shutdown().await;
}

async fn retry_after_and_redirects(backend: Backend) {
    let app = spawn_app(backend).await;
    let rx = Receiver::start().await;
    rx.answer([
        Answer::StatusWithRetryAfter(429, "600".into()),
        Answer::Status(200),
    ]);
    let (endpoint_id, _) = endpoint(&app, &rx.url("/hooks"), json!(["approval.created"])).await;
    app.create(&approval_body()).await;
    app.drain_all().await;
    let d = &deliveries(&app, &endpoint_id).await[0];
    assert_eq!(
        (d["status"].as_str(), d["lastStatus"].as_i64()),
        (Some("pending"), Some(429))
    );
    assert_eq!(
        d["nextAttemptAt"], "2026-01-01T12:10:00Z",
        "Retry-After: 600 is honoured"
    );
    app.clock.advance(Duration::seconds(599));
    app.drain_all().await;
    assert_eq!(rx.received().len(), 1, "not before Retry-After");
    app.clock.advance(Duration::seconds(1));
    app.drain_all().await;
    assert_eq!(rx.received().len(), 2);

    // A redirect is an answer that failed, not a place to go.
    let elsewhere = Receiver::start().await;
    rx.answer([Answer::Redirect(elsewhere.url("/stolen"))]);
    app.create(&approval_body()).await;
    app.drain_all().await;
    assert!(elsewhere.received().is_empty());
    let d = &deliveries(&app, &endpoint_id).await[0];
    assert_eq!(
        (d["status"].as_str(), d["lastStatus"].as_i64()),
        (Some("pending"), Some(302))
    );
    app.shutdown().await;
}

async fn an_endpoint_failing_for_days_is_disabled(backend: Backend) {
    let app = spawn_app(backend).await;
    let rx = Receiver::start().await;
    rx.answer([Answer::Status(500)]);
    let (endpoint_id, _) = endpoint(&app, &rx.url("/hooks"), json!(["approval.created"])).await;
    for _ in 0..6 {
        app.create(&approval_body()).await;
        app.drain_all().await;
        let_time_pass(&app, 24).await;
    }
    // The last delivery runs out of attempts within 28 hours of its event.
    let_time_pass(&app, 28).await;
    let e = app.get(&format!("/v1/webhooks/{endpoint_id}")).await.body;
    assert_eq!(e["active"], false, "{e}");
    assert!(
        e["disabledReason"]
            .as_str()
            .unwrap()
            .contains("failed since"),
        "{e}"
    );
    assert_eq!(e["failingSince"], "2026-01-01T12:00:00Z");
    // Disabled: new events are not sent to it.
    let before = rx.received().len();
    app.create(&approval_body()).await;
    app.drain_all().await;
    assert_eq!(rx.received().len(), before);
    let on = app
        .send(
            reqwest::Method::PATCH,
            &format!("/v1/webhooks/{endpoint_id}"),
            Some(&app.key),
            Some(&json!({"active": true})),
        )
        .await;
    assert_eq!(
        (
            on.body["active"].as_bool(),
            on.body["disabledReason"].is_null()
        ),
        (Some(true), true)
    );
    app.shutdown().await;
}

async fn a_rotation_signs_with_both_secrets_for_the_overlap(backend: Backend) {
    let app = spawn_app(backend).await;
    let rx = Receiver::start().await;
    let (endpoint_id, old) = endpoint(&app, &rx.url("/hooks"), json!(["approval.created"])).await;
    let rotated = app
        .post(
            &format!("/v1/webhooks/{endpoint_id}/rotate-secret"),
            &json!({"overlapSeconds": 3600}),
        )
        .await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let new = rotated.body["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert_eq!(
        rotated.body["previousSecretValidUntil"],
        "2026-01-01T13:00:00Z"
    );
    app.create(&approval_body()).await;
    app.drain_all().await;
    let during = &rx.received()[0];
    assert_eq!(during.header("webhook-signature").split(' ').count(), 2);
    during.verify(&old).expect("the old secret still verifies");
    during.verify(&new).expect("the new secret verifies");

    app.clock.advance(Duration::hours(2));
    app.create(&approval_body()).await;
    app.drain_all().await;
    let after = &rx.received()[1];
    assert_eq!(after.header("webhook-signature").split(' ').count(), 1);
    after.verify(&new).unwrap();
    assert!(after.verify(&old).is_err(), "the overlap is over");
    let bad = app
        .post(
            &format!("/v1/webhooks/{endpoint_id}/rotate-secret"),
            &json!({"overlapSeconds": -1}),
        )
        .await;
    assert_eq!(
        (bad.status, bad.body["errors"][0]["field"].as_str()),
        (422, Some("/overlapSeconds"))
    );
    app.shutdown().await;
}

async fn the_executor_runs_the_approved_action(backend: Backend) {
    let app = spawn_app(backend).await;
    let rx = Receiver::start().await;
    rx.answer([Answer::Json(200, json!({"refundId": "r-1"}))]);
    let secret = app
        .post("/v1/callback-secret/rotate", &json!({}))
        .await
        .body["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut body = approval_body();
    body["executor"] = json!(rx.url("/execute"));
    let id = app.create(&body).await;
    app.decide(
        &id,
        &json!({"decision": "modified", "responseData": {"amount": 80}}),
    )
    .await;
    app.drain_all().await;
    let calls = rx.received();
    assert_eq!(calls.len(), 1, "only the approval is executed");
    calls[0].verify(&secret).unwrap();
    let sent = calls[0].json();
    assert_eq!(sent["type"], "approval.execute");
    assert_eq!(
        sent["data"]["action"],
        json!({"orderId": "1234", "amount": 80, "currency": "EUR"})
    );
    let a = app.get(&format!("/v1/approvals/{id}")).await.body;
    assert_eq!(a["status"], "COMPLETED", "{a}");
    assert_eq!(a["execution"]["result"], json!({"refundId": "r-1"}));

    rx.answer([Answer::Status(500)]);
    let failing = app.create(&body).await;
    app.decide(&failing, &json!({"decision": "approved"})).await;
    app.drain_all().await;
    let_time_pass(&app, 48).await;
    let a = app.get(&format!("/v1/approvals/{failing}")).await.body;
    assert_eq!(a["status"], "FAILED", "{a}");
    assert_eq!(a["execution"]["error"], "HTTP 500");
    app.shutdown().await;
}

on_every_store!(
    endpoints_are_managed_and_their_secret_shown_once,
    every_event_arrives_signed_with_its_sequence,
    a_receiver_outage_loses_nothing,
    dead_letters_are_kept_and_can_be_redelivered,
    retry_after_and_redirects,
    an_endpoint_failing_for_days_is_disabled,
    a_rotation_signs_with_both_secrets_for_the_overlap,
    the_executor_runs_the_approved_action,
);

/// The SSRF guard of a deployment (private addresses not allowed).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn non_public_addresses_are_refused_at_registration_and_at_send_time() {
    let app = spawn_app_configured(Backend::Sqlite, |app, _| {
        app.sender = Arc::new(HttpSender::new(false));
    })
    .await;
    for (url, what) in [
        ("http://127.0.0.1:8080/hook", "loopback"),
        ("http://localhost:8080/hook", "a name for loopback"),
        (
            "http://169.254.169.254/latest/meta-data",
            "the metadata service",
        ),
        ("http://10.0.0.7/hook", "a private address"),
        ("http://[::1]/hook", "IPv6 loopback"),
        (
            "http://[::ffff:192.168.0.1]/hook",
            "a mapped private address",
        ),
    ] {
        let r = app
            .post("/v1/webhooks", &json!({"url": url, "events": ["*"]}))
            .await;
        assert_eq!(r.status, 422, "{what}: {}", r.body);
        assert_eq!(r.body["errors"][0]["field"], "/url");
        assert!(
            r.body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("not a public address"),
            "{}",
            r.body
        );
    }
    for field in ["callbackUrl", "executor"] {
        let mut body = approval_body();
        body[field] = json!("http://192.168.1.20/x");
        let r = app.post("/v1/approvals", &body).await;
        assert_eq!(r.status, 422, "{}", r.body);
        assert_eq!(r.body["errors"][0]["field"], format!("/{field}"));
    }
    assert_eq!(app.get("/v1/approvals").await.body["items"], json!([]));

    // Registered while it was acceptable; by send time the address is not (as after a
    // DNS answer changed): refused when connecting, dead at once, never sent.
    let rx = Receiver::start().await;
    let lenient = greenlight::app::App::new(greenlight::app::Ports {
        sender: Arc::new(HttpSender::new(true)),
        ..(*app.app).clone()
    });
    let caller = greenlight::app::Caller {
        tenant_id: "default".into(),
        key_id: "test".into(),
        role: greenlight::domain::KeyRole::Agent,
        approver: None,
        reads_all: true,
    };
    let endpoint_id = lenient
        .webhooks()
        .create_endpoint(
            &caller,
            serde_json::from_value(json!({"url": rx.url("/hooks"), "events": ["*"]})).unwrap(),
        )
        .await
        .unwrap()
        .id;
    app.create(&approval_body()).await;
    app.drain_all().await;
    assert!(rx.received().is_empty());
    let d = &deliveries(&app, &endpoint_id).await[0];
    assert_eq!(d["status"], "dead", "{d}");
    assert!(
        d["lastError"]
            .as_str()
            .unwrap()
            .contains("not a public address"),
        "{d}"
    );
    app.shutdown().await;
}

/// The Standard Webhooks project's own library verifies what Greenlight sends.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_official_standard_webhooks_library_verifies_our_signatures() {
    let app = spawn_app(Backend::Sqlite).await;
    // The library refuses timestamps more than five minutes from its own clock.
    app.clock.set(chrono::Utc::now());
    let rx = Receiver::start().await;
    let (_, secret) = endpoint(&app, &rx.url("/hooks"), json!(["*"])).await;
    let id = app.create(&approval_body()).await;
    app.decide(&id, &json!({"decision": "approved"})).await;
    app.drain_all().await;
    let got = rx.received();
    assert_eq!(got.len(), 2);
    let python = std::env::var("GREENLIGHT_TEST_PYTHON").unwrap_or_else(|_| {
        panic!("GREENLIGHT_TEST_PYTHON must name a python with `standardwebhooks`; infra/scripts/test.sh sets it")
    });
    let script = r#"
import json, sys
from standardwebhooks.webhooks import Webhook
case = json.load(sys.stdin)
payload = Webhook(case["secret"]).verify(case["body"], case["headers"])
print(payload["type"])
"#;
    for (r, tamper) in got.iter().flat_map(|r| [(r, false), (r, true)]) {
        let body = if tamper {
            r.body.replace("approval", "apprOval")
        } else {
            r.body.clone()
        };
        let case = json!({"secret": secret, "body": body, "headers": r.headers});
        let mut child = std::process::Command::new(&python)
            .args(["-c", script])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run python");
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(case.to_string().as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        if tamper {
            assert!(!out.status.success(), "a tampered body must not verify");
        } else {
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(
                String::from_utf8_lossy(&out.stdout).trim(),
                r.json()["type"].as_str().unwrap()
            );
        }
    }
    app.shutdown().await;
}

/// With the local server's own workers and the real clock: a receiver that takes its
/// time delays nobody else's deliveries.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_slow_receiver_holds_up_no_one() {
    use greenlight::adapters::clock::SystemClock;
    use greenlight::adapters::ids::UuidIds;
    use greenlight::app::outbox::RunnerConfig;

    let stores = greenlight_tests::fresh_stores(Backend::Sqlite).await;
    let app = greenlight::app::App::new(greenlight::run::local::compose(
        &stores,
        Arc::new(SystemClock),
        Arc::new(UuidIds),
        true,
    ));
    let key = app
        .accounts()
        .ensure_default_tenant(None)
        .await
        .unwrap()
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let running =
        greenlight::run::local::start(app.clone(), listener, Some(RunnerConfig::default()))
            .await
            .unwrap();
    let base = format!("http://{}", running.addr);
    let http = reqwest::Client::new();
    let (slow, fast) = (Receiver::start().await, Receiver::start().await);
    slow.answer([Answer::Slow(std::time::Duration::from_secs(4))]);
    for rx in [&slow, &fast] {
        let r = http
            .post(format!("{base}/v1/webhooks"))
            .bearer_auth(&key)
            .json(&json!({"url": rx.url("/hooks"), "events": ["approval.created"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    let started = std::time::Instant::now();
    for _ in 0..3 {
        let r = http
            .post(format!("{base}/v1/approvals"))
            .bearer_auth(&key)
            .json(&approval_body())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    while fast.received().len() < 3 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(3),
            "the fast receiver waited on the slow one"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    running.shutdown().await;
}
