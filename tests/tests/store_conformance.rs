//! One conformance suite, run against every store: SQLite, PostgreSQL and DynamoDB.

use std::time::Duration;

use chrono::Duration as Span;
use greenlight::adapters::sql::Stores;
use greenlight::domain::chain::GENESIS_HASH;
use greenlight::domain::{
    Actor, Approval, Change, Command, DecisionKind, Event, NewApproval, Source, Status,
};
use greenlight::domain::{ApiKey, DeliveryRef, Task, TaskKind, Tenant};
use greenlight::ports::{
    CreateOutcome, IdempotencyClaim, JobStatus, ListQuery, NewApprovalRecord, NewJob, StoreError,
    TransitionRecord,
};
use greenlight_tests::{Backend, approval_body, fresh_stores, on_every_store, t0};

async fn with_tenants(backend: Backend) -> Stores {
    let stores = fresh_stores(backend).await;
    for id in ["t1", "t2"] {
        stores
            .tenants
            .create_tenant(&Tenant {
                id: id.into(),
                name: id.into(),
                created_at: t0(),
            })
            .await
            .unwrap();
    }
    stores
}

fn new_record(
    tenant: &str,
    id: &str,
    created_at: chrono::DateTime<chrono::Utc>,
) -> NewApprovalRecord {
    let input: NewApproval = serde_json::from_value(approval_body()).unwrap();
    let spec = input.validate(created_at).unwrap();
    let approval = Approval::created(id.into(), spec.clone(), created_at);
    let actor = Actor {
        id: "agent:support-bot".into(),
        source: Source::Api,
    };
    let event = Event::record(
        tenant,
        format!("evt_{id}_1"),
        &approval,
        &Change::Created(Box::new(spec)),
        &actor,
        created_at,
        GENESIS_HASH,
    );
    NewApprovalRecord {
        tenant_id: tenant.into(),
        approval,
        head_seal: "seal".into(),
        event,
        jobs: vec![],
        idempotency: None,
    }
}

fn approve(stored: &Approval, prev_hash: &str, by: &str) -> TransitionRecord {
    let actor = Actor {
        id: by.into(),
        source: Source::Api,
    };
    let now = stored.created_at + Span::seconds(5);
    let change = stored
        .decide(
            Command::Decide {
                decision: DecisionKind::Approved,
                response_data: None,
                feedback: None,
                responded_by: None,
            },
            &actor,
            now,
        )
        .unwrap();
    let next = stored.apply(&change, now).unwrap();
    let event = Event::record(
        "t1",
        format!("evt_{}_{by}", stored.id),
        &next,
        &change,
        &actor,
        now,
        prev_hash,
    );
    TransitionRecord {
        tenant_id: "t1".into(),
        expected_version: stored.version,
        approval: next,
        head_seal: "seal".into(),
        event,
        jobs: vec![],
        cancel_job_kinds: vec![],
        delivery: None,
    }
}

fn job(id: &str, run_at: chrono::DateTime<chrono::Utc>, max_attempts: i32) -> NewJob {
    NewJob {
        id: id.into(),
        tenant_id: "t1".into(),
        task: Task::SendWebhook(DeliveryRef {
            tenant_id: "t1".into(),
            delivery_id: id.into(),
        }),
        approval_id: Some("apr_1".into()),
        run_at,
        max_attempts,
    }
}

async fn a_created_request_reads_back_exactly(backend: Backend) {
    let s = with_tenants(backend).await;
    let rec = new_record("t1", "apr_1", t0());
    let event = rec.event.clone();
    assert_eq!(
        s.approvals.create(rec.clone()).await.unwrap(),
        CreateOutcome::Created
    );
    let got = s.approvals.get("t1", "apr_1").await.unwrap().unwrap();
    assert_eq!(got.approval, rec.approval);
    assert_eq!(got.last_event_hash, event.hash);
    assert_eq!(
        s.approvals.events("t1", "apr_1").await.unwrap(),
        vec![event]
    );
}

