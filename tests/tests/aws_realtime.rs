//! The live stream on AWS: the realtime function's WebSocket `$connect`/`$disconnect`
//! handling (API keys, their tickets, and the dashboard's people's tickets), and pushes
//! through API Gateway's management API, gone connections pruned.
//! The pushes go to moto's server, and to a loopback server that answers as API
//! Gateway does for a connection that is gone (moto never does).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use greenlight::adapters::aws::push::ApiGatewayPusher;
use greenlight::domain::Role;
use greenlight::domain::protocol::ticket;
use greenlight::ports::{Clock, Pusher};
use greenlight::run::handlers::realtime;
use greenlight_tests::aws::ws_event;
use greenlight_tests::{
    Backend, TestApp, approval_body, aws, greenlight, on_both_stores, on_every_store,
    spawn_app_configured,
};
use serde_json::{Value, json};

#[derive(Clone, Default)]
struct Management {
    posts: Arc<Mutex<Vec<(String, String)>>>,
    gone: Arc<Mutex<HashSet<String>>>,
}

async fn post_to_connection(
    State(m): State<Management>,
    Path(id): Path<String>,
    body: String,
) -> axum::response::Response {
    if m.gone.lock().unwrap().contains(&id) {
        return (
            StatusCode::GONE,
            [("x-amzn-errortype", "GoneException")],
            "{\"message\":null}",
        )
            .into_response();
    }
    m.posts.lock().unwrap().push((id, body));
    StatusCode::OK.into_response()
}

