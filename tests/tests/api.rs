//! The HTTP API through the real router on port 0, on both stores.

use greenlight_tests::{Backend, approval_body, on_every_store, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};

async fn count(app: &greenlight_tests::TestApp) -> usize {
    let r = app.get("/v1/approvals?limit=200").await;
    r.body["items"].as_array().map_or(0, Vec::len)
}

async fn create_returns_the_pending_request(backend: Backend) {
    let app = spawn_app(backend).await;
    let r = app.post("/v1/approvals", &approval_body()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_str().unwrap();
    assert_eq!(r.body["status"], "PENDING");
    assert_eq!(r.body["version"], 1);
    assert_eq!(r.body["timeoutAction"], "reject");
    assert_eq!(r.body["expiresAt"], "2026-01-01T13:00:00Z");
    assert_eq!(
        r.headers["location"],
        format!("/v1/approvals/{id}").as_str()
    );
    let got = app.get(&format!("/v1/approvals/{id}")).await;
    assert_eq!(got.body, r.body);
    app.shutdown().await;
}

async fn an_idempotency_key_replays_the_same_response(backend: Backend) {
    let app = spawn_app(backend).await;
    let send = |body: Value| {
        let app = &app;
        async move {
            let res = app
                .http
                .post(format!("{}/v1/approvals", app.base))
                .bearer_auth(&app.key)
                .header("Idempotency-Key", "order-1234-refund")
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            let replayed = res.headers().get("idempotent-replayed").is_some();
            (status, replayed, res.json::<Value>().await.unwrap())
        }
    };
    let (s1, r1, first) = send(approval_body()).await;
    app.clock.advance(chrono::Duration::seconds(3));
    let (s2, r2, second) = send(approval_body()).await;
    assert_eq!((s1, r1), (201, false));
    assert_eq!((s2, r2), (201, true));
    assert_eq!(first, second, "the same response, though time moved on");
    let mut other = approval_body();
    other["actionData"]["amount"] = json!(999);
    let (s3, _, problem) = send(other).await;
    assert_eq!(s3, 422);
    assert_eq!(
        problem["type"],
        "urn:greenlight:problem:idempotency-key-reused"
    );
    assert_eq!(count(&app).await, 1);

    // A retry long after its absolute deadline still gets the first answer.
    let mut deadline = approval_body();
    deadline.as_object_mut().unwrap().remove("timeoutSeconds");
    deadline["expiresAt"] = json!("2026-01-01T12:01:00Z");
    let retry = |body: Value| {
        let app = &app;
        async move {
            app.http
                .post(format!("{}/v1/approvals", app.base))
                .bearer_auth(&app.key)
                .header("Idempotency-Key", "deadline-1")
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let first = retry(deadline.clone()).await;
    assert_eq!(
        first.status().as_u16(),
        201,
        "{}",
        first.text().await.unwrap()
    );
    app.clock.advance(chrono::Duration::hours(2));
    let late = retry(deadline).await;
    assert_eq!(late.status().as_u16(), 201, "{:?}", late.headers().clone());
    assert_eq!(late.headers()["idempotent-replayed"], "true");
    app.shutdown().await;
}

async fn bad_input_is_named_and_writes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let raw = app
        .http
        .post(format!("{}/v1/approvals", app.base))
        .bearer_auth(&app.key)
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status().as_u16(), 400);
    assert_eq!(raw.headers()["content-type"], "application/problem+json");

    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"approvers": [{"channel": "fax", "recipient": "x"}]}),
            "/approvers/0/channel",
        ),
        (json!({"timeoutAction": "shrug"}), "/timeoutAction"),
        (
            json!({"expiresAt": "2025-12-31T00:00:00Z", "timeoutSeconds": null}),
            "/expiresAt",
        ),
        (json!({"timeoutSeconds": 0}), "/timeoutSeconds"),
        (
            json!({"actionData": {"blob": "x".repeat(70 * 1024)}}),
            "/actionData",
        ),
        (json!({"actionData": [1, 2]}), "/actionData"),
        (
            json!({"uiSchema": {"type": "object", "properties": {"a": {"type": "nope"}}}}),
            "/uiSchema",
        ),
        (json!({"approvers": []}), "/approvers"),
        (json!({"name": "  "}), "/name"),
        (json!({"callbackUrl": "ftp://x"}), "/callbackUrl"),
        (json!({"surprise": true}), "/surprise"),
    ];
    for (patch, field) in cases {
        let mut body = approval_body();
        for (k, v) in patch.as_object().unwrap() {
            if v.is_null() {
                body.as_object_mut().unwrap().remove(k);
            } else {
                body[k] = v.clone();
            }
        }
        let r = app.post("/v1/approvals", &body).await;
        assert_eq!(r.status, 422, "{field}: {}", r.body);
        let fields: Vec<&str> = r.body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert!(fields.contains(&field), "expected {field} in {fields:?}");
    }
    let mut missing = approval_body();
    missing.as_object_mut().unwrap().remove("agentId");
    let r = app.post("/v1/approvals", &missing).await;
    assert_eq!(
        (r.status, r.body["errors"][0]["field"].as_str()),
        (422, Some("/agentId"))
    );

    let huge = json!({"name": "x".repeat(300 * 1024)});
    assert_eq!(app.post("/v1/approvals", &huge).await.status, 413);
    assert_eq!(count(&app).await, 0, "nothing was written");
    app.shutdown().await;
}

