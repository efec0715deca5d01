//! The outbox on AWS, against the local emulator: committed jobs relayed to an SQS
//! queue under a lease, run by the queue's consumer and settled under that lease, a lost
//! relay recovered when the lease runs out; and database credentials read from
//! Secrets Manager.

use std::sync::Arc;

use aws_lambda_events::sqs::SqsEvent;
use chrono::Duration;
use greenlight::adapters::aws::relay::SqsRelay;
use greenlight::adapters::aws::secrets;
use greenlight::app::outbox::{OutboxRelay, RELAY_LEASE};
use greenlight::ports::JobStatus;
use greenlight::run::handlers::outbox;
use greenlight_tests::receiver::Receiver;
use greenlight_tests::{Backend, approval_body, aws, greenlight, spawn_app};
use serde_json::{Value, json};

/// Every message on the queue, as the SQS event Lambda would hand over.
async fn take_all(sdk: &aws_config::SdkConfig, url: &str) -> SqsEvent {
    serde_json::from_value(aws::take_all(sdk, url).await).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn relayed_jobs_run_once_and_a_lost_relay_is_recovered() {
    let sdk = aws::sdk_config().await;
    let queue = aws::queue(&sdk, "gl-outbox").await;
    let app = spawn_app(Backend::Postgres).await;
    let relay = OutboxRelay::new(app.app.clone(), Arc::new(SqsRelay::new(&sdk, &queue)));
    let rx = Receiver::start().await;
    let hook = app
        .post(
            "/v1/webhooks",
            &json!({"url": rx.url("/hooks"), "events": ["approval.*"]}),
        )
        .await;
    assert_eq!(hook.status, 201);

    // A dashboard approver: no message to send, so the creation writes one job to relay.
    let mut body = approval_body();
    body["approvers"] = json!([{"channel": "web", "recipient": "ann@example.com"}]);
    let id = app.create(&body).await;
    // The creation's fan-out job (its deadline is an hour away, not due).
    assert_eq!(relay.relay_due().await.unwrap(), 1);
    assert_eq!(
        relay.relay_due().await.unwrap(),
        0,
        "leased: not relayed twice"
    );
    let batch = take_all(&sdk, &queue).await;
    assert_eq!(batch.records.len(), 1);
    let message: Value = serde_json::from_str(batch.records[0].body.as_deref().unwrap()).unwrap();
    assert!(
        message["owner"].as_str().unwrap().starts_with("relay:"),
        "{message}"
    );
    let job_id = message["jobId"].as_str().unwrap().to_owned();

    // The consumer runs the fan-out, which writes a send job; relayed and run in turn.
    let answer = outbox::handle(&relay, &app.runner, batch.clone(), None).await;
    assert!(answer.batch_item_failures.is_empty());
    assert_eq!(
        app.stores
            .jobs
            .get_job(&job_id)
            .await
            .unwrap()
            .unwrap()
            .status,
        JobStatus::Done
    );
    assert_eq!(relay.relay_due().await.unwrap(), 1, "the webhook send");
    let answer = outbox::handle(&relay, &app.runner, take_all(&sdk, &queue).await, None).await;
    assert!(answer.batch_item_failures.is_empty());
    let got = rx.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].json()["data"]["event"]["approvalId"], json!(id));

    // The same message again (SQS delivers at least once): nothing runs twice.
    let again = outbox::handle(&relay, &app.runner, batch, None).await;
    assert!(again.batch_item_failures.is_empty());
    assert_eq!(rx.received().len(), 1);

    // A relay whose message is lost: once the lease runs out it is relayed again.
    app.decide(&id, &json!({"decision": "approved"})).await;
    assert_eq!(relay.relay_due().await.unwrap(), 1);
    let _lost = take_all(&sdk, &queue).await;
    app.clock
        .advance(Duration::from_std(RELAY_LEASE).unwrap() + Duration::seconds(1));
    assert_eq!(
        relay.relay_due().await.unwrap(),
        1,
        "relayed again after the lease"
    );
    let answer = outbox::handle(&relay, &app.runner, take_all(&sdk, &queue).await, None).await;
    assert!(answer.batch_item_failures.is_empty());
    relay.relay_due().await.unwrap();
    outbox::handle(&relay, &app.runner, take_all(&sdk, &queue).await, None).await;
    let types: Vec<Value> = rx
        .received()
        .iter()
        .map(|r| r.json()["type"].clone())
        .collect();
    assert_eq!(
        types,
        [json!("approval.created"), json!("approval.approved")]
    );
    app.shutdown().await;
}

