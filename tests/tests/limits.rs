//! Limits on bursts: calls per API key and per tenant, sign-in attempts per email and
//! per address, messages to approvers per tenant and hour; and the store's shared
//! counter that holds the limits across the containers of one deployment.

use chrono::Duration;
use greenlight::domain::{Limits, Quota};
use greenlight_tests::{
    Backend, approval_body, fresh_stores, on_both_stores, on_every_store, spawn_app,
    spawn_app_configured, t0,
};
use reqwest::Method;
use serde_json::json;

async fn past_the_key_then_the_tenant_quota_calls_get_429_with_when_to_return(backend: Backend) {
    let app = spawn_app_configured(backend, |ports, _| {
        ports.limits = Limits::new(3, 5, 1000);
    })
    .await;
    for _ in 0..3 {
        assert_eq!(app.get("/v1/approvals").await.status, 200);
    }
    let refused = app.get("/v1/approvals").await;
    assert_eq!(refused.status, 429, "{}", refused.body);
    assert_eq!(refused.body["type"], "urn:greenlight:problem:rate-limited");
    assert_eq!(refused.headers["content-type"], "application/problem+json");
    let retry: u64 = refused.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    assert_eq!(refused.headers["ratelimit-policy"], "\"key\";q=3;w=60");
    assert_eq!(
        refused.headers["ratelimit"].to_str().unwrap(),
        format!("\"key\";r=0;t={retry}")
    );

    // Another key of the tenant has its own bucket, until the tenant's is empty.
    let (_, second) = app
        .app
        .accounts()
        .create_api_key("default", greenlight::app::NewKey::agent("second"), None)
        .await
        .unwrap();
    let with_second = || app.send(Method::GET, "/v1/approvals", Some(&second), None);
    assert_eq!(with_second().await.status, 200);
    assert_eq!(with_second().await.status, 200);
    let tenant_full = with_second().await;
    assert_eq!(tenant_full.status, 429);
    assert_eq!(
        tenant_full.headers["ratelimit-policy"],
        "\"tenant\";q=5;w=60"
    );

    // Another tenant is not held up.
    app.app
        .accounts()
        .create_tenant(Some("acme".into()), "Acme")
        .await
        .unwrap();
    let (_, acme) = app
        .app
        .accounts()
        .create_api_key("acme", greenlight::app::NewKey::agent("acme"), None)
        .await
        .unwrap();
    let other = app
        .send(Method::GET, "/v1/approvals", Some(&acme), None)
        .await;
    assert_eq!(other.status, 200);
    app.shutdown().await;
}

async fn sign_in_attempts_are_limited_per_email_and_per_address(backend: Backend) {
    let app = spawn_app(backend).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let attempt = |email: String| {
        let http = http.clone();
        let url = format!("{}/dashboard/sign-in", app.base);
        async move {
            http.post(url)
                .form(&[
                    ("email", email.as_str()),
                    ("password", "wrong"),
                    ("next", "/"),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    for _ in 0..10 {
        assert_eq!(attempt("Ann@Example.com".into()).await.status(), 401);
    }
    // The same person however the address is written.
    let refused = attempt(" ann@example.com".into()).await;
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    assert!(refused.text().await.unwrap().contains("Too many attempts"));

    // Many emails from one address: the address's quota (50) ends it.
    let mut statuses = Vec::new();
    for i in 0..40 {
        statuses.push(attempt(format!("guess{i}@example.com")).await.status());
    }
    assert!(statuses.iter().all(|s| *s == 401), "{statuses:?}");
    assert_eq!(attempt("one-more@example.com".into()).await.status(), 429);
    app.shutdown().await;
}

async fn messages_past_the_hourly_cap_wait_untried(backend: Backend) {
    let app = spawn_app_configured(backend, |ports, _| {
        ports.limits = Limits::new(1000, 1000, 2);
    })
    .await;
    let mut body = approval_body();
    body["approvers"] = json!([
        {"channel": "email", "recipient": "ann@example.com"},
        {"channel": "email", "recipient": "bob@example.com"},
        {"channel": "email", "recipient": "cy@example.com"}
    ]);
    let id = app.create(&body).await;
    app.drain_all().await;
    let messages = app.get(&format!("/v1/approvals/{id}/messages")).await;
    let items = messages.body["items"].as_array().unwrap();
    let sent = items.iter().filter(|m| m["status"] == "sent").count();
    let waiting: Vec<_> = items.iter().filter(|m| m["status"] == "pending").collect();
    assert_eq!((sent, waiting.len()), (2, 1), "{}", messages.body);
    assert_eq!(waiting[0]["attempts"], 0);
    assert!(
        waiting[0]["lastError"]
            .as_str()
            .unwrap()
            .contains("cap of 2 messages an hour"),
        "{}",
        waiting[0]
    );
    assert!(waiting[0]["nextRetryAt"].is_string());
    app.shutdown().await;
}

/// The counter every container of a deployment shares.
async fn the_store_counts_one_window_per_key(backend: Backend) {
    let stores = fresh_stores(backend).await;
    let q = Quota::per_minute("test", 2);
    let now = t0();
    let take = |key: &'static str, at| {
        let rates = stores.rates.clone();
        async move { rates.take(&q, key, at).await.unwrap() }
    };
    assert!(take("a", now).await.allowed);
    let second = take("a", now).await;
    assert_eq!((second.allowed, second.remaining), (true, 0));
    let third = take("a", now).await;
    assert!(!third.allowed);
    assert!((1..=60).contains(&third.reset_seconds), "{third:?}");
    assert!(take("b", now).await.allowed);
    assert!(take("a", now + Duration::seconds(61)).await.allowed);
    let forgotten = stores
        .rates
        .forget_before(now + Duration::hours(2))
        .await
        .unwrap();
    assert_eq!(forgotten, 3);
}

on_every_store!(
    past_the_key_then_the_tenant_quota_calls_get_429_with_when_to_return,
    sign_in_attempts_are_limited_per_email_and_per_address,
    messages_past_the_hourly_cap_wait_untried,
);

// On DynamoDB a counter's TTL forgets it, so `forget_before` has nothing to count.
on_both_stores!(the_store_counts_one_window_per_key,);
