//! The AWS side of the harness: the real SDK pointed at the local emulator (moto's
//! server, started by `infra/scripts/test.sh`), and per-test resources with unique
//! names so tests can run side by side on one emulator.

use aws_config::{Region, SdkConfig};
use aws_sdk_sqs::config::Credentials;

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
