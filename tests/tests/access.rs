//! Who may do what: every route against another tenant's keys (404 or 403, never its
//! data) and against the roles it refuses (403), the attack of an agent approving its own
//! request, decisions by approver and admin keys, one vote per identity.

use greenlight::app::NewKey;
use greenlight::domain::KeyRole;
use greenlight_tests::receiver::Receiver;
use greenlight_tests::{Backend, TestApp, approval_body, on_every_store, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};

/// A route of the API, with a body where it takes one.
struct Route {
    method: Method,
    path: String,
    body: Option<Value>,
    /// Names one of the tenant's things (a request, an endpoint, a key), rather than
    /// the caller's own tenant as a whole.
    item: bool,
}

fn route(method: Method, path: impl Into<String>, body: Option<Value>, item: bool) -> Route {
    Route {
        method,
        path: path.into(),
        body,
        item,
    }
}

/// What the tenant under attack has: a request naming ann, a webhook endpoint with a
/// delivery, messages in the dev mailbox.
struct Owned {
    id: String,
    endpoint: String,
    delivery: String,
    admin_key_id: String,
}

async fn owned(app: &TestApp, rx: &Receiver) -> Owned {
    let r = app
        .post(
            "/v1/webhooks",
            &json!({"url": rx.url("/hooks"), "events": ["*"]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let endpoint = r.body["id"].as_str().unwrap().to_owned();
    let id = app.create(&approval_body()).await;
    app.drain_all().await;
    let r = app
        .get(&format!("/v1/webhooks/{endpoint}/deliveries"))
        .await;
    let delivery = r.body["items"][0]["id"]
        .as_str()
        .expect("a delivery")
        .to_owned();
    let keys = app
        .send(Method::GET, "/v1/keys", Some(&app.admin_key), None)
        .await;
    let admin_key_id = keys.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["role"] == "admin")
        .expect("the admin key")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    Owned {
        id,
        endpoint,
        delivery,
        admin_key_id,
    }
}

/// A request any tenant may make of its own, with nothing of the tenant under attack.
fn other_request() -> Value {
    let mut body = approval_body();
    body["name"] = json!("Someone else's request");
    body
}

fn routes(o: &Owned) -> Vec<Route> {
    let (id, wh, d) = (&o.id, &o.endpoint, &o.delivery);
    let a = format!("/v1/approvals/{id}");
    let w = format!("/v1/webhooks/{wh}");
    vec![
        route(Method::POST, "/v1/approvals", Some(other_request()), false),
        route(Method::GET, "/v1/approvals", None, false),
        route(Method::GET, a.clone(), None, true),
        route(
            Method::POST,
            format!("{a}/decision"),
            Some(json!({"decision": "approved", "respondedBy": "ann@example.com"})),
            true,
        ),
        route(Method::POST, format!("{a}/cancel"), Some(json!({})), true),
        route(
            Method::POST,
            format!("{a}/execution"),
            Some(json!({"status": "started"})),
            true,
        ),
        route(Method::GET, format!("{a}/events"), None, true),
        route(Method::GET, format!("{a}/events/verify"), None, true),
        route(Method::GET, format!("{a}/messages"), None, true),
        route(Method::GET, format!("{a}/deliveries"), None, true),
        route(Method::GET, "/v1/dev/mailbox", None, false),
        route(Method::GET, "/v1/dev/outbox", None, false),
        route(
            Method::POST,
            "/v1/webhooks",
            Some(json!({"url": "https://example.com/hooks", "events": ["*"]})),
            false,
        ),
        route(Method::GET, "/v1/webhooks", None, false),
        route(Method::GET, w.clone(), None, true),
        route(
            Method::PATCH,
            w.clone(),
            Some(json!({"events": ["approval.*"]})),
            true,
        ),
        route(
            Method::POST,
            format!("{w}/rotate-secret"),
            Some(json!({})),
            true,
        ),
        route(Method::GET, format!("{w}/deliveries"), None, true),
        route(Method::GET, format!("{w}/deliveries/{d}"), None, true),
        route(
            Method::POST,
            format!("{w}/deliveries/{d}/redeliver"),
            None,
            true,
        ),
        route(
            Method::POST,
            format!("{w}/redeliver"),
            Some(json!({"since": "2020-01-01T00:00:00Z"})),
            true,
        ),
        route(Method::DELETE, w, None, true),
        route(Method::POST, "/v1/callback-secret/rotate", None, false),
        route(
            Method::POST,
            "/v1/keys",
            Some(json!({"name": "more", "role": "agent"})),
            false,
        ),
        route(Method::GET, "/v1/keys", None, false),
        route(
            Method::DELETE,
            format!("/v1/keys/{}", o.admin_key_id),
            None,
            true,
        ),
    ]
}

async fn call(app: &TestApp, r: &Route, key: &str) -> (u16, String) {
    let reply = app
        .send(r.method.clone(), &r.path, Some(key), r.body.as_ref())
        .await;
    (reply.status, reply.body.to_string())
}

/// A key of another tenant, `acme`.
async fn acme_key(app: &TestApp, role: KeyRole, approver: Option<&str>) -> String {
    let new = NewKey {
        name: "acme",
        role,
        approver,
    };
    app.app
        .accounts()
        .create_api_key("acme", new, None)
        .await
        .expect("an acme key")
        .1
}

async fn every_route_answers_only_its_tenant_and_its_roles(backend: Backend) {
    let app = spawn_app(backend).await;
    let rx = Receiver::start().await;
    let o = owned(&app, &rx).await;
    let markers = [
        o.id.as_str(),
        o.endpoint.as_str(),
        o.delivery.as_str(),
        o.admin_key_id.as_str(),
        "Refund order 1234",
    ];
    app.app
        .accounts()
        .create_tenant(Some("acme".into()), "Acme")
        .await
        .unwrap();
    let strangers = [
        acme_key(&app, KeyRole::Agent, None).await,
        acme_key(&app, KeyRole::Admin, None).await,
        acme_key(&app, KeyRole::Approver, Some("ann@example.com")).await,
    ];
    let events_before = app.all_events(&o.id).await.len();

    for r in routes(&o) {
        for key in &strangers {
            let (status, body) = call(&app, &r, key).await;
            if r.item {
                assert!(
                    status == 403 || status == 404,
                    "{} {} by another tenant: {status} {body}",
                    r.method,
                    r.path
                );
            }
            for m in markers {
                assert!(
                    !body.contains(m),
                    "{} {} by another tenant shows {m}: {body}",
                    r.method,
                    r.path
                );
            }
        }
    }

    // Within the tenant, by role.
    let ann = app.approver_key("ann@example.com").await;
    let bob = app.approver_key("bob@example.com").await;
    for r in routes(&o) {
        let reads_requests = r.method == Method::GET && r.path.starts_with("/v1/approvals");
        let decides = r.path.ends_with("/decision");
        if !reads_requests && !decides {
            let (status, body) = call(&app, &r, &ann).await;
            assert_eq!(
                status, 403,
                "{} {} by an approver key: {body}",
                r.method, r.path
            );
            assert!(body.contains("forbidden"), "{body}");
        }
        if r.path.starts_with("/v1/keys") || decides {
            let (status, body) = call(&app, &r, &app.key).await;
            assert_eq!(
                status, 403,
                "{} {} by an agent key: {body}",
                r.method, r.path
            );
        }
        // Bob's key reads nothing of a request that does not name him.
        if r.item && r.path.starts_with("/v1/approvals/") {
            let (status, body) = call(&app, &r, &bob).await;
            assert!(
                status == 403 || status == 404,
                "{} {} by an approver not named: {status} {body}",
                r.method,
                r.path
            );
            assert!(!body.contains("Refund order"), "{body}");
        }
    }
    let listed = app
        .send(Method::GET, "/v1/approvals", Some(&bob), None)
        .await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.body["items"], json!([]), "bob's list names him only");
    let listed = app
        .send(Method::GET, "/v1/approvals", Some(&ann), None)
        .await;
    assert_eq!(listed.body["items"][0]["id"], o.id.as_str());

    // The dev mailbox: the tenant's messages, with their links, to its own keys only.
    let mine = app.get("/v1/dev/mailbox").await;
    assert!(mine.body.to_string().contains("/a/"), "{}", mine.body);
    let theirs = app
        .send(Method::GET, "/v1/dev/mailbox", Some(&strangers[0]), None)
        .await;
    assert_eq!(theirs.status, 200);
    assert_eq!(theirs.body["items"], json!([]));

    // Nothing any refused call tried was written.
    let a = app.get(&format!("/v1/approvals/{}", o.id)).await.body;
    assert_eq!(a["status"], "PENDING");
    assert_eq!(app.all_events(&o.id).await.len(), events_before);
    let endpoint = app.get(&format!("/v1/webhooks/{}", o.endpoint)).await;
    assert_eq!(endpoint.status, 200);
    assert_eq!(endpoint.body["events"], json!(["*"]));
    let keys = app
        .send(Method::GET, "/v1/keys", Some(&app.admin_key), None)
        .await;
    assert!(
        keys.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k["revokedAt"].is_null() && k["name"] != "more"),
        "{}",
        keys.body
    );
    app.shutdown().await;
}

