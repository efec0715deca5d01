//! The table's stream as Lambda hands it to the webhook-fanout function.

use greenlight_tests::aws;
use serde_json::{Value, json};

use crate::runtime::Function;

/// The webhook-fanout function handed a batch of the table's stream, filtered as its
/// event source mapping filters it (job inserts), plus a poison record: a job due now
/// goes to the outbox queue at once, one due in an hour goes delayed (leased from then),
/// each job once, and only the poison record is named as failed.
pub async fn batch_hands_jobs_to_their_queue(
    stores: &greenlight::app::Stores,
    sdk: &aws_config::SdkConfig,
    db: &str,
    outbox: &str,
    fanout: &mut Function,
) {
    use greenlight::domain::{DeliveryRef, Task};
    use greenlight::ports::NewJob;
    let now = chrono::Utc::now();
    let job = |id: &str, run_at| NewJob {
        id: id.into(),
        tenant_id: "default".into(),
        task: Task::SendWebhook(DeliveryRef {
            tenant_id: "default".into(),
            delivery_id: format!("whd_{id}"),
        }),
        approval_id: None,
        run_at,
        max_attempts: 3,
    };
    stores
        .jobs
        .enqueue(vec![
            job("job_stream_now", now),
            job("job_stream_later", now + chrono::Duration::hours(1)),
        ])
        .await
        .unwrap();
    let table = db.trim_start_matches("dynamodb://");
    let mut records: Vec<Value> = aws::stream_records(sdk, table)
        .await
        .into_iter()
        .filter(|r| r["eventName"] == "INSERT" && r["dynamodb"]["NewImage"]["type"]["S"] == "job")
        .collect();
    assert!(
        records.len() > 2,
        "every job written is on the stream: {records:?}"
    );
    let mut poison = records[0].clone();
    poison["dynamodb"]["NewImage"]
        .as_object_mut()
        .unwrap()
        .remove("id");
    poison["dynamodb"]["SequenceNumber"] = json!("999999999999999999999");
    records.insert(1, poison);
    let answer = fanout.invoke(json!({ "Records": records })).await.unwrap();
    assert_eq!(
        answer,
        json!({"batchItemFailures": [{"itemIdentifier": "999999999999999999999"}]}),
        "only the poison record goes back"
    );
    let sent = aws::take_all(sdk, outbox).await;
    let ids: Vec<String> = sent["Records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            serde_json::from_str::<Value>(r["body"].as_str().unwrap()).unwrap()["jobId"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    // Besides ours, the jobs written and not relayed yet (the sweeper's on PostgreSQL).
    assert!(ids.contains(&"job_stream_now".to_owned()), "{ids:?}");
    assert!(!ids.contains(&"job_stream_later".to_owned()), "{ids:?}");
    let mut once = ids.clone();
    once.sort();
    once.dedup();
    assert_eq!(
        once.len(),
        ids.len(),
        "each job is handed over once: {ids:?}"
    );
    let delayed = aws_sdk_sqs::Client::new(sdk)
        .get_queue_attributes()
        .queue_url(outbox)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesDelayed)
        .send()
        .await
        .unwrap();
    assert_eq!(
        delayed.attributes().unwrap()
            [&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesDelayed],
        "1",
        "the job due later travels delayed"
    );
    let later = stores
        .jobs
        .get_job("job_stream_later")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(later.attempts, 1, "leased for when it falls due");
    let ran = fanout.invoke(sent).await.unwrap();
    assert_eq!(ran, json!({"batchItemFailures": []}));
    let now_job = stores
        .jobs
        .get_job("job_stream_now")
        .await
        .unwrap()
        .unwrap();
    assert_ne!(
        now_job.status,
        greenlight::ports::JobStatus::Pending,
        "{now_job:?}"
    );
}
