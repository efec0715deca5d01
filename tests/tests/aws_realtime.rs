//! The live stream on AWS: the realtime function's WebSocket `$connect`/`$disconnect`
//! handling, and pushes through API Gateway's management API, gone connections pruned.
//! The pushes go to moto's server, and to a loopback server that answers as API
//! Gateway does for a connection that is gone (moto never does).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use greenlight::adapters::aws::push::ApiGatewayPusher;
use greenlight::ports::Pusher;
use greenlight::run::handlers::realtime;
use greenlight_tests::{Backend, TestApp, approval_body, aws, greenlight, spawn_app_configured};
use serde_json::{Value, json};

/// The event API Gateway hands the function for a WebSocket route.
fn ws_event(
    route: &str,
    connection_id: &str,
    headers: Value,
    query: Value,
) -> ApiGatewayWebsocketProxyRequest {
    let event_type = match route {
        "$connect" => "CONNECT",
        "$disconnect" => "DISCONNECT",
        _ => "MESSAGE",
    };
    serde_json::from_value(json!({
        "headers": headers,
        "multiValueHeaders": {},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {},
        "isBase64Encoded": false,
        "requestContext": {
            "routeKey": route,
            "eventType": event_type,
            "extendedRequestId": "Ab1CdEFGoAMFXyQ=",
            "requestTime": "01/Jan/2026:12:00:00 +0000",
            "messageDirection": "IN",
            "stage": "live",
            "connectedAt": 1767268800000_i64,
            "requestTimeEpoch": 1767268800000_i64,
            "identity": {"sourceIp": "203.0.113.7", "userAgent": "agent/1.0"},
            "requestId": "Ab1CdEFGoAMFXyQ=",
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "connectionId": connection_id,
            "apiId": "abc123"
        }
    }))
    .expect("a WebSocket event")
}

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