async fn keys_are_required_and_tenants_are_isolated(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.create(&approval_body()).await;
    let path = format!("/v1/approvals/{id}");
    let anon = app.send(Method::GET, &path, None, None).await;
    assert_eq!(anon.status, 401);
    assert_eq!(anon.headers["www-authenticate"], "Bearer");
    assert_eq!(
        app.send(Method::GET, &path, Some("gl_not_a_real_key_at_all"), None)
            .await
            .status,
        401
    );

    app.app
        .accounts()
        .create_tenant(Some("acme".into()), "Acme")
        .await
        .unwrap();
    let (_, other) = app
        .app
        .accounts()
        .create_api_key("acme", greenlight::app::NewKey::agent("test"), None)
        .await
        .unwrap();
    assert_eq!(
        app.send(Method::GET, &path, Some(&other), None)
            .await
            .status,
        404
    );
    let decide = json!({"decision": "approved"});
    let r = app
        .send(
            Method::POST,
            &format!("{path}/decision"),
            Some(&other),
            Some(&decide),
        )
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(
        app.send(Method::GET, &format!("{path}/events"), Some(&other), None)
            .await
            .status,
        404
    );
    let list = app
        .send(Method::GET, "/v1/approvals", Some(&other), None)
        .await;
    assert_eq!(list.body["items"], json!([]));
    assert_eq!(app.get(&path).await.body["status"], "PENDING");
    app.shutdown().await;
}

async fn decisions_follow_the_rules(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.create(&approval_body()).await;

    let too_much = app
        .decide(
            &id,
            &json!({"decision": "modified", "responseData": {"amount": 900}}),
        )
        .await;
    assert_eq!(too_much.status, 422);
    assert_eq!(too_much.body["errors"][0]["field"], "/responseData/amount");
    let stray = app
        .decide(
            &id,
            &json!({"decision": "approved", "responseData": {"amount": 1}}),
        )
        .await;
    assert_eq!(
        (stray.status, stray.body["errors"][0]["field"].as_str()),
        (422, Some("/responseData"))
    );
    assert_eq!(
        app.decide(&id, &json!({"decision": "maybe"})).await.status,
        422
    );

    let ok = app
        .decide(
            &id,
            &json!({"decision": "modified", "responseData": {"amount": 80}, "feedback": "partial", "respondedBy": "ann@example.com"}),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.body["status"], "APPROVED");
    assert_eq!(
        ok.body["approvedData"],
        json!({"orderId": "1234", "amount": 80, "currency": "EUR"})
    );
    assert_eq!(ok.body["decision"]["respondedBy"], "ann@example.com");

    let late = app.decide(&id, &json!({"decision": "rejected"})).await;
    assert_eq!(late.status, 409);
    assert_eq!(late.body["current"]["status"], "APPROVED");
    assert_eq!(late.body["current"]["decision"]["decision"], "modified");
    assert_eq!(app.events(&id).await.len(), 2, "refusals write no events");
    app.shutdown().await;
}

async fn no_ui_schema_means_nothing_may_change(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut body = approval_body();
    body.as_object_mut().unwrap().remove("uiSchema");
    let id = app.create(&body).await;
    let r = app
        .decide(
            &id,
            &json!({"decision": "modified", "responseData": {"amount": 1}}),
        )
        .await;
    assert_eq!(
        (r.status, r.body["errors"][0]["field"].as_str()),
        (422, Some("/decision"))
    );
    app.shutdown().await;
}

