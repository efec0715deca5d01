//! Email and SMS end to end through the real AWS SDK against the local emulator: the
//! request goes out by SES and SNS, what the emulator received carries working links,
//! an answer through them decides, and SES's bounce report (as EventBridge hands it to
//! the delivery function) fails the delivery with the reason.

use std::sync::Arc;

use greenlight::adapters::aws::email::SesEmail;
use greenlight::adapters::aws::relay::SqsRelay;
use greenlight::adapters::aws::sms::SnsSms;
use greenlight::adapters::slack_api::SlackWebApi;
use greenlight::app::outbox::OutboxRelay;
use greenlight::run::handlers::{HandlerError, delivery};
use greenlight_tests::slack::SlackServer;
use greenlight_tests::{Backend, approval_body, aws, greenlight, spawn_app_configured};
use serde_json::{Value, json};

/// The first link in `text` that starts with `prefix`.
fn link_in(text: &str, prefix: &str) -> String {
    let start = text
        .find(prefix)
        .unwrap_or_else(|| panic!("no {prefix} link in {text}"));
    text[start..]
        .split(|c: char| c.is_whitespace() || matches!(c, '"' | '<' | '\\'))
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn email_and_sms_go_out_through_ses_and_sns_and_their_links_decide() {
    let sdk = aws::sdk_config().await;
    let sender = aws::verified_sender(&sdk).await;
    let channels_sdk = sdk.clone();
    let app = spawn_app_configured(Backend::Postgres, move |app, _| {
        app.channels.email = Some(Arc::new(SesEmail::new(&channels_sdk, &sender, None)));
        app.channels.sms = Some(Arc::new(SnsSms::new(&channels_sdk)));
    })
    .await;
    let ann = format!("{}@example.com", aws::unique("ann"));
    let mut body = approval_body();
    body["approvers"] = json!([
        {"channel": "email", "recipient": ann},
        {"channel": "sms", "recipient": "+15555550123", "id": "sam"}
    ]);
    body["quorum"] = json!(2);
    let id = app.create(&body).await;
    app.drain_all().await;

    let rows = app
        .get(&format!("/v1/approvals/{id}/deliveries"))
        .await
        .body["items"]
        .as_array()
        .unwrap()
        .clone();
    assert!(rows.iter().all(|d| d["status"] == "sent"), "{rows:?}");
    let message_id = |channel: &str| {
        rows.iter().find(|d| d["channel"] == channel).unwrap()["messageId"]
            .as_str()
            .unwrap()
            .to_owned()
    };

    let state = aws::emulator_state().await;
    let mail = state["ses"]["Message"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| m["destinations"]["ToAddresses"][0] == ann.as_str())
        .unwrap_or_else(|| panic!("no email to {ann}: {}", state["ses"]));
    assert_eq!(mail["subject"], "Approval needed: Refund order 1234");
    let link = link_in(&mail["body"].to_string(), &format!("{}/a/", app.base));
    let sms = state["sns"]["SMS"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| m["message_id"] == message_id("sms").as_str())
        .expect("the SMS");
    let short = link_in(
        sms["message"].as_str().unwrap(),
        &format!("{}/s/", app.base),
    );

    // Ann approves through the email's link: a vote, the quorum needs Sam too.
    let form = [("decision", "approved")];
    let res = app.http.post(&link).form(&form).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let a = app.get(&format!("/v1/approvals/{id}")).await.body;
    assert_eq!(
        (a["status"].as_str(), a["votes"][0]["source"].as_str()),
        (Some("PENDING"), Some("email"))
    );
    // Sam through the SMS's short link, which leads to the same page.
    let page = app.http.get(&short).send().await.unwrap();
    let token_url = page.url().to_string();
    assert!(token_url.contains("/a/"), "{token_url}");
    let res = app.http.post(&token_url).form(&form).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let a = app.get(&format!("/v1/approvals/{id}")).await.body;
    assert_eq!(
        (a["status"].as_str(), a["decision"]["source"].as_str()),
        (Some("APPROVED"), Some("sms"))
    );

    // SES reports a bounce: the delivery fails, with the reason, as an event.
    let queue = aws::queue(&sdk, "gl-delivery").await;
    let relay = OutboxRelay::new(app.app.clone(), Arc::new(SqsRelay::new(&sdk, &queue)));
    let bounce = json!({
        "version": "0", "id": "e1", "detail-type": "Email Bounced", "source": "aws.ses",
        "account": "123456789012", "time": "2026-01-01T12:00:05Z", "region": "us-east-1",
        "resources": [], "detail": {
            "eventType": "Bounce",
            "mail": {"messageId": message_id("email"), "destination": [ann]},
            "bounce": {"bounceType": "Permanent", "bounceSubType": "General",
                       "bouncedRecipients": [{"emailAddress": ann, "diagnosticCode": "smtp; 550 5.1.1 user unknown"}]}
        }
    });
    let answer = delivery::handle(&relay, &app.runner, bounce, None)
        .await
        .unwrap();
    assert_eq!(answer["known"], true);
    let d = app
        .get(&format!("/v1/approvals/{id}/deliveries"))
        .await
        .body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["channel"] == "email")
        .cloned()
        .unwrap();
    assert_eq!(d["status"], "failed");
    assert_eq!(
        d["lastError"],
        format!("bounced (Permanent {ann}): smtp; 550 5.1.1 user unknown")
    );
    let events = app.all_events(&id).await;
    assert_eq!(events.last().unwrap()["type"], "delivery.failed");

    // A report on a message Greenlight did not send, and an event it does not take.
    let unknown = json!({"source": "aws.ses", "detail": {"eventType": "Delivery", "mail": {"messageId": "nope"}}});
    assert_eq!(
        delivery::handle(&relay, &app.runner, unknown, None)
            .await
            .unwrap()["known"],
        false
    );
    let odd =
        json!({"source": "aws.ses", "detail": {"eventType": "Open", "mail": {"messageId": "x"}}});
    assert!(matches!(
        delivery::handle(&relay, &app.runner, odd, None).await,
        Err(HandlerError::Malformed(_))
    ));
    let _: Value = app.get("/healthz").await.body;
    app.shutdown().await;
}

