//! Work that must not wedge: jobs stop at their attempts whatever kills them, leases
//! live only as long as their worker, the sweep goes on past a request that fails, and
//! a message is sent at most once however its record races other changes.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Duration as Span;
use greenlight::adapters::slack_api::SlackWebApi;
use greenlight::app::accounts::DEFAULT_TENANT;
use greenlight::app::outbox::{JobRunner, RunnerConfig, Tasks};
use greenlight::domain::{DeliveryRef, Lane, Task, Tenant};
use greenlight::ports::{Answer, JobStatus, NewJob, Post, SendFailure, WebhookSender};
use greenlight_tests::slack::SlackServer;
use greenlight_tests::{
    Backend, TestApp, approval_body, fresh_stores, on_both_stores, spawn_app, spawn_app_configured,
    t0,
};
use serde_json::json;

fn job(id: &str, max_attempts: i32) -> NewJob {
    NewJob {
        id: id.into(),
        tenant_id: "t1".into(),
        task: Task::SendWebhook(DeliveryRef {
            tenant_id: "t1".into(),
            delivery_id: id.into(),
        }),
        approval_id: None,
        run_at: t0(),
        max_attempts,
    }
}

async fn a_lease_that_lapses_on_the_last_attempt_buries_the_job(backend: Backend) {
    let s = fresh_stores(backend).await;
    s.tenants
        .create_tenant(&Tenant {
            id: "t1".into(),
            name: "t1".into(),
            created_at: t0(),
        })
        .await
        .unwrap();
    s.jobs
        .enqueue(vec![job("job_1", 2), job("job_2", 5)])
        .await
        .unwrap();
    let lease = Duration::from_secs(8);
    // Two workers die holding job_1, one per attempt; job_2 is renewed by a live one.
    assert_eq!(
        s.jobs.claim("dead-1", t0(), lease, 1).await.unwrap().len(),
        1
    );
    assert_eq!(
        s.jobs.claim("live", t0(), lease, 1).await.unwrap()[0].id,
        "job_2"
    );
    let later = t0() + Span::seconds(9);
    assert_eq!(
        s.jobs
            .renew("live", later + Span::seconds(8))
            .await
            .unwrap(),
        1
    );
    let again = s.jobs.claim("dead-2", later, lease, 10).await.unwrap();
    assert_eq!(
        again.iter().map(|j| j.id.as_str()).collect::<Vec<_>>(),
        ["job_1"],
        "the renewed job stays with its live worker"
    );
    let last = t0() + Span::seconds(18);
    assert_eq!(
        s.jobs.renew("live", last + Span::seconds(8)).await.unwrap(),
        1
    );
    assert!(
        s.jobs
            .claim("next", last, lease, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let j = s.jobs.get_job("job_1").await.unwrap().unwrap();
    assert_eq!((j.status, j.attempts), (JobStatus::Dead, 2));
    assert!(j.last_error.unwrap().contains("never finished"));
    let buried = s.jobs.buried("t1", 10).await.unwrap();
    assert_eq!(buried.len(), 1);
    assert!(s.jobs.buried("t2", 10).await.unwrap().is_empty());
    assert!(s.jobs.complete("job_2", "live").await.unwrap());
}

/// A sender that panics on every post, as a bug in a job would.
struct Panicking;

#[async_trait]
impl WebhookSender for Panicking {
    async fn check(&self, _: &url::Url) -> Result<(), SendFailure> {
        Ok(())
    }
    async fn post(&self, _: Post) -> (Duration, Result<Answer, SendFailure>) {
        panic!("a bug in the sender")
    }
}

async fn a_job_that_panics_is_buried_after_its_last_attempt(backend: Backend) {
    let app = spawn_app_configured(backend, |ports, _| ports.sender = Arc::new(Panicking)).await;
    let r = app
        .post(
            "/v1/webhooks",
            &json!({"url": "https://hooks.example.com/x", "events": ["approval.*"]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    app.create(&approval_body()).await;
    let mut rounds = 0;
    while app
        .stores
        .jobs
        .buried(DEFAULT_TENANT, 10)
        .await
        .unwrap()
        .is_empty()
    {
        rounds += 1;
        assert!(rounds < 60, "a panicking job is still retried");
        app.drain_all().await;
        app.clock.advance(Span::days(1));
    }
    app.clock.advance(Span::days(30));
    for _ in 0..40 {
        app.drain_all().await;
        app.clock.advance(Span::days(1));
    }
    // The creation's webhook, and the timeout's that followed as the days went by.
    let buried = app.stores.jobs.buried(DEFAULT_TENANT, 10).await.unwrap();
    assert!(!buried.is_empty());
    for j in &buried {
        assert_eq!(j.kind, "webhook.send");
        assert_eq!(j.attempts, j.max_attempts);
        assert!(
            j.last_error.as_deref().unwrap().contains("panicked"),
            "{j:?}"
        );
    }
    assert!(
        app.drain_all().await.is_empty(),
        "nothing runs after burial"
    );
    let (status, page) = admin_page(&app, "/dashboard/admin/jobs").await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("webhook.send") && page.contains("panicked"),
        "{page}"
    );
    app.shutdown().await;
}

/// A page of the dashboard as its first admin sees it.
async fn admin_page(app: &TestApp, path: &str) -> (u16, String) {
    let (email, password) = ("admin@example.com", "a long enough password");
    app.app
        .accounts()
        .ensure_first_admin(Some(email), Some(password))
        .await
        .unwrap();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let signed_in = http
        .post(format!("{}/dashboard/sign-in", app.base))
        .form(&[
            ("email", email),
            ("password", password),
            ("next", "/dashboard"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 303);
    let cookie = signed_in.headers()["set-cookie"].to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let res = http
        .get(format!("{}{path}", app.base))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

async fn the_sweep_goes_on_past_a_request_that_fails(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut body = approval_body();
    body["timeoutSeconds"] = json!(60);
    let broken = app.create(&body).await;
    app.clock.advance(Span::seconds(1));
    let fine = app.create(&body).await;
    app.execute_sql("UPDATE approvals SET state = '{}' WHERE id = $1", &broken)
        .await;
    app.clock.advance(Span::minutes(10));
    let swept = app.app.sweep().await.unwrap();
    assert_eq!(
        swept.expired, 1,
        "the request behind the broken one expires"
    );
    let r = app.get(&format!("/v1/approvals/{fine}")).await;
    assert_ne!(r.body["status"], "PENDING", "{}", r.body);
    app.shutdown().await;
}

const SENDS: usize = 20;

/// Twenty messages of one request and a decision, all at once; every message's record
/// races the others and the decision.
async fn racing_sends_post_each_message_at_most_once(backend: Backend) {
    let slack = SlackServer::start().await;
    let base = slack.base.clone();
    let app = spawn_app_configured(backend, |ports, _| {
        ports.channels.slack = Some(Arc::new(SlackWebApi::new(&base, "xoxb-test")));
    })
    .await;
    let runner = |lane, batch| {
        JobRunner::new(
            app.app.clone(),
            RunnerConfig {
                lane,
                batch,
                ..RunnerConfig::default()
            },
            Tasks::ALL,
        )
    };
    for round in 0..3 {
        let mut body = approval_body();
        body["approvers"] = (0..SENDS)
            .map(|i| json!({"channel": "slack", "recipient": format!("U{round}{i:02}")}))
            .collect();
        let id = app.create(&body).await;
        runner(Lane::Main, 32).drain().await.unwrap();
        let mut racing = tokio::task::JoinSet::new();
        for _ in 0..SENDS {
            let one = runner(Lane::Sends, 1);
            racing.spawn(async move { one.run_due().await.map(|_| ()) });
        }
        let approve = json!({"decision": "approved"});
        let decision = app.decide(&id, &approve);
        let (decided, _) = tokio::join!(decision, async {
            while let Some(done) = racing.join_next().await {
                done.unwrap().unwrap();
            }
        });
        assert_eq!(decided.status, 200, "{}", decided.body);
        for _ in 0..10 {
            app.drain_all().await;
            app.clock.advance(Span::hours(1));
        }
        let posts = slack.calls("chat.postMessage");
        for i in 0..SENDS {
            let to = format!("U{round}{i:02}");
            let n = posts.iter().filter(|c| c.body["channel"] == to).count();
            assert!(n <= 1, "round {round}: {to} was sent {n} messages");
        }
        let rows = app.get(&format!("/v1/approvals/{id}/messages")).await;
        let sent = rows.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["status"] == "sent")
            .count();
        let posted = posts
            .iter()
            .filter(|c| {
                c.body["channel"]
                    .as_str()
                    .unwrap()
                    .starts_with(&format!("U{round}"))
            })
            .count();
        assert_eq!(sent, posted, "round {round}: every post is recorded");
    }
    app.shutdown().await;
}

// Not on DynamoDB: two of these reach into SQL, and the racing sends, which pass there,
// take a minute and a half on the emulator.
on_both_stores!(
    a_lease_that_lapses_on_the_last_attempt_buries_the_job,
    a_job_that_panics_is_buried_after_its_last_attempt,
    the_sweep_goes_on_past_a_request_that_fails,
    racing_sends_post_each_message_at_most_once,
);

on_both_stores!(a_job_run_by_another_queues_function_is_buried_at_once);
async fn a_job_run_by_another_queues_function_is_buried_at_once(backend: Backend) {
    let s = fresh_stores(backend).await;
    s.tenants
        .create_tenant(&Tenant {
            id: "t1".into(),
            name: "t1".into(),
            created_at: t0(),
        })
        .await
        .unwrap();
    s.jobs.enqueue(vec![job("job_sent", 8)]).await.unwrap();
    let clock = Arc::new(greenlight::adapters::clock::ManualClock::new(t0()));
    let app = greenlight::app::App::new(greenlight::run::local::compose(
        &s,
        clock,
        Arc::new(greenlight::adapters::ids::UuidIds),
        true,
    ));
    // The workflow-steps function's runner, handed an outbox job: only a routing
    // mistake does that, and no retry there can mend it.
    let steps = JobRunner::new(app, RunnerConfig::default(), Tasks::STEPS);
    assert_eq!(steps.drain().await.unwrap(), ["webhook.send"]);
    let buried = s.jobs.buried("t1", 10).await.unwrap();
    assert_eq!(buried.len(), 1, "{buried:?}");
    assert_eq!(buried[0].attempts, 1);
    assert!(
        buried[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("webhook.send is not run by this function"),
        "{buried:?}"
    );
}