async fn a_request_runs_its_whole_life(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.create(&approval_body()).await;
    let base = format!("/v1/approvals/{id}");
    assert_eq!(
        app.post(&format!("{base}/execution"), &json!({"status": "started"}))
            .await
            .status,
        409
    );
    app.decide(&id, &json!({"decision": "approved"})).await;
    let started = app
        .post(&format!("{base}/execution"), &json!({"status": "started"}))
        .await;
    assert_eq!(started.body["status"], "EXECUTING");
    let no_reason = app
        .post(&format!("{base}/execution"), &json!({"status": "failed"}))
        .await;
    assert_eq!(
        (
            no_reason.status,
            no_reason.body["errors"][0]["field"].as_str()
        ),
        (422, Some("/error"))
    );
    let done = app
        .post(
            &format!("{base}/execution"),
            &json!({"status": "succeeded", "result": {"refundId": "r-9"}}),
        )
        .await;
    assert_eq!(done.body["status"], "COMPLETED");
    assert_eq!(done.body["execution"]["result"], json!({"refundId": "r-9"}));
    let types: Vec<String> = app
        .events(&id)
        .await
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        types,
        [
            "approval.created",
            "approval.approved",
            "execution.started",
            "execution.completed"
        ]
    );
    let verify = app.get(&format!("{base}/events/verify")).await;
    assert_eq!(verify.body["valid"], true, "{}", verify.body);
    assert_eq!(verify.body["events"], 4);
    app.shutdown().await;
}

async fn cancel_stops_a_pending_request(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.create(&approval_body()).await;
    let bare = app
        .http
        .post(format!("{}/v1/approvals/{id}/cancel", app.base))
        .bearer_auth(&app.key)
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status().as_u16(), 200);
    let body: Value = bare.json().await.unwrap();
    assert_eq!(body["status"], "CANCELLED");
    assert!(
        body["cancellation"]["cancelledBy"]
            .as_str()
            .unwrap()
            .starts_with("api-key:")
    );
    let again = app
        .post(
            &format!("/v1/approvals/{id}/cancel"),
            &json!({"reason": "twice"}),
        )
        .await;
    assert_eq!(again.status, 409);
    assert_eq!(
        app.decide(&id, &json!({"decision": "approved"}))
            .await
            .status,
        409
    );
    app.shutdown().await;
}

async fn listing_filters_and_pages(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        app.clock.advance(chrono::Duration::seconds(1));
        let mut b = approval_body();
        b["agentId"] = json!(if i < 3 { "deploy-bot" } else { "support-bot" });
        ids.push(app.create(&b).await);
    }
    app.decide(&ids[0], &json!({"decision": "rejected"})).await;
    let mut seen = Vec::new();
    let mut path = "/v1/approvals?limit=2".to_owned();
    loop {
        let page = app.get(&path).await;
        assert_eq!(page.status, 200, "{}", page.body);
        seen.extend(
            page.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["id"].as_str().unwrap().to_owned()),
        );
        match page.body["nextCursor"].as_str() {
            Some(c) => path = format!("/v1/approvals?limit=2&cursor={c}"),
            None => break,
        }
    }
    ids.reverse();
    assert_eq!(seen, ids, "newest first, each once");
    let deploy = app
        .get("/v1/approvals?agentId=deploy-bot&status=PENDING")
        .await;
    assert_eq!(deploy.body["items"].as_array().unwrap().len(), 2);
    let refunds = app
        .get("/v1/approvals?actionType=refund&status=REJECTED")
        .await;
    assert_eq!(refunds.body["items"].as_array().unwrap().len(), 1);
    let bad = app.get("/v1/approvals?status=pending").await;
    assert_eq!(
        (bad.status, bad.body["errors"][0]["field"].as_str()),
        (422, Some("status"))
    );
    assert_eq!(app.get("/v1/approvals?limit=0").await.status, 422);
    assert_eq!(app.get("/v1/approvals?cursor=garbage!").await.status, 422);
    app.shutdown().await;
}

