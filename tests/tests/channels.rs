//! Reaching approvers and taking their answers back: Slack against a Slack Web API on
//! loopback, email and SMS through the dev mailbox (the AWS adapters are in
//! `aws_deliveries.rs`). Each flow goes create → message sent and recorded → answer
//! through that channel → state, events and the Slack message updated.

use std::sync::Arc;

use greenlight::adapters::slack_api::SlackWebApi;
use greenlight::ports::Clock;
use greenlight_tests::slack::{self, SlackServer};
use greenlight_tests::{Backend, Reply, TestApp, approval_body, greenlight, on_every_store};
use serde_json::{Value, json};

const SIGNING_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";

async fn spawn(backend: Backend) -> (TestApp, SlackServer) {
    let slack = SlackServer::start().await;
    let base = slack.base.clone();
    let app = greenlight_tests::spawn_app_configured(backend, move |app, _| {
        app.channels.slack = Some(Arc::new(SlackWebApi::new(&base, "xoxb-test")));
        app.channels.slack_signing_secret = Some(SIGNING_SECRET.into());
    })
    .await;
    (app, slack)
}

/// A request for Ulrike on Slack (U111) and Ann by email.
fn slack_and_email() -> Value {
    let mut body = approval_body();
    body["approvers"] = json!([
        {"channel": "slack", "recipient": "U111"},
        {"channel": "email", "recipient": "ann@example.com"}
    ]);
    body
}

/// POSTs an interaction, signed as Slack signs it `skew` seconds from now.
async fn interact(app: &TestApp, payload: &Value, skew: i64) -> Reply {
    interact_raw(app, slack::form(payload), skew, None).await
}

