//! Every function binary, started as Lambda starts it, answers its sample events from
//! `events/` through the Lambda Runtime API: a loopback server here speaks that API
//! (`/2018-06-01/runtime/invocation/next`, `…/response`, `…/error`) to the real
//! process. The functions use a fresh PostgreSQL database and moto's server.
//!
//! Also prints each binary's size, its start-up (process start to its first request for
//! an event), its cold start (process start to first answer) and its resident memory
//! after the first event. `GREENLIGHT_FUNCTIONS_DIR` points the
//! test at other builds of the binaries (release ones, for figures worth quoting).

mod runtime;
mod stream;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use greenlight::domain::Channel;
use greenlight::domain::MessageStatus;
use greenlight::domain::protocol::link::{self, LinkGrant};
use greenlight_tests::slack::{self, SlackServer};
use greenlight_tests::{Backend, aws, fresh_database, greenlight};
use runtime::Function;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

const KEY: &str = "gl_sample_key_0123456789";
/// The admin key the sample decision is sent with: agent keys do not decide.
const ADMIN_KEY: &str = "gl_sample_admin_key_0123456789";

fn sample(file: &str) -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../events/");
    let text =
        std::fs::read_to_string(format!("{path}{file}")).unwrap_or_else(|e| panic!("{file}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// A sample event with the sample approval id replaced by `id`.
fn sample_for(file: &str, id: &str) -> Value {
    sample_with(file, "apr_0000000000000000000000000000sample", id)
}

/// A sample with `placeholder` replaced by `value` wherever it appears.
fn sample_with(file: &str, placeholder: &str, value: &str) -> Value {
    let text = sample(file).to_string().replace(placeholder, value);
    serde_json::from_str(&text).unwrap()
}

const SLACK_SIGNING_SECRET: &str = "slack-signing-secret-of-this-test";
const LINK_KEY: &str = "link-signing-key-of-this-test";

fn body(answer: &Value) -> Value {
    serde_json::from_str(answer["body"].as_str().unwrap_or("null")).unwrap_or(Value::Null)
}

/// Runs what the delivery queue holds until it is empty (each run relays the jobs it
/// wrote back onto the queue); returns how many messages ran.
async fn run_deliveries(
    delivery: &mut Function,
    sdk: &aws_config::SdkConfig,
    queue: &str,
) -> usize {
    let mut ran = 0;
    loop {
        let batch = aws::take_all(sdk, queue).await;
        let n = batch["Records"].as_array().unwrap().len();
        if n == 0 {
            return ran;
        }
        ran += n;
        let answer = delivery.invoke(batch).await.unwrap();
        assert_eq!(answer, json!({"batchItemFailures": []}));
    }
}

/// The sample Slack click, on request `id`'s message `delivery_id`, signed now as
/// Slack would sign it.
fn signed_interaction(id: &str, delivery_id: &str) -> Value {
    let mut event = sample("callback-slack-interaction.json");
    let encoded = event["body"].as_str().unwrap();
    let form = String::from_utf8(B64.decode(encoded).unwrap())
        .unwrap()
        .replace("apr_0000000000000000000000000000sample", id)
        .replace("dlv_000000000000000000sample", delivery_id);
    let now = chrono::Utc::now().timestamp();
    event["headers"]["x-slack-request-timestamp"] = json!(now.to_string());
    event["headers"]["x-slack-signature"] =
        json!(slack::signature(SLACK_SIGNING_SECRET, now, &form));
    event["body"] = json!(B64.encode(form));
    event
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_function_answers_its_sample_events() {
    every_function_answers(Backend::Postgres).await;
}

/// The same on a DynamoDB table, then a batch of the table's stream, read from the
/// emulator, with one poison record.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_function_answers_its_sample_events_on_dynamodb() {
    every_function_answers(Backend::Dynamo).await;
}

async fn every_function_answers(backend: Backend) {
    let db = fresh_database(backend).await;
    let stores = greenlight_tests::open_stores(&db).await;
    let local = greenlight::app::App::new(greenlight::run::local::compose(
        &stores,
        Arc::new(greenlight::adapters::clock::SystemClock),
        Arc::new(greenlight::adapters::ids::UuidIds),
        true,
    ));
    local
        .accounts()
        .ensure_default_tenant(Some(KEY))
        .await
        .unwrap();
    let admin = greenlight::app::NewKey {
        name: "sample admin",
        role: greenlight::domain::KeyRole::Admin,
        approver: None,
    };
    local
        .accounts()
        .create_api_key(
            greenlight::app::DEFAULT_TENANT,
            admin,
            Some(ADMIN_KEY.to_owned()),
        )
        .await
        .unwrap();
    let sdk = aws::sdk_config().await;
    let scheduler = aws_sdk_scheduler::Client::new(&sdk);
    let outbox = aws::queue(&sdk, "gl-outbox").await;
    let outbox_dlq = aws::queue(&sdk, "gl-outbox-dlq").await;
    let group = aws::schedule_group(&sdk).await;
    let link_secret = aws::secret(&sdk, LINK_KEY).await;
    let audit_key = aws::secret(&sdk, "audit-key-of-this-test").await;
    let sender = aws::verified_sender(&sdk).await;
    let deliveries = aws::queue(&sdk, "gl-delivery").await;
    let deliveries_dlq = aws::queue(&sdk, "gl-delivery-dlq").await;
    let steps = aws::queue(&sdk, "gl-steps").await;
    let slack = SlackServer::start().await;
    let env: HashMap<String, String> = [
        ("GREENLIGHT_DELIVERY_QUEUE_URL", deliveries.as_str()),
        ("GREENLIGHT_STEPS_QUEUE_URL", steps.as_str()),
        ("GREENLIGHT_SLACK_BOT_TOKEN", "xoxb-test"),
        ("GREENLIGHT_SLACK_SIGNING_SECRET", SLACK_SIGNING_SECRET),
        ("GREENLIGHT_SLACK_API_URL", slack.base.as_str()),
        ("GREENLIGHT_LINK_SECRET_ARN", link_secret.as_str()),
        ("GREENLIGHT_AUDIT_KEY_ARN", audit_key.as_str()),
        ("GREENLIGHT_EMAIL_FROM", sender.as_str()),
        ("GREENLIGHT_DATABASE_URL", db.as_str()),
        ("GREENLIGHT_OUTBOX_QUEUE_URL", outbox.as_str()),
        (
            "GREENLIGHT_TIMER_QUEUE_URL",
            aws::queue(&sdk, "gl-timers").await.as_str(),
        ),
        ("GREENLIGHT_SCHEDULE_GROUP", group.as_str()),
        (
            "GREENLIGHT_TIMEOUT_FUNCTION_ARN",
            "arn:aws:lambda:us-east-1:123456789012:function:greenlight-timeout",
        ),
        (
            "GREENLIGHT_SCHEDULER_ROLE_ARN",
            "arn:aws:iam::123456789012:role/greenlight-scheduler",
        ),
        ("AWS_ENDPOINT_URL", aws::endpoint().as_str()),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();

    // migrate: CloudFormation's Create on a database with no tables yet; the answer
    // goes to the ResponseURL (here a loopback server), not to the runtime.
    let unmigrated = fresh_database(Backend::Postgres).await;
    let (response_url, cloudformation) = aws::cloudformation().await;
    let mut migrate_env = env.clone();
    migrate_env.insert("GREENLIGHT_DATABASE_URL".into(), unmigrated.clone());
    let mut migrate = Function::start("migrate", &migrate_env).await;
    migrate
        .invoke(sample_with(
            "migrate-create.json",
            "RESPONSE_URL_SAMPLE",
            &response_url,
        ))
        .await
        .unwrap();
    let answered = cloudformation.lock().unwrap()[0].1.clone();
    assert_eq!(answered["Status"], "SUCCESS", "{answered}");
    assert_eq!(answered["LogicalResourceId"], "Migrations");
    greenlight::adapters::sql::connect_postgres(&unmigrated, 1)
        .await
        .unwrap()
        .approvals
        .feed_head()
        .await
        .expect("the tables are there");

    // Each starts just before its first event, so its cold start is its own.
    let mut api = Function::start("api", &env).await;
    // api: health, create (which relays its jobs to the outbox queue), read.
    let health = api.invoke(sample("api-health.json")).await.unwrap();
    assert_eq!(health["statusCode"], 200, "{health}");
    let created = api
        .invoke(sample("api-create-approval.json"))
        .await
        .unwrap();
    assert_eq!(created["statusCode"], 201, "{created}");
    let id = body(&created)["id"].as_str().unwrap().to_owned();
    let again = api
        .invoke(sample("api-create-approval.json"))
        .await
        .unwrap();
    assert_eq!(body(&again)["id"], json!(id), "the Idempotency-Key replays");
    let read = api
        .invoke(sample_for("api-get-approval.json", &id))
        .await
        .unwrap();
    assert_eq!(
        (read["statusCode"].as_i64(), body(&read)["status"].as_str()),
        (Some(200), Some("PENDING"))
    );

    // webhook-fanout: the relayed jobs (fan-out, and the deadline handed to the
    // scheduler), then the sample batch, whose second message is malformed.
    let relayed = aws::take_all(&sdk, &outbox).await;
    assert_eq!(relayed["Records"].as_array().unwrap().len(), 2, "{relayed}");
    let mut fanout_env = env.clone();
    fanout_env.insert(
        "GREENLIGHT_DEAD_LETTER_QUEUE_URL".into(),
        outbox_dlq.clone(),
    );
    let mut fanout = Function::start("webhook-fanout", &fanout_env).await;
    let ran = fanout.invoke(relayed).await.unwrap();
    assert_eq!(ran, json!({"batchItemFailures": []}));
    let schedule = scheduler
        .get_schedule()
        .group_name(&group)
        .name(format!("{id}-expire-l0"))
        .send()
        .await
        .expect("the deadline is scheduled");
    let input: Value = serde_json::from_str(schedule.target().unwrap().input().unwrap()).unwrap();
    let sample_batch = fanout
        .invoke(sample("webhook-fanout-sqs.json"))
        .await
        .unwrap();
    assert_eq!(
        sample_batch,
        json!({"batchItemFailures": []}),
        "the malformed message went to the dead-letter queue, not back for retries"
    );
    let buried = aws::take_all(&sdk, &outbox_dlq).await;
    assert_eq!(buried["Records"][0]["body"], "{\"not\": \"a relayed job\"}");

    // delivery: the plan (relayed to its own queue) makes Ann's email, and its send
    // goes out through SES; then the sample batch, whose second message is malformed.
    let mut delivery_env = env.clone();
    delivery_env.insert(
        "GREENLIGHT_DEAD_LETTER_QUEUE_URL".into(),
        deliveries_dlq.clone(),
    );
    // Approval links are made here only, and point at the callback function's URL.
    delivery_env.insert(
        "GREENLIGHT_PUBLIC_URL".into(),
        "https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws/".into(),
    );
    let mut delivery = Function::start("delivery", &delivery_env).await;
    let sent = run_deliveries(&mut delivery, &sdk, &deliveries).await;
    assert_eq!(sent, 2, "the plan, then the send");
    let email = stores
        .messages
        .messages("default", &id)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(email.status, MessageStatus::Sent, "{email:?}");
    let message_id = email.message_id.clone().expect("SES's message id");
    let sample_batch = delivery.invoke(sample("delivery-sqs.json")).await.unwrap();
    assert_eq!(sample_batch, json!({"batchItemFailures": []}));
    let buried = aws::take_all(&sdk, &deliveries_dlq).await;
    assert_eq!(buried["Records"][0]["body"], "{\"not\": \"a relayed job\"}");

    // callback: the email's link opens the request's page (and decides nothing).
    let due = body(&read)["dueAt"].as_str().unwrap().parse().unwrap();
    let token = link::issue(
        LINK_KEY.as_bytes(),
        &LinkGrant {
            tenant_id: "default".into(),
            approval_id: id.clone(),
            approver: email.approver.clone(),
            channel: Channel::Email,
            level: 0,
            expires_at: due,
            nonce: email.id.clone(),
        },
    );
    let mut callback = Function::start("callback", &env).await;
    let page = callback
        .invoke(sample_with(
            "callback-link-page.json",
            "LINK_TOKEN_SAMPLE",
            &token,
        ))
        .await
        .unwrap();
    assert_eq!(page["statusCode"], 200, "{page}");
    let html = page["body"].as_str().unwrap();
    assert!(
        html.contains("Refund order 1234") && html.contains("<form"),
        "{html}"
    );

    // The dashboard is the callback function's: people open one URL for it, Slack and
    // links; the api function serves the API alone.
    let sign_in = callback
        .invoke(sample("callback-dashboard.json"))
        .await
        .unwrap();
    assert_eq!(sign_in["statusCode"], 200, "{sign_in}");
    assert!(
        sign_in["body"].as_str().unwrap().contains("<form"),
        "{sign_in}"
    );
    let mut elsewhere = sample("callback-dashboard.json");
    elsewhere["rawPath"] = json!("/dashboard");
    elsewhere["requestContext"]["http"]["path"] = json!("/dashboard");
    let not_here = api.invoke(elsewhere).await.unwrap();
    assert_eq!(not_here["statusCode"], 404, "{not_here}");

    // SES reports that Ann's email bounced: the delivery fails, with the reason.
    let bounced = delivery
        .invoke(sample_with(
            "delivery-ses-bounce.json",
            "SES_MESSAGE_ID_SAMPLE",
            &message_id,
        ))
        .await
        .unwrap();
    assert_eq!(bounced["known"], true, "{bounced}");
    let email = stores
        .messages
        .message("default", &email.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(email.status, MessageStatus::Failed);

    // timeout: the schedule's own input comes early (the deadline is an hour away):
    // set again; the sample shapes answer too.
    let mut timeout = Function::start("timeout", &env).await;
    let early = timeout.invoke(input).await.unwrap();
    assert_eq!(early["outcome"], "setAgain", "{early}");
    let scheduled = timeout
        .invoke(sample_for("timeout-schedule.json", &id))
        .await
        .unwrap();
    assert!(scheduled["outcome"].is_string(), "{scheduled}");
    let batch = timeout
        .invoke(sample_for("timeout-sqs.json", &id))
        .await
        .unwrap();
    assert_eq!(batch, json!({"batchItemFailures": []}), "{batch}");
    let unknown = timeout.invoke(json!({"hello": "world"})).await;
    assert!(
        unknown.is_err(),
        "an unknown Scheduler input is an error: {unknown:?}"
    );

    // A decision relays the timers' removal; the fan-out deletes the schedule.
    let decided = api
        .invoke(sample_for("api-decide.json", &id))
        .await
        .unwrap();
    assert_eq!(
        (
            decided["statusCode"].as_i64(),
            body(&decided)["status"].as_str()
        ),
        (Some(200), Some("APPROVED"))
    );
    let ran = fanout
        .invoke(aws::take_all(&sdk, &outbox).await)
        .await
        .unwrap();
    assert_eq!(ran, json!({"batchItemFailures": []}));
    let gone = scheduler
        .get_schedule()
        .group_name(&group)
        .name(format!("{id}-expire-l0"))
        .send()
        .await;
    assert!(gone.is_err(), "the decision removed the schedule");

    // Slack: a request for a Slack user; its message is posted, the click comes back
    // through the callback function, and the message is updated to the outcome.
    let mut create = sample("api-create-approval.json");
    create["headers"]["idempotency-key"] = json!("refund-order-5678");
    let mut asked: Value = serde_json::from_str(create["body"].as_str().unwrap()).unwrap();
    asked["approvers"] = json!([{"channel": "slack", "recipient": "U0SAMPLE01"}]);
    create["body"] = json!(asked.to_string());
    let created = api.invoke(create).await.unwrap();
    assert_eq!(created["statusCode"], 201, "{created}");
    let other = body(&created)["id"].as_str().unwrap().to_owned();
    run_deliveries(&mut delivery, &sdk, &deliveries).await;
    assert_eq!(slack.calls("chat.postMessage").len(), 1);
    let message = stores
        .messages
        .messages("default", &other)
        .await
        .unwrap()
        .remove(0);
    let click = signed_interaction(&other, &message.id);
    let clicked = callback.invoke(click).await.unwrap();
    assert_eq!(clicked["statusCode"], 200, "{clicked}");
    // Slack's three seconds: the click is acknowledged once its answer is queued; the
    // delivery function decides it (and then updates the message).
    let pending = api
        .invoke(sample_for("api-get-approval.json", &other))
        .await
        .unwrap();
    assert_eq!(body(&pending)["status"], "PENDING", "{pending}");
    run_deliveries(&mut delivery, &sdk, &deliveries).await;
    let decided = api
        .invoke(sample_for("api-get-approval.json", &other))
        .await
        .unwrap();
    assert_eq!(body(&decided)["status"], "APPROVED", "{decided}");
    assert_eq!(body(&decided)["decision"]["source"], "slack");
    let updated = slack.calls("chat.update");
    assert_eq!(updated.len(), 1);
    assert_eq!(updated[0].body["ts"], json!(message.slack_ts));

    // sweeper: nothing overdue; relays whatever is due.
    let mut sweeper = Function::start("sweeper", &env).await;
    let swept = sweeper
        .invoke(sample("sweeper-schedule.json"))
        .await
        .unwrap();
    assert_eq!(swept["expired"], 0, "{swept}");
    assert_eq!(swept["sessionsForgotten"], 0, "{swept}");

    // realtime: connect with the key in the Authorization header, then disconnect.
    let mut realtime = Function::start("realtime", &env).await;
    let connected = realtime
        .invoke(sample("realtime-connect.json"))
        .await
        .unwrap();
    assert_eq!(connected["statusCode"], 200, "{connected}");
    assert_eq!(
        stores
            .connections
            .connections("default")
            .await
            .unwrap()
            .len(),
        1
    );
    let left = realtime
        .invoke(sample("realtime-disconnect.json"))
        .await
        .unwrap();
    assert_eq!(left["statusCode"], 200);
    assert!(
        stores
            .connections
            .connections("default")
            .await
            .unwrap()
            .is_empty()
    );

    // workflow-steps: a run started
    // through the api function relays its AI step to the steps queue, where it runs
    // (the stand-in answers without a key) and the run ends.
    let created = api
        .invoke(sample("api-create-workflow.json"))
        .await
        .unwrap();
    assert_eq!(created["statusCode"], 201, "{created}");
    let workflow = body(&created)["id"].as_str().unwrap().to_owned();
    let started = api
        .invoke(sample_with(
            "api-start-run.json",
            "WORKFLOW_ID_SAMPLE",
            &workflow,
        ))
        .await
        .unwrap();
    assert_eq!(started["statusCode"], 201, "{started}");
    let run = body(&started)["id"].as_str().unwrap().to_owned();
    let step_jobs = aws::take_all(&sdk, &steps).await;
    assert_eq!(
        step_jobs["Records"].as_array().unwrap().len(),
        1,
        "{step_jobs}"
    );
    let mut steps_env = env.clone();
    steps_env.insert(
        "GREENLIGHT_DEAD_LETTER_QUEUE_URL".into(),
        outbox_dlq.clone(),
    );
    let mut workflow_steps = Function::start("workflow-steps", &steps_env).await;
    let ran = workflow_steps.invoke(step_jobs).await.unwrap();
    assert_eq!(ran, json!({"batchItemFailures": []}));
    let done = stores
        .workflows
        .run("default", &run)
        .await
        .unwrap()
        .unwrap()
        .run;
    assert_eq!(done.status.as_str(), "SUCCEEDED", "{done:?}");
    assert_eq!(
        done.step("draft").unwrap().output.as_ref().unwrap()["standIn"],
        true
    );
    let unknown = workflow_steps
        .invoke(sample("workflow-steps-sqs.json"))
        .await
        .unwrap();
    assert_eq!(
        unknown,
        json!({"batchItemFailures": []}),
        "a job that is not in the outbox is settled, not retried"
    );

    if backend == Backend::Dynamo {
        stream::batch_hands_jobs_to_their_queue(&stores, &sdk, &db, &outbox, &mut fanout).await;
    }

    println!(
        "| function | binary | start-up (ready for events) | cold start (first answer) | resident memory after the first event |"
    );
    println!("|---|---|---|---|---|");
    for f in [
        &api,
        &fanout,
        &workflow_steps,
        &timeout,
        &sweeper,
        &realtime,
        &callback,
        &delivery,
        &migrate,
    ] {
        println!("{}", f.figures());
    }
}
