//! The AWS side of the harness: the real SDK pointed at the local emulator (moto's
//! server, started by `infra/scripts/test.sh`), and per-test resources with unique
//! names so tests can run side by side on one emulator.

use aws_config::{Region, SdkConfig};
use aws_sdk_sqs::config::Credentials;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

/// Where the emulator answers.
pub fn endpoint() -> String {
    std::env::var("GREENLIGHT_TEST_AWS_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:5000".into())
}

/// The SDK configuration Greenlight's adapters get, aimed at the emulator.
pub async fn sdk_config() -> SdkConfig {
    let endpoint = endpoint();
    if let Err(e) = tokio::net::TcpStream::connect(endpoint.trim_start_matches("http://")).await {
        panic!(
            "the AWS emulator must be running for these tests ({endpoint}): {e}; \
             infra/scripts/test.sh starts it"
        );
    }
    greenlight::adapters::aws::config_loader()
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .load()
        .await
}

/// `sdk_config`, for one DynamoDB store (one test's table): its requests reach the
/// emulator one at a time.
/// DynamoDB applies each request atomically; moto does not (two conditional writes to
/// one item can both pass their condition, and a failed transaction restores the whole
/// table as it was when it began, over a write that committed meanwhile). One request at
/// a time is DynamoDB's atomicity; the concurrency the tests exercise (reads and writes
/// of racing callers interleaving) is all still there.
pub async fn dynamodb_sdk_config() -> SdkConfig {
    let sdk = sdk_config().await;
    let inner = sdk.http_client().expect("the SDK has an HTTP client");
    sdk.to_builder()
        .http_client(OneAtATime(inner, Default::default()))
        .build()
}

type Turn = std::sync::Arc<tokio::sync::Mutex<()>>;

#[derive(Debug)]
struct OneAtATime(SharedHttpClient, Turn);

impl HttpClient for OneAtATime {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(OneAtATimeConnector(
            self.0.http_connector(settings, components),
            self.1.clone(),
        ))
    }
}

#[derive(Debug)]
struct OneAtATimeConnector(SharedHttpConnector, Turn);

impl HttpConnector for OneAtATimeConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let (inner, turn) = (self.0.clone(), self.1.clone());
        HttpConnectorFuture::new(async move {
            let _turn = turn.lock().await;
            inner.call(request).await
        })
    }
}

/// A name no other test uses.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

/// A new standard queue; its URL.
pub async fn queue(sdk: &SdkConfig, prefix: &str) -> String {
    aws_sdk_sqs::Client::new(sdk)
        .create_queue()
        .queue_name(unique(prefix))
        .send()
        .await
        .expect("create queue")
        .queue_url
        .expect("queue URL")
}

/// A new schedule group; its name.
pub async fn schedule_group(sdk: &SdkConfig) -> String {
    let name = unique("gl-timers");
    aws_sdk_scheduler::Client::new(sdk)
        .create_schedule_group()
        .name(&name)
        .send()
        .await
        .expect("create schedule group");
    name
}

/// Takes every message off a queue, as the SQS event Lambda hands a consumer.
pub async fn take_all(sdk: &SdkConfig, queue_url: &str) -> serde_json::Value {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let mut records = Vec::new();
    loop {
        let got = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .send()
            .await
            .expect("receive")
            .messages
            .unwrap_or_default();
        if got.is_empty() {
            return serde_json::json!({ "Records": records });
        }
        for m in got {
            sqs.delete_message()
                .queue_url(queue_url)
                .receipt_handle(m.receipt_handle().unwrap_or_default())
                .send()
                .await
                .expect("delete");
            let queue = queue_url.rsplit('/').next().unwrap_or_default();
            records.push(serde_json::json!({
                "messageId": m.message_id(),
                "receiptHandle": m.receipt_handle(),
                "body": m.body(),
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1767268800000",
                               "SenderId": "AIDAIENQZJOLO23YVJ4VO", "ApproximateFirstReceiveTimestamp": "1767268800001"},
                "messageAttributes": {},
                "md5OfBody": m.md5_of_body(),
                "eventSource": "aws:sqs",
                "eventSourceARN": format!("arn:aws:sqs:us-east-1:123456789012:{queue}"),
                "awsRegion": "us-east-1"
            }));
        }
    }
}

/// A new Secrets Manager secret holding `text`; its ARN.
pub async fn secret(sdk: &SdkConfig, text: &str) -> String {
    aws_sdk_secretsmanager::Client::new(sdk)
        .create_secret()
        .name(unique("gl-secret"))
        .secret_string(text)
        .send()
        .await
        .expect("create secret")
        .arn
        .expect("secret ARN")
}

/// A new SES sender address, verified so SES sends from it.
pub async fn verified_sender(sdk: &SdkConfig) -> String {
    let sender = format!("{}@greenlight.example", unique("approvals"));
    aws_sdk_sesv2::Client::new(sdk)
        .create_email_identity()
        .email_identity(&sender)
        .send()
        .await
        .expect("verify sender");
    sender
}

/// The emulator's record of everything sent (SES messages, SNS text messages), as its
/// own API gives it.
pub async fn emulator_state() -> serde_json::Value {
    reqwest::get(format!("{}/moto-api/data.json", endpoint()))
        .await
        .expect("emulator state")
        .json()
        .await
        .expect("emulator state is JSON")
}