/// The dashboard's session cookie reads only what the person's role may see.
async fn the_cookie_reads_by_the_persons_role(backend: Backend) {
    let app = spawn_app(backend).await;
    let rx = Receiver::start().await;
    let o = owned(&app, &rx).await;
    let accounts = app.app.accounts();
    let invite = accounts
        .invite_from_console(
            "default",
            Some("ann@example.com"),
            greenlight::domain::Role::Approver,
        )
        .await
        .unwrap();
    let signed = accounts
        .accept_invite(&invite, None, "ann-s-long-password")
        .await
        .unwrap();
    let cookie = format!("gl_session={}", signed.token);
    let get = async |path: &str| {
        let res = app
            .http
            .get(format!("{}{path}", app.base))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    };
    for path in [
        "/v1/webhooks".to_owned(),
        format!("/v1/webhooks/{}", o.endpoint),
        format!("/v1/webhooks/{}/deliveries", o.endpoint),
        format!("/v1/webhooks/{}/deliveries/{}", o.endpoint, o.delivery),
        "/v1/keys".to_owned(),
        "/v1/dev/mailbox".to_owned(),
        "/dashboard/mailbox".to_owned(),
    ] {
        let (status, body) = get(&path).await;
        assert_eq!(status, 403, "{path}: {body}");
        assert!(
            !body.contains(&rx.url("/hooks")) && !body.contains("/a/"),
            "{body}"
        );
    }
    let (status, _) = get(&format!("/v1/approvals/{}", o.id)).await;
    assert_eq!(
        status, 200,
        "a signed-in approver reads the tenant's requests"
    );
    app.shutdown().await;
}

