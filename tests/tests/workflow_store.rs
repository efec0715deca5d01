//! The workflow store's conformance, on SQLite and PostgreSQL: versions are added under
//! a compare-and-set and never change, a run's transition is one compare-and-set with
//! its events and jobs, idempotency keys replay or refuse, and every read is the
//! tenant's own.

use chrono::Duration;
use greenlight::adapters::sql::Stores;
use greenlight::domain::chain::GENESIS_HASH;
use greenlight::domain::workflow::{
    Compiled, Definition, Run, RunEvent, RunStatus, Signal, Workflow, WorkflowVersion,
};
use greenlight::domain::{StepRef, Task};
use greenlight::domain::{Tenant, workflow::Branch};
use greenlight::ports::{
    IdempotencyClaim, JobStatus, NewJob, NewRunRecord, RunCreateOutcome, RunQuery, RunTransition,
    StoreError,
};
use serde_json::json;

use greenlight_tests::{Backend, fresh_stores, on_every_store, t0};

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

fn definition() -> Definition {
    serde_json::from_value(json!({
        "steps": [
            {"key": "call", "kind": "http", "config": {"method": "POST", "url": "https://example.com"}},
            {"key": "after", "kind": "transform", "config": {"expression": "steps.call.n"}}
        ],
        "edges": [{"from": "call", "to": "after"}]
    }))
    .unwrap()
}

fn workflow(id: &str) -> (Workflow, WorkflowVersion) {
    let w = Workflow {
        id: id.into(),
        name: "w".into(),
        description: None,
        category: None,
        tags: vec!["a".into()],
        active_version: 1,
        latest_version: 1,
        enabled: true,
        deleted: false,
        created_at: t0(),
        updated_at: t0(),
    };
    let v = WorkflowVersion {
        workflow_id: id.into(),
        version: 1,
        definition: definition(),
        created_at: t0(),
    };
    (w, v)
}

/// A started run of `definition()` as the app records it: its events and its jobs.
fn started(tenant: &str, id: &str, key: Option<&str>) -> NewRunRecord {
    let out = Compiled::new(&definition())
        .unwrap()
        .start(
            id.into(),
            "wf_1",
            1,
            json!({}),
            json!({"type": "test"}),
            t0(),
        )
        .unwrap();
    let mut prev = GENESIS_HASH.to_owned();
    let events: Vec<RunEvent> = out
        .changes
        .iter()
        .enumerate()
        .map(|(i, (c, r))| {
            let e = RunEvent::record(tenant, format!("evt_{id}_{i}"), r, c, "test", t0(), &prev);
            prev = e.hash.clone();
            e
        })
        .collect();
    NewRunRecord {
        tenant_id: tenant.into(),
        run: out.run().unwrap().clone(),
        events,
        head_seal: "seal".into(),
        jobs: vec![step_job(tenant, id, "job_1")],
        idempotency: key.map(|k| IdempotencyClaim {
            key: k.into(),
            request_hash: "h1".into(),
        }),
    }
}

fn step_job(tenant: &str, run_id: &str, id: &str) -> NewJob {
    NewJob {
        id: id.into(),
        tenant_id: tenant.into(),
        task: Task::RunStep(StepRef {
            tenant_id: tenant.into(),
            run_id: run_id.into(),
            key: "call".into(),
            attempt: 1,
        }),
        approval_id: None,
        run_at: t0(),
        max_attempts: 5,
    }
}

/// The transition `call` succeeding makes from the stored state.
fn succeeded(tenant: &str, run: &Run, head: &str) -> RunTransition {
    let out = Compiled::new(&definition())
        .unwrap()
        .on(
            run,
            Signal::Succeeded {
                key: "call".into(),
                attempt: 1,
                output: json!({"n": 7}),
                branch: Branch::Default,
            },
            t0() + Duration::seconds(1),
        )
        .unwrap();
    let mut prev = head.to_owned();
    let events = out
        .changes
        .iter()
        .map(|(c, r)| {
            let e = RunEvent::record(
                tenant,
                format!("evt_{}_{}", r.id, r.seq),
                r,
                c,
                "test",
                t0(),
                &prev,
            );
            prev = e.hash.clone();
            e
        })
        .collect();
    RunTransition {
        tenant_id: tenant.into(),
        expected_seq: run.seq,
        run: out.run().unwrap().clone(),
        events,
        head_seal: "seal2".into(),
        jobs: vec![],
    }
}

async fn versions_are_added_under_a_compare_and_set_and_read_back(backend: Backend) {
    let s = with_tenants(backend).await;
    let (mut w, v1) = workflow("wf_1");
    s.workflows.create_workflow("t1", &w, &v1).await.unwrap();
    assert_eq!(
        s.workflows.workflow("t1", "wf_1").await.unwrap(),
        Some(w.clone())
    );
    assert_eq!(
        s.workflows.workflow("t2", "wf_1").await.unwrap(),
        None,
        "another tenant's"
    );
    w.latest_version = 2;
    w.active_version = 2;
    w.updated_at = t0() + Duration::seconds(1);
    let v2 = WorkflowVersion {
        version: 2,
        ..v1.clone()
    };
    s.workflows.add_version("t1", &w, &v2).await.unwrap();
    // A second writer that also read version 1 as the latest loses.
    let lost = s.workflows.add_version("t1", &w, &v2).await;
    assert!(matches!(lost, Err(StoreError::VersionConflict)), "{lost:?}");
    assert_eq!(
        s.workflows.version("t1", "wf_1", 2).await.unwrap(),
        Some(v2)
    );
    assert_eq!(
        s.workflows.version("t1", "wf_1", 1).await.unwrap(),
        Some(v1)
    );
    assert_eq!(s.workflows.version("t2", "wf_1", 1).await.unwrap(), None);
    // An update against a stale read conflicts; the fresh one lands.
    let mut renamed = w.clone();
    renamed.name = "renamed".into();
    let stale = s.workflows.update_workflow("t1", &renamed, t0()).await;
    assert!(
        matches!(stale, Err(StoreError::VersionConflict)),
        "{stale:?}"
    );
    renamed.deleted = true;
    s.workflows
        .update_workflow("t1", &renamed, w.updated_at)
        .await
        .unwrap();
    assert!(
        s.workflows
            .workflow("t1", "wf_1")
            .await
            .unwrap()
            .unwrap()
            .deleted
    );
    assert!(
        s.workflows
            .workflows("t1", None, 10)
            .await
            .unwrap()
            .is_empty(),
        "deleted ones are hidden"
    );
}

