//! Timers on AWS, against the local emulator: EventBridge Scheduler schedules and the
//! SQS delay queue, set and cleared through the outbox, and the timeout handler fed
//! the exact events those services deliver. The emulator stores schedules but never
//! fires them, so the tests hand the handler what a schedule would deliver.

use std::sync::Arc;

use aws_config::SdkConfig;
use aws_sdk_scheduler::error::ProvideErrorMetadata;
use aws_sdk_scheduler::types::{ActionAfterCompletion, FlexibleTimeWindowMode};
use aws_sdk_sqs::types::QueueAttributeName;
use chrono::Duration;
use greenlight::adapters::aws::timers::{AwsTimers, AwsTimersConfig};
use greenlight::app::Timers;
use greenlight::run::handlers::timeout;
use greenlight_tests::{Backend, TestApp, approval_body, aws, greenlight, spawn_app_with_timers};
use serde_json::{Value, json};

const TARGET: &str = "arn:aws:lambda:us-east-1:123456789012:function:greenlight-timeout";
const ROLE: &str = "arn:aws:iam::123456789012:role/greenlight-scheduler";
const DEAD_LETTERS: &str = "arn:aws:sqs:us-east-1:123456789012:greenlight-async-failures";

struct Aws {
    sdk: SdkConfig,
    config: AwsTimersConfig,
}

impl Aws {
    async fn new() -> Self {
        let sdk = aws::sdk_config().await;
        let config = AwsTimersConfig {
            schedule_group: aws::schedule_group(&sdk).await,
            target_arn: TARGET.into(),
            role_arn: ROLE.into(),
            delay_queue_url: aws::queue(&sdk, "gl-timers").await,
            dead_letter_arn: Some(DEAD_LETTERS.into()),
        };
        Self { sdk, config }
    }

    async fn app(&self) -> TestApp {
        let (sdk, config) = (self.sdk.clone(), self.config.clone());
        spawn_app_with_timers(Backend::Postgres, move |clock| {
            Timers::External(Some(Arc::new(AwsTimers::new(&sdk, config, clock))))
        })
        .await
    }

    fn scheduler(&self) -> aws_sdk_scheduler::Client {
        aws_sdk_scheduler::Client::new(&self.sdk)
    }

    async fn schedule(
        &self,
        name: &str,
    ) -> Result<
        aws_sdk_scheduler::operation::get_schedule::GetScheduleOutput,
        aws_sdk_scheduler::error::SdkError<
            aws_sdk_scheduler::operation::get_schedule::GetScheduleError,
        >,
    > {
        self.scheduler()
            .get_schedule()
            .name(name)
            .group_name(&self.config.schedule_group)
            .send()
            .await
    }

    fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.sdk)
    }

    async fn schedule_names(&self) -> Vec<String> {
        let listed = self
            .scheduler()
            .list_schedules()
            .group_name(&self.config.schedule_group)
            .send()
            .await
            .expect("list schedules");
        let mut names: Vec<String> = listed
            .schedules()
            .iter()
            .filter_map(|s| s.name().map(str::to_owned))
            .collect();
        names.sort();
        names
    }

    /// The messages on the delay queue that are visible now, waiting up to `wait` for one.
    async fn receive(&self, wait: i32) -> Vec<aws_sdk_sqs::types::Message> {
        self.sqs()
            .receive_message()
            .queue_url(&self.config.delay_queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(wait)
            .send()
            .await
            .expect("receive")
            .messages
            .unwrap_or_default()
    }

    async fn delayed_count(&self) -> String {
        self.sqs()
            .get_queue_attributes()
            .queue_url(&self.config.delay_queue_url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
            .send()
            .await
            .expect("queue attributes")
            .attributes
            .and_then(|a| {
                a.get(&QueueAttributeName::ApproximateNumberOfMessagesDelayed)
                    .cloned()
            })
            .unwrap_or_default()
    }
}

/// The event Lambda's SQS integration hands the function for these messages.
fn sqs_event(queue_url: &str, messages: &[(String, String)]) -> Value {
    let queue = queue_url.rsplit('/').next().unwrap();
    let records: Vec<Value> = messages
        .iter()
        .map(|(id, body)| {
            json!({
                "messageId": id,
                "receiptHandle": format!("AQEB{id}"),
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1767268800000",
                    "SenderId": "AIDAEXAMPLE",
                    "ApproximateFirstReceiveTimestamp": "1767268800001"
                },
                "messageAttributes": {},
                "md5OfBody": "0",
                "eventSource": "aws:sqs",
                "eventSourceARN": format!("arn:aws:sqs:us-east-1:123456789012:{queue}"),
                "awsRegion": "us-east-1"
            })
        })
        .collect();
    json!({ "Records": records })
}