async fn a_stale_version_conflicts_and_writes_nothing(backend: Backend) {
    let s = with_tenants(backend).await;
    let rec = new_record("t1", "apr_1", t0());
    s.approvals.create(rec.clone()).await.unwrap();
    let first = approve(&rec.approval, &rec.event.hash, "ann");
    let second = approve(&rec.approval, &rec.event.hash, "bob");
    s.approvals.transition(first.clone()).await.unwrap();
    let lost = s.approvals.transition(second).await;
    assert!(matches!(lost, Err(StoreError::VersionConflict)), "{lost:?}");
    let got = s.approvals.get("t1", "apr_1").await.unwrap().unwrap();
    assert_eq!(got.approval, first.approval);
    assert_eq!(got.approval.decision.unwrap().responded_by, "ann");
    let events = s.approvals.events("t1", "apr_1").await.unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[1].actor, "ann");
}

async fn a_transition_writes_its_jobs_in_the_same_transaction(backend: Backend) {
    let s = with_tenants(backend).await;
    let rec = new_record("t1", "apr_1", t0());
    s.approvals.create(rec.clone()).await.unwrap();
    let mut t = approve(&rec.approval, &rec.event.hash, "ann");
    t.jobs = vec![job("job_ok", t0(), 3)];
    let mut stale = approve(&rec.approval, &rec.event.hash, "bob");
    stale.jobs = vec![job("job_lost", t0(), 3)];
    s.approvals.transition(t).await.unwrap();
    assert!(s.approvals.transition(stale).await.is_err());
    assert!(s.jobs.get_job("job_ok").await.unwrap().is_some());
    assert!(
        s.jobs.get_job("job_lost").await.unwrap().is_none(),
        "a refused transition leaves no outbox rows"
    );
}

async fn a_transition_can_cancel_its_requests_idle_timers(backend: Backend) {
    let s = with_tenants(backend).await;
    let rec = new_record("t1", "apr_1", t0());
    s.approvals.create(rec.clone()).await.unwrap();
    let mut other = job("job_other_request", t0(), 3);
    other.approval_id = Some("apr_2".into());
    s.jobs
        .enqueue(vec![
            job("job_idle", t0(), 3),
            job("job_leased", t0(), 3),
            other,
        ])
        .await
        .unwrap();
    let leased = s
        .jobs
        .claim("w1", t0(), Duration::from_secs(60), 1)
        .await
        .unwrap();
    let leased_id = leased[0].id.clone();
    let mut t = approve(&rec.approval, &rec.event.hash, "ann");
    t.cancel_job_kinds = vec![TaskKind::SendWebhook];
    s.approvals.transition(t).await.unwrap();
    let status = |id: String| {
        let q = s.jobs.clone();
        async move { q.get_job(&id).await.unwrap().unwrap().status }
    };
    let idle = if leased_id == "job_idle" {
        "job_leased"
    } else {
        "job_idle"
    };
    assert_eq!(status(idle.into()).await, JobStatus::Cancelled);
    assert_eq!(
        status(leased_id).await,
        JobStatus::Pending,
        "a claimed job finishes its run"
    );
    assert_eq!(status("job_other_request".into()).await, JobStatus::Pending);
}