async fn a_run_transition_is_one_compare_and_set_with_its_events_and_jobs(backend: Backend) {
    let s = with_tenants(backend).await;
    let record = started("t1", "run_1", None);
    let head = record.events.last().unwrap().hash.clone();
    assert_eq!(
        s.workflows.create_run(record.clone()).await.unwrap(),
        RunCreateOutcome::Created
    );
    let stored = s.workflows.run("t1", "run_1").await.unwrap().unwrap();
    assert_eq!(stored.run, record.run);
    assert_eq!(stored.last_event_hash, head);
    assert_eq!(s.workflows.run("t2", "run_1").await.unwrap(), None);
    assert_eq!(s.stores_job_status("job_1").await, Some(JobStatus::Pending));
    let mut t = succeeded("t1", &stored.run, &head);
    t.jobs = vec![step_job("t1", "run_1", "job_2")];
    s.workflows.transition_run(t.clone()).await.unwrap();
    // The same transition again: the run moved on, nothing is written.
    let mut again = t.clone();
    again.jobs = vec![step_job("t1", "run_1", "job_3")];
    let lost = s.workflows.transition_run(again).await;
    assert!(matches!(lost, Err(StoreError::VersionConflict)), "{lost:?}");
    assert_eq!(
        s.stores_job_status("job_3").await,
        None,
        "the loser's jobs are not written"
    );
    assert_eq!(s.stores_job_status("job_2").await, Some(JobStatus::Pending));
    let stored = s.workflows.run("t1", "run_1").await.unwrap().unwrap();
    assert_eq!(stored.run.status, RunStatus::Succeeded);
    let events = s.workflows.run_events("t1", "run_1").await.unwrap();
    assert_eq!(events.len() as i64, stored.run.seq);
    assert_eq!(events, [record.events, t.events].concat());
    assert_eq!(
        s.workflows.run_event("t1", "run_1", 2).await.unwrap(),
        Some(events[1].clone())
    );
    assert!(
        s.workflows
            .run_events("t2", "run_1")
            .await
            .unwrap()
            .is_empty()
    );
}

async fn run_keys_replay_or_refuse_and_lists_filter_by_tenant_workflow_and_status(
    backend: Backend,
) {
    let s = with_tenants(backend).await;
    let first = started("t1", "run_a", Some("k"));
    assert_eq!(
        s.workflows.create_run(first).await.unwrap(),
        RunCreateOutcome::Created
    );
    let mut same = started("t1", "run_b", Some("k"));
    assert_eq!(
        s.workflows.create_run(same.clone()).await.unwrap(),
        RunCreateOutcome::Replayed {
            run_id: "run_a".into()
        }
    );
    same.idempotency.as_mut().unwrap().request_hash = "other".into();
    assert_eq!(
        s.workflows.create_run(same).await.unwrap(),
        RunCreateOutcome::KeyReused
    );
    assert_eq!(
        s.workflows.run("t1", "run_b").await.unwrap(),
        None,
        "nothing of a replay is written"
    );
    // The same key in another tenant is another key.
    assert_eq!(
        s.workflows
            .create_run(started("t2", "run_c", Some("k")))
            .await
            .unwrap(),
        RunCreateOutcome::Created
    );
    let (claim, run) = s
        .workflows
        .run_idempotency_key("t1", "k")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((claim.request_hash.as_str(), run.as_str()), ("h1", "run_a"));
    s.workflows
        .create_run(started("t1", "run_d", None))
        .await
        .unwrap();
    let all = s
        .workflows
        .runs(
            "t1",
            &RunQuery {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        all.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        ["run_d", "run_a"]
    );
    let page = s
        .workflows
        .runs(
            "t1",
            &RunQuery {
                limit: 10,
                after: Some((t0(), "run_d".into())),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        page.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        ["run_a"]
    );
    let by = |w: &str, st: RunStatus| RunQuery {
        workflow_id: Some(w.into()),
        status: Some(st),
        limit: 10,
        after: None,
    };
    assert_eq!(
        s.workflows
            .runs("t1", &by("wf_1", RunStatus::Running))
            .await
            .unwrap()
            .len(),
        2
    );
    assert!(
        s.workflows
            .runs("t1", &by("wf_2", RunStatus::Running))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        s.workflows
            .runs("t1", &by("wf_1", RunStatus::Failed))
            .await
            .unwrap()
            .is_empty()
    );
}

trait JobStatusOf {
    async fn stores_job_status(&self, id: &str) -> Option<JobStatus>;
}

impl JobStatusOf for Stores {
    async fn stores_job_status(&self, id: &str) -> Option<JobStatus> {
        self.jobs.get_job(id).await.unwrap().map(|j| j.status)
    }
}

on_every_store!(
    versions_are_added_under_a_compare_and_set_and_read_back,
    a_run_transition_is_one_compare_and_set_with_its_events_and_jobs,
    run_keys_replay_or_refuse_and_lists_filter_by_tenant_workflow_and_status,
);