async fn long_poll_answers_when_the_decision_lands(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.create(&approval_body()).await;
    let waiter = {
        let (http, base, key, id) = (
            app.http.clone(),
            app.base.clone(),
            app.key.clone(),
            id.clone(),
        );
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            let res = http
                .get(format!("{base}/v1/approvals/{id}?wait=20"))
                .bearer_auth(key)
                .send()
                .await
                .unwrap();
            (started.elapsed(), res.json::<Value>().await.unwrap())
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    app.decide(&id, &json!({"decision": "rejected", "feedback": "no"}))
        .await;
    let (took, body) = waiter.await.unwrap();
    assert_eq!(body["status"], "REJECTED");
    assert!(
        took < std::time::Duration::from_secs(10),
        "answered on the decision, took {took:?}"
    );
    let quiet = app.create(&approval_body()).await;
    let r = app.get(&format!("/v1/approvals/{quiet}?wait=1")).await;
    assert_eq!(r.body["status"], "PENDING");
    assert_eq!(
        app.get(&format!("/v1/approvals/{quiet}?wait=soon"))
            .await
            .status,
        422
    );
    app.shutdown().await;
}

async fn health_openapi_and_unknown_routes(backend: Backend) {
    let app = spawn_app(backend).await;
    let h = app.send(Method::GET, "/healthz", None, None).await;
    assert_eq!((h.status, &h.body["database"]), (200, &json!("ok")));
    let doc = app.send(Method::GET, "/v1/openapi.json", None, None).await;
    assert_eq!(doc.body["openapi"], "3.1.0");
    for p in [
        "/v1/approvals",
        "/v1/approvals/{id}",
        "/v1/approvals/{id}/decision",
        "/v1/approvals/{id}/cancel",
        "/v1/approvals/{id}/execution",
        "/v1/approvals/{id}/events",
        "/v1/approvals/{id}/events/verify",
    ] {
        assert!(
            doc.body["paths"].get(p).is_some(),
            "{p} missing from the OpenAPI document"
        );
    }
    assert!(doc.body["components"]["schemas"].get("Problem").is_some());
    let nowhere = app.get("/v1/nowhere").await;
    assert_eq!(
        (nowhere.status, nowhere.body["status"].as_u64()),
        (404, Some(404))
    );
    let wrong = app
        .send(Method::DELETE, "/v1/approvals", Some(&app.key), None)
        .await;
    assert_eq!(wrong.status, 405);
    app.shutdown().await;
}

/// Messages to approvers and the dev mailbox were first served under other names; those
/// still answer, the same, for one release, and the document marks them deprecated. The
/// server's root leads a newcomer to the dashboard.
async fn renamed_routes_answer_under_both_names(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.create(&approval_body()).await;
    app.drain_all().await;
    let messages = app.get(&format!("/v1/approvals/{id}/messages")).await;
    let deliveries = app.get(&format!("/v1/approvals/{id}/deliveries")).await;
    assert_eq!(messages.status, 200);
    assert!(!messages.body["items"].as_array().unwrap().is_empty());
    assert_eq!(messages.body, deliveries.body);
    let mailbox = app.get("/v1/dev/mailbox").await;
    assert_eq!(mailbox.status, 200);
    assert_eq!(mailbox.body, app.get("/v1/dev/outbox").await.body);
    let doc = app.send(Method::GET, "/v1/openapi.json", None, None).await;
    let paths = &doc.body["paths"];
    assert_eq!(
        paths["/v1/approvals/{id}/deliveries"]["get"]["deprecated"],
        true
    );
    assert_eq!(paths["/v1/dev/outbox"]["get"]["deprecated"], true);
    assert!(
        paths["/v1/approvals/{id}/messages"]["get"]
            .get("deprecated")
            .is_none()
    );
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let root = no_redirects
        .get(format!("{}/", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(root.status(), 303);
    assert_eq!(root.headers()["location"], "/dashboard");
    app.shutdown().await;
}

on_every_store!(
    renamed_routes_answer_under_both_names,
    create_returns_the_pending_request,
    an_idempotency_key_replays_the_same_response,
    bad_input_is_named_and_writes_nothing,
    keys_are_required_and_tenants_are_isolated,
    decisions_follow_the_rules,
    no_ui_schema_means_nothing_may_change,
    a_request_runs_its_whole_life,
    cancel_stops_a_pending_request,
    listing_filters_and_pages,
    long_poll_answers_when_the_decision_lands,
    health_openapi_and_unknown_routes,
);