async fn management_api() -> (String, Management) {
    let m = Management::default();
    let app = axum::Router::new()
        .route(
            "/live/@connections/{id}",
            axum::routing::post(post_to_connection),
        )
        .with_state(m.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/live", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, m)
}

async fn app_pushing_to(endpoint: &str) -> TestApp {
    let sdk = aws::sdk_config().await;
    let pusher = Arc::new(ApiGatewayPusher::new(&sdk, endpoint));
    spawn_app_configured(Backend::Postgres, move |app, _| app.pusher = Some(pusher)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn connections_are_authenticated_filtered_pushed_to_and_pruned() {
    let (endpoint, api) = management_api().await;
    let app = app_pushing_to(&endpoint).await;
    let auth = json!({"Authorization": format!("Bearer {}", app.key)});

    let refused =
        realtime::handle(&app.app, ws_event("$connect", "c-0", json!({}), json!({}))).await;
    assert_eq!(refused["statusCode"], 401);
    let wrong = realtime::handle(
        &app.app,
        ws_event(
            "$connect",
            "c-0",
            json!({"Authorization": "Bearer gl_not_a_key_at_all_000"}),
            json!({}),
        ),
    )
    .await;
    assert_eq!(wrong["statusCode"], 401);
    // A key in the query string is refused, even a good one: API Gateway logs it.
    for name in ["token", "key"] {
        let logged = realtime::handle(
            &app.app,
            ws_event("$connect", "c-0", json!({}), json!({name: app.key})),
        )
        .await;
        assert_eq!(logged["statusCode"], 400, "{logged}");
    }
    for forged in ["", "abc.def", "not-a-ticket"] {
        let refused = realtime::handle(
            &app.app,
            ws_event("$connect", "c-0", json!({}), json!({"ticket": forged})),
        )
        .await;
        assert_eq!(refused["statusCode"], 401, "{forged}: {refused}");
    }
    let bad = realtime::handle(
        &app.app,
        ws_event("$connect", "c-0", auth.clone(), json!({"types": "Nope"})),
    )
    .await;
    assert_eq!(bad["statusCode"], 400, "{bad}");

    let all = realtime::handle(
        &app.app,
        ws_event("$connect", "c-all", auth.clone(), json!({})),
    )
    .await;
    assert_eq!(all["statusCode"], 200, "{all}");
    // A browser's way: a ticket in the query string, and only approvals. The ticket
    // lasts a minute.
    let ticket = app.post("/v1/stream/ticket", &json!(null)).await;
    assert_eq!(ticket.status, 200, "{}", ticket.body);
    let ticket = ticket.body["ticket"].as_str().unwrap().to_owned();
    let approved_only = realtime::handle(
        &app.app,
        ws_event(
            "$connect",
            "c-approved",
            json!({}),
            json!({"ticket": ticket, "types": "approval.approved"}),
        ),
    )
    .await;
    assert_eq!(approved_only["statusCode"], 200, "{approved_only}");
    app.clock.advance(chrono::Duration::seconds(61));
    let stale = realtime::handle(
        &app.app,
        ws_event("$connect", "c-late", json!({}), json!({"ticket": ticket})),
    )
    .await;
    assert_eq!(stale["statusCode"], 401, "{stale}");
    app.clock.advance(chrono::Duration::seconds(-61));

    let id = app.create(&approval_body()).await;
    app.decide(&id, &json!({"decision": "approved"})).await;
    app.drain_all().await;
    let posts = api.posts.lock().unwrap().clone();
    let to = |c: &str| -> Vec<Value> {
        posts
            .iter()
            .filter(|(id, _)| id == c)
            .map(|(_, b)| serde_json::from_str::<Value>(b).unwrap())
            .collect()
    };
    let everything: Vec<Value> = to("c-all").iter().map(|m| m["type"].clone()).collect();
    assert_eq!(
        everything,
        [json!("approval.created"), json!("approval.approved")]
    );
    let approvals = to("c-approved");
    assert_eq!(approvals.len(), 1);
    assert_eq!(approvals[0]["data"]["approval"]["status"], "APPROVED");
    assert_eq!(approvals[0]["data"]["event"]["approvalId"], json!(id));

    // The client of c-all went away without a $disconnect: the next push prunes it.
    api.gone.lock().unwrap().insert("c-all".into());
    app.create(&approval_body()).await;
    app.drain_all().await;
    let left: Vec<String> = app
        .stores
        .connections
        .connections("default")
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.connection_id)
        .collect();
    assert_eq!(left, ["c-approved"]);

    let bye = realtime::handle(
        &app.app,
        ws_event("$disconnect", "c-approved", json!({}), json!({})),
    )
    .await;
    assert_eq!(bye["statusCode"], 200);
    assert!(
        app.stores
            .connections
            .connections("default")
            .await
            .unwrap()
            .is_empty()
    );
    let message =
        realtime::handle(&app.app, ws_event("$default", "c-x", json!({}), json!({}))).await;
    assert_eq!(message["statusCode"], 200);
    app.shutdown().await;
}

#[tokio::test]
async fn the_pusher_posts_through_the_emulator() {
    let sdk = aws::sdk_config().await;
    let pusher = ApiGatewayPusher::new(&sdk, &aws::endpoint());
    pusher
        .push("conn-1", "{\"type\":\"approval.approved\"}")
        .await
        .expect("PostToConnection accepted");
}

/// The api function's router does not hold a buffered Lambda open on `/v1/stream`: it
/// answers at once with a problem naming the WebSocket API, while every other route
/// (the ticket the WebSocket takes included) is served as locally.
#[tokio::test]
async fn the_api_function_points_the_stream_to_the_websocket_api() {
    const WSS: &str = "wss://abc123.execute-api.us-east-1.amazonaws.com/live";
    let sdk = aws::sdk_config().await;
    let queue = aws::queue(&sdk, "gl-api-outbox").await;
    let app = greenlight_tests::spawn_app(Backend::Sqlite).await;
    let relay = greenlight::app::outbox::OutboxRelay::new(
        app.app.clone(),
        Arc::new(greenlight::adapters::aws::relay::SqsRelay::new(
            &sdk, &queue,
        )),
    );
    let router = greenlight::run::handlers::api::router(app.app.clone(), relay, Some(WSS.into()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    let http = reqwest::Client::new();

    let started = std::time::Instant::now();
    let answer = http
        .get(format!("{base}/v1/stream?approvalId=apr_1"))
        .bearer_auth(&app.key)
        .send()
        .await
        .unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    assert_eq!(answer.status(), 501);
    assert_eq!(answer.headers()["content-type"], "application/problem+json");
    assert_eq!(
        answer.headers()["link"],
        format!("<{WSS}>; rel=\"alternate\"").as_str()
    );
    let problem: Value = answer.json().await.unwrap();
    assert_eq!(
        problem["type"],
        "urn:greenlight:problem:stream-on-websocket"
    );
    assert_eq!(problem["status"], 501);
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains(WSS) && detail.contains("/v1/stream/ticket"),
        "{detail}"
    );

    let ticket = http
        .post(format!("{base}/v1/stream/ticket"))
        .bearer_auth(&app.key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        ticket.status(),
        200,
        "the ticket for the WebSocket is served"
    );
    let health = http.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
}

/// Someone who joined the dashboard by invitation and is signed in: the session's
/// cookie and CSRF token, and their user id.
struct Person {
    cookie: String,
    csrf: String,
    id: String,
}

async fn join(app: &TestApp, tenant: &str, email: &str, role: Role) -> Person {
    let accounts = app.app.accounts();
    let invite = accounts
        .invite_from_console(tenant, Some(email), role)
        .await
        .unwrap();
    let signed = accounts
        .accept_invite(&invite, None, "a-long-enough-password")
        .await
        .unwrap();
    Person {
        cookie: format!("gl_session={}", signed.token),
        csrf: signed.account.session.csrf_token,
        id: signed.account.user.id,
    }
}

/// The dashboard's ticket route, as a page's script asks it: the session cookie and a
/// form with the CSRF token. The status, and the ticket on a 200.
async fn session_ticket(app: &TestApp, cookie: &str, csrf: &str) -> (u16, Option<String>) {
    let res = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{}/dashboard/stream/ticket", app.base))
        .header("cookie", cookie)
        .form(&[("csrf", csrf)])
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    if status != 200 {
        return (status, None);
    }
    assert_eq!(res.headers()["cache-control"], "no-store");
    let body: Value = res.json().await.unwrap();
    (status, body["ticket"].as_str().map(str::to_owned))
}

async fn connect(app: &TestApp, id: &str, headers: Value, query: Value) -> Value {
    realtime::handle(&app.app, ws_event("$connect", id, headers, query)).await
}

async fn connected(app: &TestApp, tenant: &str) -> Vec<String> {
    let mut ids: Vec<String> = app
        .stores
        .connections
        .connections(tenant)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.connection_id)
        .collect();
    ids.sort();
    ids
}

on_every_store!(dashboard_people_open_the_stream_with_their_sessions_tickets);
/// The dashboard's pages on AWS: a signed-in person (admin or approver: both read the
/// tenant's inbox) gets a ticket under the session and CSRF token, and `$connect` opens
/// the stream as them, pushed to like any connection. An approver key still opens
/// nothing; a ticket opens only its own tenant's stream, only for its minute, only as
/// signed.
async fn dashboard_people_open_the_stream_with_their_sessions_tickets(backend: Backend) {
    let (endpoint, api) = management_api().await;
    let sdk = aws::sdk_config().await;
    let pusher = Arc::new(ApiGatewayPusher::new(&sdk, &endpoint));
    let app = spawn_app_configured(backend, move |app, _| app.pusher = Some(pusher)).await;
    let admin = join(&app, "default", "ada@example.com", Role::Admin).await;
    let approver = join(&app, "default", "ann@example.com", Role::Approver).await;

    // The route is a form post of the session: no cookie signs in, a wrong token is
    // refused like any stale form.
    let (status, _) = session_ticket(&app, "", &admin.csrf).await;
    assert_eq!(status, 303);
    let (status, _) = session_ticket(&app, &admin.cookie, &"0".repeat(64)).await;
    assert_eq!(status, 403);

    let (_, admin_ticket) = session_ticket(&app, &admin.cookie, &admin.csrf).await;
    let (_, approver_ticket) = session_ticket(&app, &approver.cookie, &approver.csrf).await;
    let (admin_ticket, approver_ticket) = (admin_ticket.unwrap(), approver_ticket.unwrap());
    let id = app.create(&approval_body()).await;
    let opened = connect(
        &app,
        "c-ada",
        json!({}),
        json!({"ticket": admin_ticket, "approvalId": id}),
    )
    .await;
    assert_eq!(opened["statusCode"], 200, "{opened}");
    let opened = connect(&app, "c-ann", json!({}), json!({"ticket": approver_ticket})).await;
    assert_eq!(opened["statusCode"], 200, "{opened}");

    // An approver key reads only the requests that name it: no stream, by bearer or
    // by its ticket.
    let key = app.approver_key("ops@example.com").await;
    let bearer = json!({"Authorization": format!("Bearer {key}")});
    let refused = connect(&app, "c-key", bearer, json!({})).await;
    assert_eq!(refused["statusCode"], 403, "{refused}");
    let ticket = app
        .send(reqwest::Method::POST, "/v1/stream/ticket", Some(&key), None)
        .await;
    assert_eq!(ticket.status, 200, "{}", ticket.body);
    let refused = connect(
        &app,
        "c-key",
        json!({}),
        json!({"ticket": ticket.body["ticket"]}),
    )
    .await;
    assert_eq!(refused["statusCode"], 403, "{refused}");

    // Another tenant's person opens their tenant's stream, never this one's; a grant
    // naming another tenant for this tenant's person opens nothing, even signed with
    // the deployment's secret; a changed ticket or a stale one opens nothing.
    app.app
        .accounts()
        .create_tenant(Some("acme".into()), "Acme")
        .await
        .unwrap();
    let other = join(&app, "acme", "otto@acme.example", Role::Admin).await;
    let (_, other_ticket) = session_ticket(&app, &other.cookie, &other.csrf).await;
    let opened = connect(&app, "c-otto", json!({}), json!({"ticket": other_ticket})).await;
    assert_eq!(opened["statusCode"], 200, "{opened}");
    assert_eq!(connected(&app, "acme").await, ["c-otto"]);
    let crossed = ticket::issue(
        &app.app.channels.link_secret,
        &ticket::StreamTicket {
            tenant_id: "acme".into(),
            holder: ticket::Holder::Person(admin.id.clone()),
            expires_at: app.clock.now() + chrono::Duration::seconds(60),
        },
    );
    let (payload, signature) = admin_ticket.split_once('.').unwrap();
    let mut tampered = payload.to_owned().into_bytes();
    tampered[10] = if tampered[10] == b'A' { b'B' } else { b'A' };
    let tampered = format!("{}.{signature}", String::from_utf8(tampered).unwrap());
    for (what, t) in [("another tenant's", crossed), ("a tampered", tampered)] {
        let refused = connect(&app, "c-x", json!({}), json!({"ticket": t})).await;
        assert_eq!(refused["statusCode"], 401, "{what} ticket: {refused}");
    }
    app.clock.advance(chrono::Duration::seconds(61));
    let stale = connect(&app, "c-x", json!({}), json!({"ticket": approver_ticket})).await;
    assert_eq!(stale["statusCode"], 401, "{stale}");
    app.clock.advance(chrono::Duration::seconds(-61));
    assert_eq!(connected(&app, "default").await, ["c-ada", "c-ann"]);

    // Both people's pages hear of the decision; the other tenant's hears nothing.
    app.decide(&id, &json!({"decision": "approved"})).await;
    app.drain_all().await;
    let posts = api.posts.lock().unwrap().clone();
    let types = |c: &str| -> Vec<String> {
        posts
            .iter()
            .filter(|(id, _)| id == c)
            .map(|(_, b)| {
                serde_json::from_str::<Value>(b).unwrap()["type"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    };
    assert_eq!(types("c-ada"), ["approval.created", "approval.approved"]);
    assert_eq!(types("c-ann"), types("c-ada"));
    assert!(types("c-otto").is_empty());
    app.shutdown().await;
}

on_both_stores!(a_removed_persons_ticket_opens_nothing);
/// A ticket stands for its person only while they have an account. The stores offer no
/// removal yet, so the test removes the row behind the application.
async fn a_removed_persons_ticket_opens_nothing(backend: Backend) {
    let app = greenlight_tests::spawn_app(backend).await;
    let gone = join(&app, "default", "gone@example.com", Role::Approver).await;
    let (_, ticket) = session_ticket(&app, &gone.cookie, &gone.csrf).await;
    let removed = app
        .execute_sql("DELETE FROM users WHERE id = $1", &gone.id)
        .await;
    assert_eq!(removed, 1);
    let refused = connect(&app, "c-gone", json!({}), json!({"ticket": ticket})).await;
    assert_eq!(refused["statusCode"], 401, "{refused}");
    assert!(connected(&app, "default").await.is_empty());
    app.shutdown().await;
}