async fn overdue_lists_pending_requests_past_their_deadline(backend: Backend) {
    let s = with_tenants(backend).await;
    let early = new_record("t1", "apr_early", t0());
    let late = new_record("t2", "apr_late", t0() + Span::seconds(600));
    s.approvals.create(early.clone()).await.unwrap();
    s.approvals.create(late).await.unwrap();
    let due = early.approval.due_at;
    assert!(
        s.approvals
            .overdue(due - Span::seconds(1), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        s.approvals.overdue(due, 10).await.unwrap(),
        vec![("t1".to_owned(), "apr_early".to_owned())]
    );
    s.approvals
        .transition(approve(&early.approval, &early.event.hash, "ann"))
        .await
        .unwrap();
    assert!(
        s.approvals
            .overdue(due + Span::days(1), 10)
            .await
            .unwrap()
            .len()
            == 1,
        "decided ones drop out"
    );
}

async fn idempotency_keys_replay_or_refuse(backend: Backend) {
    let s = with_tenants(backend).await;
    let claim = |hash: &str| IdempotencyClaim {
        key: "k1".into(),
        request_hash: hash.into(),
    };
    let mut a = new_record("t1", "apr_1", t0());
    a.idempotency = Some(claim("h1"));
    let mut b = new_record("t1", "apr_2", t0());
    b.idempotency = Some(claim("h1"));
    let mut c = new_record("t1", "apr_3", t0());
    c.idempotency = Some(claim("h2"));
    let mut other_tenant = new_record("t2", "apr_4", t0());
    other_tenant.idempotency = Some(claim("h2"));
    assert_eq!(s.approvals.create(a).await.unwrap(), CreateOutcome::Created);
    assert_eq!(
        s.approvals.create(b).await.unwrap(),
        CreateOutcome::Replayed {
            approval_id: "apr_1".into()
        }
    );
    assert_eq!(
        s.approvals.create(c).await.unwrap(),
        CreateOutcome::KeyReused
    );
    assert_eq!(
        s.approvals.create(other_tenant).await.unwrap(),
        CreateOutcome::Created,
        "keys are per tenant"
    );
    assert!(s.approvals.get("t1", "apr_2").await.unwrap().is_none());
    assert!(s.approvals.get("t1", "apr_3").await.unwrap().is_none());
}

async fn tenants_see_only_their_own_requests(backend: Backend) {
    let s = with_tenants(backend).await;
    s.approvals
        .create(new_record("t1", "apr_1", t0()))
        .await
        .unwrap();
    assert!(s.approvals.get("t2", "apr_1").await.unwrap().is_none());
    assert!(s.approvals.events("t2", "apr_1").await.unwrap().is_empty());
    let q = ListQuery {
        limit: 10,
        ..Default::default()
    };
    assert!(s.approvals.list("t2", &q).await.unwrap().is_empty());
    assert_eq!(s.approvals.list("t1", &q).await.unwrap().len(), 1);
}

async fn listing_filters_and_pages_newest_first(backend: Backend) {
    let s = with_tenants(backend).await;
    for i in 0..5 {
        let mut r = new_record("t1", &format!("apr_{i}"), t0() + Span::seconds(i));
        if i % 2 == 0 {
            r.approval.spec.agent_id = "other-bot".into();
        }
        s.approvals.create(r).await.unwrap();
    }
    // Same creation time: the id breaks the tie.
    s.approvals
        .create(new_record("t1", "apr_9", t0() + Span::seconds(4)))
        .await
        .unwrap();
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = s
            .approvals
            .list(
                "t1",
                &ListQuery {
                    after: after.clone(),
                    limit: 2,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        if page.is_empty() {
            break;
        }
        after = page.last().map(|a| (a.created_at, a.id.clone()));
        seen.extend(page.into_iter().map(|a| a.id));
    }
    assert_eq!(seen, ["apr_9", "apr_4", "apr_3", "apr_2", "apr_1", "apr_0"]);
    let by_agent = s
        .approvals
        .list(
            "t1",
            &ListQuery {
                agent_id: Some("other-bot".into()),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(by_agent.len(), 3);
    let approved = s
        .approvals
        .list(
            "t1",
            &ListQuery {
                status: Some(Status::Approved),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(approved.is_empty());
}

async fn jobs_wait_until_due_and_lease_to_one_worker(backend: Backend) {
    let s = with_tenants(backend).await;
    s.jobs
        .enqueue(vec![
            job("job_now", t0(), 3),
            job("job_later", t0() + Span::seconds(30), 3),
        ])
        .await
        .unwrap();
    assert_eq!(s.jobs.next_due().await.unwrap(), Some(t0()));
    let lease = Duration::from_secs(10);
    let got = s.jobs.claim("w1", t0(), lease, 10).await.unwrap();
    assert_eq!(
        got.iter().map(|j| j.id.as_str()).collect::<Vec<_>>(),
        ["job_now"]
    );
    assert_eq!(got[0].attempts, 1);
    assert!(
        s.jobs
            .claim("w2", t0(), lease, 10)
            .await
            .unwrap()
            .is_empty(),
        "leased"
    );
    assert_eq!(
        s.jobs.next_due().await.unwrap(),
        Some(t0() + Span::seconds(10)),
        "a leased job is next due when its lease runs out"
    );
    assert!(s.jobs.complete("job_now", "w1").await.unwrap());
    assert_eq!(
        s.jobs.get_job("job_now").await.unwrap().unwrap().status,
        JobStatus::Done
    );
    let at_30 = s
        .jobs
        .claim("w2", t0() + Span::seconds(30), lease, 10)
        .await
        .unwrap();
    assert_eq!(
        at_30.iter().map(|j| j.id.as_str()).collect::<Vec<_>>(),
        ["job_later"]
    );
}

async fn an_expired_lease_goes_to_the_next_worker_and_fences_the_first(backend: Backend) {
    let s = with_tenants(backend).await;
    s.jobs.enqueue(vec![job("job_1", t0(), 5)]).await.unwrap();
    let lease = Duration::from_secs(10);
    s.jobs.claim("w1", t0(), lease, 10).await.unwrap();
    assert!(
        s.jobs
            .claim("w2", t0() + Span::seconds(5), lease, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let again = s
        .jobs
        .claim("w2", t0() + Span::seconds(11), lease, 10)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempts, 2);
    assert!(
        !s.jobs.complete("job_1", "w1").await.unwrap(),
        "the old owner is fenced off"
    );
    assert!(s.jobs.complete("job_1", "w2").await.unwrap());
}

async fn retries_wait_and_the_last_failure_buries_the_job(backend: Backend) {
    let s = with_tenants(backend).await;
    s.jobs.enqueue(vec![job("job_1", t0(), 2)]).await.unwrap();
    let lease = Duration::from_secs(10);
    s.jobs.claim("w1", t0(), lease, 10).await.unwrap();
    assert!(
        s.jobs
            .retry("job_1", "w1", t0() + Span::seconds(4), "boom 1")
            .await
            .unwrap()
    );
    let j = s.jobs.get_job("job_1").await.unwrap().unwrap();
    assert_eq!(
        (j.status, j.last_error.as_deref()),
        (JobStatus::Pending, Some("boom 1"))
    );
    assert!(
        s.jobs
            .claim("w2", t0() + Span::seconds(3), lease, 10)
            .await
            .unwrap()
            .is_empty()
    );
    s.jobs
        .claim("w2", t0() + Span::seconds(4), lease, 10)
        .await
        .unwrap();
    assert!(
        s.jobs
            .retry("job_1", "w2", t0() + Span::seconds(8), "boom 2")
            .await
            .unwrap()
    );
    let j = s.jobs.get_job("job_1").await.unwrap().unwrap();
    assert_eq!((j.status, j.attempts), (JobStatus::Dead, 2));
    assert_eq!(s.jobs.next_due().await.unwrap(), None);
    s.jobs.enqueue(vec![job("job_2", t0(), 9)]).await.unwrap();
    s.jobs.claim("w3", t0(), lease, 10).await.unwrap();
    assert!(s.jobs.bury("job_2", "w3", "unfixable").await.unwrap());
    assert_eq!(
        s.jobs.get_job("job_2").await.unwrap().unwrap().status,
        JobStatus::Dead
    );
}

async fn concurrent_claims_never_share_a_job(backend: Backend) {
    let s = with_tenants(backend).await;
    let jobs: Vec<NewJob> = (0..60)
        .map(|i| job(&format!("job_{i:02}"), t0(), 3))
        .collect();
    s.jobs.enqueue(jobs).await.unwrap();
    let mut handles = Vec::new();
    for w in 0..6 {
        let q = s.jobs.clone();
        handles.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let got = q
                    .claim(&format!("w{w}"), t0(), Duration::from_secs(60), 3)
                    .await
                    .unwrap();
                if got.is_empty() {
                    return mine;
                }
                mine.extend(got.into_iter().map(|j| j.id));
            }
        }));
    }
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await.unwrap());
    }
    all.sort();
    let before = all.len();
    all.dedup();
    assert_eq!(before, 60, "every job claimed once");
    assert_eq!(all.len(), 60);
}

async fn api_keys_are_found_by_hash_only(backend: Backend) {
    let s = with_tenants(backend).await;
    let key = ApiKey {
        id: "key_1".into(),
        tenant_id: "t1".into(),
        name: "ci".into(),
        prefix: "gl_abc".into(),
        key_hash: "h".repeat(64),
        role: greenlight::domain::KeyRole::Approver,
        approver: Some("ann@example.com".into()),
        created_at: t0(),
        revoked_at: None,
    };
    s.tenants.create_api_key(&key).await.unwrap();
    assert_eq!(
        s.tenants.find_api_key(&"h".repeat(64)).await.unwrap(),
        Some(key)
    );
    assert_eq!(s.tenants.find_api_key("gl_abc").await.unwrap(), None);
    assert_eq!(s.tenants.count_api_keys("t1").await.unwrap(), 1);
    assert_eq!(s.tenants.count_api_keys("t2").await.unwrap(), 0);
    let dup = s
        .tenants
        .create_tenant(&Tenant {
            id: "t1".into(),
            name: "again".into(),
            created_at: t0(),
        })
        .await;
    assert!(matches!(dup, Err(StoreError::Duplicate(_))), "{dup:?}");
}

async fn the_feed_orders_every_event_once_across_tenants(backend: Backend) {
    let s = with_tenants(backend).await;
    assert_eq!(s.approvals.feed_head().await.unwrap(), 0);
    let first = new_record("t1", "apr_1", t0());
    s.approvals.create(first.clone()).await.unwrap();
    s.approvals
        .create(new_record("t2", "apr_2", t0()))
        .await
        .unwrap();
    let win = approve(&first.approval, &first.event.hash, "ann");
    s.approvals.transition(win.clone()).await.unwrap();
    let lost = s
        .approvals
        .transition(approve(&first.approval, &first.event.hash, "bob"))
        .await;
    assert!(matches!(lost, Err(StoreError::VersionConflict)), "{lost:?}");
    s.approvals
        .create(new_record("t1", "apr_3", t0()))
        .await
        .unwrap();
    let positions = s.approvals.feed_positions(0, 100).await.unwrap();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
    let head = s.approvals.feed_head().await.unwrap();
    assert_eq!(positions.last(), Some(&head));
    let t1 = s.approvals.feed("t1", 0, head, 100).await.unwrap();
    let ids: Vec<_> = t1.iter().map(|(_, e)| e.id.as_str()).collect();
    assert_eq!(ids, ["evt_apr_1_1", "evt_apr_1_ann", "evt_apr_3_1"]);
    assert!(t1.windows(2).all(|w| w[0].0 < w[1].0));
    assert!(t1.iter().all(|(p, _)| positions.contains(p)));
    let after_first = s.approvals.feed("t1", t1[0].0, head, 1).await.unwrap();
    assert_eq!(after_first.len(), 1, "the limit holds");
    assert_eq!(
        after_first[0].1.id, "evt_apr_1_ann",
        "resumes after a position"
    );
    assert!(
        s.approvals
            .feed("t1", head, head, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

on_every_store!(
    the_feed_orders_every_event_once_across_tenants,
    a_created_request_reads_back_exactly,
    a_stale_version_conflicts_and_writes_nothing,
    a_transition_writes_its_jobs_in_the_same_transaction,
    a_transition_can_cancel_its_requests_idle_timers,
    overdue_lists_pending_requests_past_their_deadline,
    idempotency_keys_replay_or_refuse,
    tenants_see_only_their_own_requests,
    listing_filters_and_pages_newest_first,
    jobs_wait_until_due_and_lease_to_one_worker,
    an_expired_lease_goes_to_the_next_worker_and_fences_the_first,
    retries_wait_and_the_last_failure_buries_the_job,
    concurrent_claims_never_share_a_job,
    api_keys_are_found_by_hash_only,
);