/// What CloudFormation received from a custom resource: each answer PUT to the
/// ResponseURL, with its headers.
pub type CustomResourceAnswers =
    std::sync::Arc<std::sync::Mutex<Vec<(axum::http::HeaderMap, serde_json::Value)>>>;

/// CloudFormation's side of a custom resource, on loopback: the ResponseURL to hand the
/// function, and the answers it gets there.
pub async fn cloudformation() -> (String, CustomResourceAnswers) {
    use axum::extract::State;
    let answers = CustomResourceAnswers::default();
    let app = axum::Router::new()
        .route(
            "/answer",
            axum::routing::put(
                |State(a): State<CustomResourceAnswers>,
                 headers: axum::http::HeaderMap,
                 body: axum::body::Bytes| async move {
                    let answer = serde_json::from_slice(&body).expect("an answer is JSON");
                    a.lock().expect("answers").push((headers, answer));
                    axum::http::StatusCode::OK
                },
            ),
        )
        .with_state(answers.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/answer", listener.local_addr().expect("address"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, answers)
}

/// Every record on a DynamoDB table's stream so far, as the stream event Lambda hands a
/// function (`{"eventName": …, "dynamodb": {"NewImage": …, "SequenceNumber": …}}`), read
/// with the Streams API (`describe_stream`, `get_shard_iterator`, `get_records`).
pub async fn stream_records(sdk: &SdkConfig, table: &str) -> Vec<serde_json::Value> {
    use aws_sdk_dynamodbstreams::types::ShardIteratorType;
    let stream_arn = stream_arn(sdk, table).await;
    let streams = aws_sdk_dynamodbstreams::Client::new(sdk);
    let shards = streams
        .describe_stream()
        .stream_arn(&stream_arn)
        .send()
        .await
        .expect("describe stream")
        .stream_description
        .and_then(|d| d.shards)
        .unwrap_or_default();
    let mut records = Vec::new();
    for shard in shards {
        let mut iterator = streams
            .get_shard_iterator()
            .stream_arn(&stream_arn)
            .shard_id(shard.shard_id().unwrap_or_default())
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .expect("shard iterator")
            .shard_iterator;
        while let Some(it) = iterator {
            let got = streams
                .get_records()
                .shard_iterator(it)
                .send()
                .await
                .expect("get records");
            let page = got.records.unwrap_or_default();
            if page.is_empty() {
                break;
            }
            records.extend(page.iter().map(|r| lambda_record(r, &stream_arn)));
            iterator = got.next_shard_iterator;
        }
    }
    records
}

/// The ARN of the stream of a table the store made.
async fn stream_arn(sdk: &SdkConfig, table: &str) -> String {
    aws_sdk_dynamodbstreams::Client::new(sdk)
        .list_streams()
        .table_name(table)
        .send()
        .await
        .expect("list streams")
        .streams
        .unwrap_or_default()
        .first()
        .and_then(|s| s.stream_arn.clone())
        .unwrap_or_else(|| panic!("table {table} has no stream"))
}

fn lambda_record(
    r: &aws_sdk_dynamodbstreams::types::Record,
    stream_arn: &str,
) -> serde_json::Value {
    let change = r.dynamodb();
    let image = |item: Option<
        &std::collections::HashMap<String, aws_sdk_dynamodbstreams::types::AttributeValue>,
    >| {
        item.map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), attribute(v)))
                .collect::<serde_json::Map<_, _>>()
        })
        .unwrap_or_default()
    };
    serde_json::json!({
        "eventID": r.event_id(),
        "eventName": r.event_name().map(|n| n.as_str().to_owned()),
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "eventSourceARN": stream_arn,
        "dynamodb": {
            "ApproximateCreationDateTime": change
                .and_then(|c| c.approximate_creation_date_time())
                .map_or(0, |t| t.secs()),
            "Keys": image(change.and_then(|c| c.keys.as_ref())),
            "NewImage": image(change.and_then(|c| c.new_image.as_ref())),
            "SequenceNumber": change.and_then(|c| c.sequence_number()),
            "SizeBytes": change.and_then(|c| c.size_bytes()).unwrap_or(0),
            "StreamViewType": "NEW_IMAGE"
        }
    })
}

/// An attribute value in DynamoDB's JSON form (`{"S": "…"}`).
fn attribute(v: &aws_sdk_dynamodbstreams::types::AttributeValue) -> serde_json::Value {
    use aws_sdk_dynamodbstreams::types::AttributeValue as A;
    match v {
        A::S(s) => serde_json::json!({ "S": s }),
        A::N(n) => serde_json::json!({ "N": n }),
        A::Bool(b) => serde_json::json!({ "BOOL": b }),
        A::Null(_) => serde_json::json!({ "NULL": true }),
        A::L(list) => serde_json::json!({ "L": list.iter().map(attribute).collect::<Vec<_>>() }),
        A::M(map) => serde_json::json!({
            "M": map.iter().map(|(k, v)| (k.clone(), attribute(v))).collect::<serde_json::Map<_, _>>()
        }),
        other => panic!("an attribute the store does not write: {other:?}"),
    }
}

/// The event API Gateway hands the realtime function for a WebSocket route.
pub fn ws_event(
    route: &str,
    connection_id: &str,
    headers: serde_json::Value,
    query: serde_json::Value,
) -> aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest {
    let event_type = match route {
        "$connect" => "CONNECT",
        "$disconnect" => "DISCONNECT",
        _ => "MESSAGE",
    };
    serde_json::from_value(serde_json::json!({
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