#[tokio::test]
async fn database_credentials_come_from_secrets_manager() {
    let sdk = aws::sdk_config().await;
    let name = aws::unique("gl-db");
    let created = aws_sdk_secretsmanager::Client::new(&sdk)
        .create_secret()
        .name(&name)
        .secret_string(
            r#"{"username": "greenlight", "password": "p@ss/w:rd", "engine": "postgres"}"#,
        )
        .send()
        .await
        .unwrap();
    let other = aws::unique("gl-link");
    aws_sdk_secretsmanager::Client::new(&sdk)
        .create_secret()
        .name(&other)
        .secret_string("link-key")
        .send()
        .await
        .unwrap();
    // A cold start reads all its secrets in one call, by ARN or by name, in its order.
    let arn = created.arn().unwrap();
    let texts = secrets::secret_texts(&sdk, &[&other, arn]).await.unwrap();
    assert_eq!(texts[0], "link-key");
    let url = secrets::database_url(&texts[1], arn, "cluster.example", 5432, "greenlight").unwrap();
    assert_eq!(
        url,
        "postgres://greenlight:p%40ss%2Fw%3Ard@cluster.example:5432/greenlight"
    );
    let missing = secrets::secret_texts(
        &sdk,
        &[
            arn,
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:nope",
        ],
    )
    .await;
    assert!(
        missing.as_ref().unwrap_err().contains("cannot read secret"),
        "{missing:?}"
    );
    let not_json = secrets::database_url("link-key", &other, "h", 5432, "d");
    assert!(not_json.unwrap_err().contains("is not"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_malformed_message_goes_to_the_dead_letter_queue_at_once() {
    let sdk = aws::sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let dlq_url = aws::queue(&sdk, "gl-outbox-dlq").await;
    let dlq = greenlight::adapters::aws::relay::SqsDeadLetters::new(&sdk, &dlq_url);
    let app = spawn_app(Backend::Sqlite).await;
    let queue = aws::queue(&sdk, "gl-outbox").await;
    let relay = OutboxRelay::new(app.app.clone(), Arc::new(SqsRelay::new(&sdk, &queue)));
    let batch: SqsEvent = serde_json::from_value(json!({"Records": [
        {"messageId": "ok-1", "body": "{\"jobId\": \"job_gone\", \"owner\": \"relay:x\"}"},
        {"messageId": "bad-1", "body": "{\"not\": \"a relayed job\"}"}
    ]}))
    .unwrap();
    let answer = outbox::handle(&relay, &app.runner, batch, Some(&dlq)).await;
    assert!(
        answer.batch_item_failures.is_empty(),
        "nothing is retried: {answer:?}"
    );
    let buried = sqs
        .receive_message()
        .queue_url(&dlq_url)
        .message_attribute_names("All")
        .send()
        .await
        .unwrap()
        .messages
        .unwrap_or_default();
    assert_eq!(buried.len(), 1);
    assert_eq!(buried[0].body(), Some("{\"not\": \"a relayed job\"}"));
    let reason = buried[0].message_attributes().unwrap()["greenlight-reason"]
        .string_value()
        .unwrap()
        .to_owned();
    assert!(reason.starts_with("not a relayed job"), "{reason}");
    app.shutdown().await;
}