/// The attack: an agent's own key approves its request in the CFO's name.
async fn an_agent_key_cannot_approve_in_anyones_name(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut body = approval_body();
    body["approvers"] = json!([{"channel": "email", "recipient": "cfo@corp.com"}]);
    body["actionData"]["amount"] = json!(1_000_000);
    body["uiSchema"] = Value::Null;
    let id = app.create(&body).await;
    let r = app
        .post(
            &format!("/v1/approvals/{id}/decision"),
            &json!({"decision": "approved", "respondedBy": "cfo@corp.com"}),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(
        r.headers["content-type"].to_str().unwrap(),
        "application/problem+json"
    );
    let a = app.get(&format!("/v1/approvals/{id}")).await.body;
    assert_eq!(
        (a["status"].as_str(), a["version"].as_i64()),
        (Some("PENDING"), Some(1))
    );
    assert_eq!(app.all_events(&id).await.len(), 1);
    app.shutdown().await;
}

async fn approver_keys_decide_as_themselves(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.create(&approval_body()).await;
    let path = format!("/v1/approvals/{id}/decision");
    let ann = app.approver_key("ann@example.com").await;
    let as_other = json!({"decision": "approved", "respondedBy": "cfo@corp.com"});
    let r = app
        .send(Method::POST, &path, Some(&ann), Some(&as_other))
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let bob = app.approver_key("bob@example.com").await;
    let r = app
        .send(
            Method::POST,
            &path,
            Some(&bob),
            Some(&json!({"decision": "approved"})),
        )
        .await;
    assert_eq!(
        r.status, 404,
        "bob is not named, so the request is not his to see"
    );
    assert_eq!(app.all_events(&id).await.len(), 1);

    let r = app
        .send(
            Method::POST,
            &path,
            Some(&ann),
            Some(&json!({"decision": "approved"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["decision"]["respondedBy"], "ann@example.com");
    let events = app.events(&id).await;
    let actor = events[1]["actor"].as_str().unwrap();
    assert!(
        actor.starts_with("api-key:") && !actor.contains("behalf"),
        "{actor}"
    );
    app.shutdown().await;
}

async fn admin_keys_decide_only_on_a_named_approvers_behalf(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut body = approval_body();
    body["requestedBy"] = json!("CFO@corp.com");
    body["approvers"] = json!([
        {"channel": "email", "recipient": "ann@example.com"},
        {"channel": "email", "recipient": "cfo@corp.com"}
    ]);
    body["timeoutAction"] = json!("escalate");
    body["escalation"] = json!([{"approvers": [{"channel": "email", "recipient": "dan@example.com"}], "timeoutSeconds": 3600}]);
    let id = app.create(&body).await;
    let path = format!("/v1/approvals/{id}/decision");
    let admin = async |b: Value| {
        app.send(Method::POST, &path, Some(&app.admin_key), Some(&b))
            .await
    };
    for refused in [
        json!({"decision": "approved"}),
        json!({"decision": "approved", "respondedBy": "mallory@example.com"}),
        // Named, but on a level the request has not reached.
        json!({"decision": "approved", "respondedBy": "dan@example.com"}),
        // The requester, however the address is written.
        json!({"decision": "approved", "respondedBy": " cfo@CORP.com"}),
    ] {
        let r = admin(refused.clone()).await;
        assert_eq!(r.status, 403, "{refused}: {}", r.body);
    }
    assert_eq!(app.all_events(&id).await.len(), 1);
    let r = admin(json!({"decision": "approved", "respondedBy": "Ann@Example.com "})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let events = app.events(&id).await;
    let actor = events[1]["actor"].as_str().unwrap();
    assert!(
        actor.starts_with("api-key:") && actor.ends_with("on behalf of Ann@Example.com"),
        "{actor}"
    );
    app.shutdown().await;
}

async fn a_quorum_counts_one_vote_per_identity_whatever_the_channel(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut body = approval_body();
    body["uiSchema"] = Value::Null;
    body["approvers"] = json!([
        {"id": "ann", "channel": "email", "recipient": "ann@example.com"},
        {"id": "ann", "channel": "slack", "recipient": "U_ANN"},
        {"channel": "email", "recipient": "bob@example.com"}
    ]);
    body["quorum"] = json!(2);
    let id = app.create(&body).await;
    let path = format!("/v1/approvals/{id}/decision");
    let ann = app.approver_key("ANN").await;
    let r = app
        .send(
            Method::POST,
            &path,
            Some(&ann),
            Some(&json!({"decision": "approved"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "PENDING");
    // Ann again, by her Slack id and by another key: the same identity, one vote.
    let r = app
        .decide(
            &id,
            &json!({"decision": "approved", "respondedBy": "u_ann"}),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
    let r = app
        .decide(
            &id,
            &json!({"decision": "approved", "respondedBy": " Ann@example.COM"}),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
    let r = app
        .decide(
            &id,
            &json!({"decision": "approved", "respondedBy": "bob@example.com"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "APPROVED");
    app.shutdown().await;
}

on_every_store!(
    every_route_answers_only_its_tenant_and_its_roles,
    the_cookie_reads_by_the_persons_role,
    an_agent_key_cannot_approve_in_anyones_name,
    approver_keys_decide_as_themselves,
    admin_keys_decide_only_on_a_named_approvers_behalf,
    a_quorum_counts_one_vote_per_identity_whatever_the_channel,
);