/// The whole path of a request for a Slack approver and an email approver, on the real
/// adapters: the Slack message on the Slack API (loopback), the email through SES
/// (emulator); the email's link approves with changes, and the Slack message is updated.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_email_answer_updates_the_slack_message() {
    let sdk = aws::sdk_config().await;
    let sender = aws::verified_sender(&sdk).await;
    let slack = SlackServer::start().await;
    let (channels_sdk, slack_base) = (sdk.clone(), slack.base.clone());
    let app = spawn_app_configured(Backend::Sqlite, move |app, _| {
        app.channels.email = Some(Arc::new(SesEmail::new(&channels_sdk, &sender, None)));
        app.channels.slack = Some(Arc::new(SlackWebApi::new(&slack_base, "xoxb-test")));
    })
    .await;
    let ann = format!("{}@example.com", aws::unique("ann"));
    let mut body = approval_body();
    body["approvers"] = json!([
        {"channel": "slack", "recipient": "U0ULRIKE"},
        {"channel": "email", "recipient": ann}
    ]);
    let id = app.create(&body).await;
    app.drain_all().await;
    let posted = slack.calls("chat.postMessage");
    assert_eq!(posted.len(), 1);

    let state = aws::emulator_state().await;
    let mail = state["ses"]["Message"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| m["destinations"]["ToAddresses"][0] == ann.as_str())
        .expect("the email");
    let link = link_in(&mail["body"].to_string(), &format!("{}/a/", app.base));
    let page = app
        .http
        .get(&link)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("name=\"field.amount\""), "{page}");
    let form = [("decision", "modified"), ("field.amount", "80")];
    let res = app.http.post(&link).form(&form).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let a = app.get(&format!("/v1/approvals/{id}")).await.body;
    assert_eq!(a["approvedData"]["amount"], 80);
    assert_eq!(a["decision"]["source"], "email");

    app.drain_all().await;
    let updated = slack.calls("chat.update");
    assert_eq!(updated.len(), 1);
    let said = updated[0].body["blocks"].to_string();
    assert!(
        said.contains(&format!("Approved with changes by {ann} via email")),
        "{said}"
    );
    assert!(!said.contains("\"actions\""), "{said}");
    app.shutdown().await;
}