async fn interact_raw(app: &TestApp, body: String, skew: i64, forged: Option<&str>) -> Reply {
    let ts = app.clock.now().timestamp() + skew;
    let signature = forged.map_or_else(
        || slack::signature(SIGNING_SECRET, ts, &body),
        str::to_owned,
    );
    let res = app
        .http
        .post(format!("{}/slack/interactions", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-slack-request-timestamp", ts.to_string())
        .header("x-slack-signature", signature)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let text = res.text().await.unwrap();
    Reply {
        status,
        headers,
        body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
    }
}

async fn outbox(app: &TestApp) -> Vec<Value> {
    let r = app.get("/v1/dev/outbox").await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["items"].as_array().unwrap().clone()
}

async fn deliveries(app: &TestApp, id: &str) -> Vec<Value> {
    let r = app.get(&format!("/v1/approvals/{id}/deliveries")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["items"].as_array().unwrap().clone()
}

fn types(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect()
}

/// The approval link in the last email to `to`.
async fn email_link(app: &TestApp, to: &str) -> String {
    let mail = outbox(app)
        .await
        .into_iter()
        .rfind(|m| m["channel"] == "email" && m["recipient"] == to)
        .unwrap_or_else(|| panic!("no email to {to}"));
    mail["links"][0].as_str().unwrap().to_owned()
}

async fn get_page(app: &TestApp, url: &str) -> (u16, String) {
    let res = app.http.get(url).send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

async fn post_page(app: &TestApp, url: &str, form: &[(&str, &str)]) -> (u16, String) {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let res = app
        .http
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

async fn status(app: &TestApp, id: &str) -> Value {
    app.get(&format!("/v1/approvals/{id}")).await.body
}

on_every_store!(a_slack_approver_approves_with_changes_and_every_message_says_so);
async fn a_slack_approver_approves_with_changes_and_every_message_says_so(backend: Backend) {
    let (app, slack) = spawn(backend).await;
    let id = app.create(&slack_and_email()).await;
    app.drain_all().await;

    // Sent and recorded: the Block Kit message, the email, a row and an event each.
    let posted = slack.calls("chat.postMessage");
    assert_eq!(posted.len(), 1);
    assert_eq!(posted[0].token, "xoxb-test");
    assert_eq!(posted[0].body["channel"], "U111");
    let blocks = posted[0].body["blocks"].as_array().unwrap();
    assert_eq!(blocks[0]["text"]["text"], "Refund order 1234");
    assert!(
        blocks[1]["text"]["text"]
            .as_str()
            .unwrap()
            .contains("*support-bot* asks to *refund*")
    );
    assert!(
        blocks[1]["fields"].to_string().contains("*amount*\\n120"),
        "{}",
        blocks[1]
    );
    let actions = blocks.last().unwrap();
    let ids: Vec<&str> = actions["elements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["action_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["approve", "reject", "modify"]);
    let value = actions["elements"][0]["value"].as_str().unwrap().to_owned();
    let rows = deliveries(&app, &id).await;
    assert_eq!(rows.len(), 2);
    let slack_row = rows.iter().find(|d| d["channel"] == "slack").unwrap();
    assert_eq!(slack_row["status"], "sent");
    assert_eq!(slack_row["slackChannel"], "DU111");
    assert_eq!(slack_row["attempts"], 1);
    let all = types(&app.all_events(&id).await);
    assert!(all.contains(&"approval.sent.slack".into()), "{all:?}");
    assert!(all.contains(&"approval.sent.email".into()), "{all:?}");

    // A forged or stale signature changes nothing.
    let approve = slack::click("U111", "approve", &value);
    let forged = interact_raw(&app, slack::form(&approve), 0, Some("v0=00ff")).await;
    assert_eq!(forged.status, 401, "{}", forged.body);
    let stale = interact(&app, &approve, -301).await;
    assert_eq!(stale.status, 401);
    assert_eq!(status(&app, &id).await["status"], "PENDING");

    // Someone who is not an approver is told so, only them, and nothing changes. The
    // click is acknowledged before Slack is asked who they are (a job asks).
    slack.set_email("U999", "eve@example.com");
    let eve = interact(&app, &slack::click("U999", "approve", &value), 0).await;
    assert_eq!(eve.status, 200);
    assert!(slack.calls("users.info").is_empty());
    assert!(slack.calls("chat.postEphemeral").is_empty());
    app.drain_all().await;
    let told = slack.calls("chat.postEphemeral");
    assert_eq!(told.len(), 1);
    assert_eq!(told[0].body["user"], "U999");
    assert_eq!(status(&app, &id).await["status"], "PENDING");

    // An unknown action is refused.
    let unknown = interact(&app, &slack::click("U111", "delete_everything", &value), 0).await;
    assert_eq!(unknown.status, 422, "{}", unknown.body);

    // "Approve with changes" opens the modal built from the uiSchema.
    let opened = interact(&app, &slack::click("U111", "modify", &value), 0).await;
    assert_eq!(opened.status, 200);
    let views = slack.calls("views.open");
    assert_eq!(views.len(), 1);
    assert_eq!(views[0].body["trigger_id"], "trigger-U111-modify");
    let view = &views[0].body["view"];
    let amount = view["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["block_id"] == "amount")
        .expect("an input for amount");
    assert_eq!(amount["element"]["type"], "number_input");
    assert_eq!(amount["element"]["initial_value"], "120");
    let metadata = view["private_metadata"].as_str().unwrap();

    // Out of the schema's range: the modal shows the error by the field.
    let too_much = interact(
        &app,
        &slack::submit(
            "U111",
            metadata,
            json!({"amount": {"value": {"type": "number_input", "value": "500"}}}),
        ),
        0,
    )
    .await;
    assert_eq!(
        too_much.body["response_action"], "errors",
        "{}",
        too_much.body
    );
    assert!(
        too_much.body["errors"]["amount"].is_string(),
        "{}",
        too_much.body
    );
    assert_eq!(status(&app, &id).await["status"], "PENDING");

    let ok = interact(
        &app,
        &slack::submit(
            "U111",
            metadata,
            json!({
                "amount": {"value": {"type": "number_input", "value": "80"}},
                "feedback": {"value": {"type": "plain_text_input", "value": "partial refund"}}
            }),
        ),
        0,
    )
    .await;
    assert_eq!(ok.body, json!({"response_action": "clear"}));
    assert_eq!(
        status(&app, &id).await["status"],
        "PENDING",
        "decided by the job"
    );
    assert!(app.drain_all().await.contains(&"slack.answer".to_owned()));
    let a = status(&app, &id).await;
    assert_eq!(a["status"], "APPROVED");
    assert_eq!(a["decision"]["decision"], "modified");
    assert_eq!(a["decision"]["responseData"], json!({"amount": 80}));
    assert_eq!(a["decision"]["source"], "slack");
    assert_eq!(a["decision"]["respondedBy"], "U111");
    assert_eq!(a["decision"]["feedback"], "partial refund");
    assert_eq!(a["approvedData"]["amount"], 80);

    // The message now says who decided what, and has no buttons.
    app.drain_all().await;
    let updated = slack.calls("chat.update");
    assert_eq!(updated.len(), 1);
    assert_eq!(updated[0].body["ts"], slack_row["slackTs"]);
    assert_eq!(updated[0].body["channel"], "DU111");
    let blocks = updated[0].body["blocks"].as_array().unwrap();
    assert!(blocks.iter().all(|b| b["type"] != "actions"), "{blocks:?}");
    let said = blocks.last().unwrap()["text"]["text"].as_str().unwrap();
    assert!(
        said.starts_with("Approved with changes by U111 via slack at 2026-01-01 12:00 UTC"),
        "{said}"
    );

    // A late click (here base64-encoded, as a function URL may pass it) changes nothing.
    let late = slack::form(&approve);
    let encoded = base64_encode(&late);
    let ts = app.clock.now().timestamp();
    let res = app
        .http
        .post(format!("{}/slack/interactions", app.base))
        .header("x-slack-request-timestamp", ts.to_string())
        .header(
            "x-slack-signature",
            slack::signature(SIGNING_SECRET, ts, &late),
        )
        .body(encoded)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    app.drain_all().await;
    let told = slack.calls("chat.postEphemeral");
    assert_eq!(told.len(), 2);
    assert!(
        told[1].body["text"]
            .as_str()
            .unwrap()
            .contains("already answered"),
        "{}",
        told[1].body
    );
    let decisions: Vec<String> = types(&app.events(&id).await);
    assert_eq!(decisions, ["approval.created", "approval.modified"]);
    app.shutdown().await;
}

on_every_store!(a_slack_answer_is_acknowledged_before_slack_is_asked_and_decided_by_a_job);
async fn a_slack_answer_is_acknowledged_before_slack_is_asked_and_decided_by_a_job(
    backend: Backend,
) {
    let (app, slack) = spawn(backend).await;
    // Ann is an approver by email; on Slack she is U222, which only Slack can tell.
    let mut body = approval_body();
    body["approvers"] = json!([
        {"channel": "slack", "recipient": "C333", "id": "ann@example.com"}
    ]);
    let id = app.create(&body).await;
    app.drain_all().await;
    let posted = slack.calls("chat.postMessage");
    let value =
        posted[0].body["blocks"].as_array().unwrap().last().unwrap()["elements"][1]["value"]
            .as_str()
            .unwrap()
            .to_owned();
    slack.set_email("U222", "ann@example.com");

    // Slack is down when the job asks who U222 is: the click was acknowledged all the
    // same, and the job tries again.
    slack.fail_next("users.info", "service_unavailable", None);
    let click = interact(&app, &slack::click("U222", "reject", &value), 0).await;
    assert_eq!((click.status, &click.body), (200, &json!("")));
    assert!(
        slack.calls("users.info").is_empty(),
        "nothing asked before the answer"
    );
    assert_eq!(app.drain_all().await, ["slack.answer"]);
    assert_eq!(status(&app, &id).await["status"], "PENDING");
    app.clock.advance(chrono::Duration::minutes(5));
    app.drain_all().await;
    let a = status(&app, &id).await;
    assert_eq!(a["status"], "REJECTED", "{a}");
    assert_eq!(a["decision"]["respondedBy"], "ann@example.com");
    assert_eq!(a["decision"]["source"], "slack");
    assert_eq!(slack.calls("users.info").len(), 2);
    assert!(slack.calls("chat.postEphemeral").is_empty());

    // The same click again (Slack retries when an answer is slow): one decision, and
    // the second is told it changed nothing.
    interact(&app, &slack::click("U222", "reject", &value), 0).await;
    app.drain_all().await;
    let told = slack.calls("chat.postEphemeral");
    assert_eq!(told.len(), 1);
    assert_eq!(told[0].body["channel"], "D1", "where they clicked");
    assert!(
        told[0].body["text"]
            .as_str()
            .unwrap()
            .contains("already answered"),
        "{}",
        told[0].body
    );
    assert_eq!(
        types(&app.events(&id).await),
        ["approval.created", "approval.rejected"]
    );
    app.shutdown().await;
}

fn base64_encode(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

on_every_store!(an_email_link_shows_a_page_and_only_its_form_decides);
async fn an_email_link_shows_a_page_and_only_its_form_decides(backend: Backend) {
    let app = greenlight_tests::spawn_app(backend).await;
    let mut body = slack_and_email();
    body["approvers"][0]["recipient"] = json!("C-approvals");
    let id = app.create(&body).await;
    app.drain_all().await;

    let mail = outbox(&app)
        .await
        .into_iter()
        .find(|m| m["channel"] == "email")
        .unwrap();
    assert_eq!(mail["recipient"], "ann@example.com");
    assert_eq!(mail["subject"], "Approval needed: Refund order 1234");
    let link = email_link(&app, "ann@example.com").await;
    assert!(link.starts_with(&format!("{}/a/", app.base)), "{link}");

    // Opening it (twice, as a mail scanner and then Ann) decides nothing.
    for _ in 0..2 {
        let (code, page) = get_page(&app, &link).await;
        assert_eq!(code, 200);
        assert!(
            page.contains("Refund order 1234") && page.contains("name=\"field.amount\""),
            "{page}"
        );
    }
    assert_eq!(status(&app, &id).await["status"], "PENDING");

    // A bad value comes back with the error by the field; nothing decided.
    let (code, page) = post_page(
        &app,
        &link,
        &[("decision", "modified"), ("field.amount", "500")],
    )
    .await;
    assert_eq!(code, 422);
    assert!(
        page.contains("Nothing was decided") && page.contains("value=\"500\""),
        "{page}"
    );
    assert_eq!(status(&app, &id).await["status"], "PENDING");

    let (code, page) = post_page(
        &app,
        &link,
        &[
            ("decision", "modified"),
            ("field.amount", "80"),
            ("feedback", "half now"),
        ],
    )
    .await;
    assert_eq!(code, 200);
    assert!(page.contains("You have answered this request"), "{page}");
    let a = status(&app, &id).await;
    assert_eq!(a["status"], "APPROVED");
    assert_eq!(a["decision"]["decision"], "modified");
    assert_eq!(a["decision"]["respondedBy"], "ann@example.com");
    assert_eq!(a["decision"]["source"], "email");
    assert_eq!(a["approvedData"]["amount"], 80);
    let used = deliveries(&app, &id).await;
    assert!(
        used.iter()
            .any(|d| d["channel"] == "email" && d["linkUsedAt"].is_string())
    );

    // The Slack message (in the outbox) is updated to the outcome.
    app.drain_all().await;
    let message = outbox(&app)
        .await
        .into_iter()
        .find(|m| m["channel"] == "slack")
        .unwrap();
    assert!(message["updatedAt"].is_string(), "{message}");
    let text = message["text"].as_str().unwrap();
    assert!(
        text.contains("Approved with changes by ann@example.com via email"),
        "{text}"
    );
    assert!(!text.contains("[Approve]"), "{text}");

    // Used: the link shows the outcome and decides nothing more.
    let (code, page) = post_page(&app, &link, &[("decision", "rejected")]).await;
    assert_eq!(code, 200);
    assert!(
        page.contains("You have answered this request") && !page.contains("<form"),
        "{page}"
    );
    assert_eq!(
        types(&app.events(&id).await),
        ["approval.created", "approval.modified"]
    );

    // Tampered and made-up tokens are refused.
    let (head, sig) = link.rsplit_once('.').unwrap();
    let tampered = format!("{head}x.{sig}");
    assert_eq!(get_page(&app, &tampered).await.0, 403);
    assert_eq!(
        get_page(&app, &format!("{}/a/not-a-token", app.base))
            .await
            .0,
        400
    );
    assert_eq!(
        post_page(&app, &tampered, &[("decision", "approved")])
            .await
            .0,
        403
    );
    app.shutdown().await;
}

on_every_store!(two_clicks_on_one_link_make_one_decision);
async fn two_clicks_on_one_link_make_one_decision(backend: Backend) {
    let app = greenlight_tests::spawn_app(backend).await;
    let id = app.create(&approval_body()).await;
    app.drain_all().await;
    let link = email_link(&app, "ann@example.com").await;
    let (a, b) = tokio::join!(
        post_page(&app, &link, &[("decision", "approved")]),
        post_page(&app, &link, &[("decision", "rejected")]),
    );
    assert_eq!((a.0, b.0), (200, 200));
    let decided: Vec<String> = types(&app.events(&id).await)
        .into_iter()
        .filter(|t| t != "approval.created")
        .collect();
    assert_eq!(decided.len(), 1, "{decided:?}");
    app.shutdown().await;
}

on_every_store!(an_expired_link_shows_the_outcome);
async fn an_expired_link_shows_the_outcome(backend: Backend) {
    let app = greenlight_tests::spawn_app(backend).await;
    let id = app.create(&approval_body()).await;
    app.drain_all().await;
    let link = email_link(&app, "ann@example.com").await;
    app.clock.advance(chrono::Duration::hours(1));
    app.drain_all().await;
    assert_eq!(status(&app, &id).await["status"], "TIMEOUT");
    let (code, page) = get_page(&app, &link).await;
    assert_eq!(code, 200);
    assert!(
        page.contains("already been answered") && page.contains("Timed out"),
        "{page}"
    );
    let (code, page) = post_page(&app, &link, &[("decision", "approved")]).await;
    assert_eq!(code, 200);
    assert!(!page.contains("<form"), "{page}");
    assert_eq!(status(&app, &id).await["status"], "TIMEOUT");
    app.shutdown().await;
}

on_every_store!(a_text_message_carries_a_short_link_to_the_same_page);
async fn a_text_message_carries_a_short_link_to_the_same_page(backend: Backend) {
    let app = greenlight_tests::spawn_app(backend).await;
    let mut body = approval_body();
    body["approvers"] = json!([{"channel": "sms", "recipient": "+15555550100", "id": "sam"}]);
    let id = app.create(&body).await;
    app.drain_all().await;
    let sms = outbox(&app)
        .await
        .into_iter()
        .find(|m| m["channel"] == "sms")
        .unwrap();
    let text = sms["text"].as_str().unwrap();
    assert!(text.len() <= 160, "{} characters: {text}", text.len());
    let short = sms["links"][0].as_str().unwrap();
    assert!(short.starts_with(&format!("{}/s/", app.base)), "{short}");
    let res = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(short)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let page = format!(
        "{}{}",
        app.base,
        res.headers()["location"].to_str().unwrap()
    );
    let (code, _) = post_page(&app, &page, &[("decision", "rejected"), ("feedback", "no")]).await;
    assert_eq!(code, 200);
    let a = status(&app, &id).await;
    assert_eq!(
        (a["status"].as_str(), a["decision"]["source"].as_str()),
        (Some("REJECTED"), Some("sms"))
    );
    assert_eq!(a["decision"]["respondedBy"], "sam");
    assert_eq!(
        get_page(&app, &format!("{}/s/unknown", app.base)).await.0,
        400
    );
    app.shutdown().await;
}

on_every_store!(slack_errors_are_retried_or_fail_the_delivery_with_the_reason);
async fn slack_errors_are_retried_or_fail_the_delivery_with_the_reason(backend: Backend) {
    let (app, slack) = spawn(backend).await;
    let mut body = approval_body();
    body["approvers"] = json!([{"channel": "slack", "recipient": "U111"}]);

    slack.fail_next("chat.postMessage", "rate_limited", Some(7));
    let id = app.create(&body).await;
    app.drain_all().await;
    let d = &deliveries(&app, &id).await[0];
    assert_eq!(
        (d["status"].as_str(), d["attempts"].as_i64()),
        (Some("pending"), Some(1))
    );
    assert_eq!(d["nextRetryAt"], "2026-01-01T12:00:07Z", "{d}");
    assert!(
        d["lastError"].as_str().unwrap().contains("rate_limited"),
        "{d}"
    );
    app.clock.advance(chrono::Duration::seconds(7));
    app.drain_all().await;
    let d = &deliveries(&app, &id).await[0];
    assert_eq!(
        (d["status"].as_str(), d["attempts"].as_i64()),
        (Some("sent"), Some(2))
    );

    slack.fail_next("chat.postMessage", "invalid_auth", None);
    let other = app.create(&body).await;
    app.drain_all().await;
    let d = &deliveries(&app, &other).await[0];
    assert_eq!(d["status"], "failed");
    assert_eq!(d["lastError"], "chat.postMessage: invalid_auth");
    let failed = app
        .all_events(&other)
        .await
        .into_iter()
        .find(|e| e["type"] == "delivery.failed")
        .expect("a delivery.failed event");
    assert_eq!(failed["data"]["channel"], "slack");
    assert_eq!(failed["data"]["error"], "chat.postMessage: invalid_auth");
    assert_eq!(status(&app, &other).await["status"], "PENDING");

    // Slack down for every attempt: failed after the last one, with the reason.
    for _ in 0..8 {
        slack.script(
            "chat.postMessage",
            slack::Scripted {
                status: 503,
                body: json!({}),
                retry_after: None,
            },
        );
    }
    let third = app.create(&body).await;
    for _ in 0..10 {
        app.drain_all().await;
        app.clock.advance(chrono::Duration::minutes(6));
    }
    let d = &deliveries(&app, &third).await[0];
    assert_eq!(
        (d["status"].as_str(), d["attempts"].as_i64()),
        (Some("failed"), Some(8)),
        "{d}"
    );
    assert!(
        d["lastError"]
            .as_str()
            .unwrap()
            .contains("after 8 attempts"),
        "{d}"
    );
    app.shutdown().await;
}

on_every_store!(an_approver_on_a_channel_not_configured_is_refused_at_create);
async fn an_approver_on_a_channel_not_configured_is_refused_at_create(backend: Backend) {
    let app = greenlight_tests::spawn_app_configured(backend, |app, _| {
        app.channels.sms = None;
        app.channels.sms_offered = false;
    })
    .await;
    let mut body = approval_body();
    body["approvers"] = json!([
        {"channel": "email", "recipient": "ann@example.com"},
        {"channel": "sms", "recipient": "+15555550100"}
    ]);
    let r = app.post("/v1/approvals", &body).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.body["errors"][0]["field"], "/approvers/1/channel");
    let listed = app.get("/v1/approvals").await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 0);
    app.shutdown().await;
}

on_every_store!(escalation_and_reminders_message_the_right_people);
async fn escalation_and_reminders_message_the_right_people(backend: Backend) {
    let app = greenlight_tests::spawn_app(backend).await;
    let mut body = approval_body();
    body["timeoutAction"] = json!("escalate");
    body["reminders"] = json!([{"afterSeconds": 600}]);
    body["escalation"] = json!([{"approvers": [{"channel": "email", "recipient": "boss@example.com"}], "timeoutSeconds": 3600}]);
    let id = app.create(&body).await;
    app.drain_all().await;
    let first = email_link(&app, "ann@example.com").await;
    app.clock.advance(chrono::Duration::seconds(600));
    app.drain_all().await;
    let mails: Vec<Value> = outbox(&app).await;
    let to_ann: Vec<&Value> = mails
        .iter()
        .filter(|m| m["recipient"] == "ann@example.com")
        .collect();
    assert_eq!(to_ann.len(), 2);
    assert_eq!(
        to_ann[1]["subject"],
        "Reminder: Approval needed: Refund order 1234"
    );
    app.clock.advance(chrono::Duration::seconds(3000));
    app.drain_all().await;
    assert_eq!(status(&app, &id).await["level"], 1);
    let boss = email_link(&app, "boss@example.com").await;
    let (_, page) = get_page(&app, &first).await;
    assert!(
        page.contains("gone on to other approvers") && !page.contains("<form"),
        "{page}"
    );
    let (code, _) = post_page(&app, &boss, &[("decision", "approved")]).await;
    assert_eq!(code, 200);
    assert_eq!(
        status(&app, &id).await["decision"]["respondedBy"],
        "boss@example.com"
    );
    let purposes: Vec<String> = deliveries(&app, &id)
        .await
        .iter()
        .map(|d| {
            format!(
                "{}:{}:{}",
                d["recipient"].as_str().unwrap(),
                d["purpose"].as_str().unwrap(),
                d["level"]
            )
        })
        .collect();
    assert_eq!(
        purposes,
        [
            "ann@example.com:request:0",
            "ann@example.com:reminder:0",
            "boss@example.com:request:1"
        ]
    );
    app.shutdown().await;
}

on_every_store!(an_escalation_takes_the_buttons_off_the_first_level_s_slack_messages);
async fn an_escalation_takes_the_buttons_off_the_first_level_s_slack_messages(backend: Backend) {
    let app = greenlight_tests::spawn_app(backend).await;
    let mut body = approval_body();
    body["approvers"] = json!([{"channel": "slack", "recipient": "U0FIRST"}]);
    body["timeoutAction"] = json!("escalate");
    body["escalation"] = json!([{"approvers": [{"channel": "slack", "recipient": "U0BOSS"}], "timeoutSeconds": 600}]);
    app.create(&body).await;
    app.drain_all().await;
    app.clock.advance(chrono::Duration::hours(1));
    app.drain_all().await;
    let slack: Vec<Value> = outbox(&app)
        .await
        .into_iter()
        .filter(|m| m["channel"] == "slack")
        .collect();
    let first = slack.iter().find(|m| m["recipient"] == "U0FIRST").unwrap();
    let text = first["text"].as_str().unwrap();
    assert!(first["updatedAt"].is_string(), "{first}");
    assert!(
        text.contains("Passed on to the next approvers") && !text.contains("[Approve]"),
        "{text}"
    );
    let boss = slack.iter().find(|m| m["recipient"] == "U0BOSS").unwrap();
    assert!(
        boss["updatedAt"].is_null() && boss["text"].as_str().unwrap().contains("[Approve]"),
        "{boss}"
    );
    app.shutdown().await;
}