fn far_body() -> Value {
    let mut b = approval_body();
    b["timeoutSeconds"] = json!(3600);
    b["reminders"] = json!([{"afterSeconds": 1800}]);
    b
}

async fn events_of_type(app: &TestApp, id: &str, kind: &str) -> usize {
    app.events(id)
        .await
        .iter()
        .filter(|e| e["type"] == kind)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn far_timers_are_schedules_and_a_decision_deletes_them() {
    let aws = Aws::new().await;
    let app = aws.app().await;
    let id = app.create(&far_body()).await;
    assert_eq!(
        aws.schedule_names().await,
        Vec::<String>::new(),
        "nothing is set before commit's jobs run"
    );
    assert_eq!(app.drain_jobs().await, 2, "one timer.set job per timer");
    assert_eq!(
        aws.schedule_names().await,
        vec![format!("{id}-expire-l0"), format!("{id}-remind0-l0")]
    );

    let got = aws
        .schedule(&format!("{id}-expire-l0"))
        .await
        .expect("get schedule");
    // Due at 13:00:00; the schedule fires two minutes ahead and hands over to SQS.
    assert_eq!(got.schedule_expression(), Some("at(2026-01-01T12:58:00)"));
    assert_eq!(got.schedule_expression_timezone(), Some("UTC"));
    assert_eq!(got.group_name(), Some(aws.config.schedule_group.as_str()));
    assert_eq!(
        got.action_after_completion(),
        Some(&ActionAfterCompletion::Delete)
    );
    assert_eq!(
        got.flexible_time_window().map(|w| w.mode()),
        Some(&FlexibleTimeWindowMode::Off)
    );
    let target = got.target().expect("target");
    assert_eq!((target.arn(), target.role_arn()), (TARGET, ROLE));
    assert_eq!(
        target.dead_letter_config().and_then(|d| d.arn()),
        Some(DEAD_LETTERS),
        "an event Scheduler cannot deliver lands where an alarm sees it"
    );
    let input: Value = serde_json::from_str(target.input().expect("input")).unwrap();
    assert_eq!(
        input,
        json!({
            "tenantId": "default",
            "approvalId": id,
            "kind": "expire",
            "level": 0,
            "dueAt": "2026-01-01T13:00:00Z",
            "expectedVersion": 1
        })
    );

    // A retried timer.set job leaves one schedule.
    let timer = serde_json::from_value(input).unwrap();
    let scheduler = AwsTimers::new(&aws.sdk, aws.config.clone(), app.clock.clone());
    greenlight::ports::Scheduler::set(&scheduler, &timer)
        .await
        .expect("set again");
    assert_eq!(aws.schedule_names().await.len(), 2);

    let decided = app
        .decide(
            &id,
            &json!({"decision": "approved", "respondedBy": "ann@example.com"}),
        )
        .await;
    assert_eq!(decided.status, 200, "{}", decided.body);
    assert_eq!(app.drain_jobs().await, 1, "one timer.clear job");
    assert_eq!(
        aws.schedule_names().await,
        Vec::<String>::new(),
        "the decision deleted both"
    );
    let gone = aws
        .schedule(&format!("{id}-expire-l0"))
        .await
        .expect_err("deleted");
    assert_eq!(gone.code(), Some("ResourceNotFoundException"));
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_schedule_firing_early_hands_over_to_the_delay_queue_and_then_times_out_once() {
    let aws = Aws::new().await;
    let app = aws.app().await;
    let id = app.create(&far_body()).await;
    app.drain_jobs().await;
    let input: Value = {
        let got = aws
            .schedule(&format!("{id}-expire-l0"))
            .await
            .expect("get schedule");
        serde_json::from_str(got.target().unwrap().input().unwrap()).unwrap()
    };

    // EventBridge Scheduler invokes the function with the schedule's input as the event,
    // at 12:58: not due, so the timer goes on the delay queue for the last 120 s.
    app.clock.advance(Duration::seconds(58 * 60));
    let early = timeout::handle(&app.app, input.clone(), None)
        .await
        .expect("handled");
    assert_eq!(
        early,
        json!({"outcome": "setAgain", "at": "2026-01-01T13:00:00Z"})
    );
    assert_eq!(aws.delayed_count().await, "1");
    assert!(aws.receive(0).await.is_empty(), "the message is delayed");
    assert_eq!(events_of_type(&app, &id, "approval.timed_out").await, 0);

    // When the delayed message arrives it carries the same timer.
    app.clock.advance(Duration::seconds(120));
    let batch = sqs_event(
        &aws.config.delay_queue_url,
        &[
            ("m-1".into(), input.to_string()),
            ("m-2".into(), "{\"not\": \"a timer\"}".into()),
            ("m-3".into(), input.to_string()),
        ],
    );
    let response = timeout::handle(&app.app, batch, None)
        .await
        .expect("handled");
    assert_eq!(
        response,
        json!({"batchItemFailures": [{"itemIdentifier": "m-2"}]}),
        "only the malformed message fails; the duplicate is stale, not an error"
    );
    let a = app.get(&format!("/v1/approvals/{id}")).await.body;
    assert_eq!(a["status"], "TIMEOUT");
    assert_eq!(
        events_of_type(&app, &id, "approval.timed_out").await,
        1,
        "exactly once"
    );

    // A late schedule delivery after the outcome changes nothing.
    let late = timeout::handle(&app.app, input, None)
        .await
        .expect("handled");
    assert_eq!(late, json!({"outcome": "stale"}));
    assert!(
        matches!(
            timeout::handle(&app.app, json!({"hello": "world"}), None).await,
            Err(greenlight::run::handlers::HandlerError::Malformed(_))
        ),
        "an unknown Scheduler input is refused as malformed"
    );
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_near_deadline_goes_on_the_delay_queue_with_its_delay() {
    let aws = Aws::new().await;
    let app = aws.app().await;
    let mut body = approval_body();
    body["timeoutSeconds"] = json!(2);
    let id = app.create(&body).await;
    assert_eq!(app.drain_jobs().await, 1);
    assert_eq!(
        aws.schedule_names().await,
        Vec::<String>::new(),
        "too near for a schedule"
    );
    assert!(aws.receive(0).await.is_empty(), "delayed by 2 s");
    let arrived = aws.receive(5).await;
    assert_eq!(arrived.len(), 1, "the message arrives after its delay");
    let body: Value = serde_json::from_str(arrived[0].body().unwrap()).unwrap();
    assert_eq!(body["approvalId"], id.as_str());
    assert_eq!(body["kind"], "expire");
    assert_eq!(body["dueAt"], "2026-01-01T12:00:02Z");

    app.clock.advance(Duration::seconds(2));
    let message_id = arrived[0].message_id().unwrap().to_owned();
    let response = timeout::handle(
        &app.app,
        sqs_event(
            &aws.config.delay_queue_url,
            &[(message_id, arrived[0].body().unwrap().to_owned())],
        ),
        None,
    )
    .await
    .expect("handled");
    assert_eq!(response, json!({"batchItemFailures": []}));
    assert_eq!(
        app.get(&format!("/v1/approvals/{id}")).await.body["status"],
        "TIMEOUT"
    );
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_escalation_replaces_the_level_schedules() {
    let aws = Aws::new().await;
    let app = aws.app().await;
    let mut body = approval_body();
    body["timeoutSeconds"] = json!(3600);
    body["timeoutAction"] = json!("escalate");
    body["escalation"] = json!([
        {"approvers": [{"channel": "email", "recipient": "lead@example.com", "id": "lead"}], "timeoutSeconds": 7200}
    ]);
    let id = app.create(&body).await;
    app.drain_jobs().await;
    assert_eq!(aws.schedule_names().await, vec![format!("{id}-expire-l0")]);
    app.clock.advance(Duration::seconds(3600));
    let input = json!({
        "tenantId": "default", "approvalId": id, "kind": "expire", "level": 0,
        "dueAt": "2026-01-01T13:00:00Z", "expectedVersion": 1
    });
    let fired = timeout::handle(&app.app, input, None)
        .await
        .expect("handled");
    assert_eq!(fired, json!({"outcome": "applied", "status": "PENDING"}));
    assert_eq!(
        app.drain_jobs().await,
        2,
        "set level 1's timer, clear level 0's"
    );
    assert_eq!(aws.schedule_names().await, vec![format!("{id}-expire-l1")]);
    app.shutdown().await;
}
