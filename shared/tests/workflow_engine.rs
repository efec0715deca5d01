//! The workflow domain on its own: definition checks naming the pointer at fault, the
//! engine's joins, dead paths, retries, failures and compensation (`workflow_dag.rs`
//! holds the property test over random DAGs).

mod harness;

use chrono::Duration;
use serde_json::{Value, json};

use greenlight::domain::workflow::{
    Branch, CompensationStatus, Compiled, Definition, Effect, Refused, RunStatus, Signal,
    StepStatus,
};
use harness::Harness;

fn def(v: Value) -> Definition {
    serde_json::from_value(v).expect("a definition")
}

fn errors(v: Value) -> Vec<(String, String)> {
    Compiled::new(&def(v))
        .expect_err("refused")
        .into_iter()
        .map(|e| (e.field, e.message))
        .collect()
}

fn fields(v: Value) -> Vec<String> {
    errors(v).into_iter().map(|(f, _)| f).collect()
}

fn http(url: &str) -> Value {
    json!({"method": "POST", "url": url})
}

#[test]
fn each_kind_of_fault_is_named_by_its_pointer() {
    let ok = json!({"key": "a", "kind": "transform", "config": {"expression": "1"}});
    assert_eq!(
        fields(json!({"steps": [ok, {"key": "b", "kind": "teleport", "config": {}}]})),
        ["/definition/steps/1/kind"]
    );
    assert_eq!(
        fields(json!({"steps": [ok, ok]})),
        ["/definition/steps/1/key"]
    );
    assert_eq!(
        fields(
            json!({"steps": [{"key": "1a", "kind": "transform", "config": {"expression": "1"}}]})
        ),
        ["/definition/steps/0/key"]
    );
    assert_eq!(
        fields(json!({"steps": [ok], "edges": [{"from": "a", "to": "zz"}]})),
        ["/definition/edges/0/to"]
    );
    assert_eq!(
        fields(
            json!({"steps": [ok, {"key": "b", "kind": "http", "config": {"method": "POST", "url": "ftp://x"}}]})
        ),
        ["/definition/steps/1/config/url"]
    );
    assert_eq!(
        fields(json!({"steps": [ok, {"key": "b", "kind": "http", "config": {"method": "POST"}}]})),
        ["/definition/steps/1/config"]
    );
    assert_eq!(
        fields(
            json!({"steps": [{"key": "a", "kind": "transform", "config": {"expression": "1 +"}}]})
        ),
        ["/definition/steps/0/config/expression"]
    );
    assert_eq!(
        fields(
            json!({"steps": [ok, {"key": "b", "kind": "webhook", "config": {"url": "=input.+"}}],
            "edges": [{"from": "a", "to": "b"}]})
        ),
        ["/definition/steps/1/config/url"]
    );
    // A branch the kind does not have.
    assert_eq!(
        fields(
            json!({"steps": [ok, ok.clone().as_object().map(|m| { let mut m = m.clone(); m.insert("key".into(), json!("b")); Value::Object(m) }).unwrap()],
            "edges": [{"from": "a", "to": "b", "branch": "true"}]})
        ),
        ["/definition/edges/0/branch"]
    );
    let retry = json!({"key": "h", "kind": "http", "config": http("https://example.com"), "retry": {"maxAttempts": 11}});
    assert_eq!(
        fields(json!({"steps": [retry]})),
        ["/definition/steps/0/retry/maxAttempts"]
    );
}

#[test]
fn cycles_and_unreachable_steps_are_refused() {
    let step = |k: &str| json!({"key": k, "kind": "transform", "config": {"expression": "1"}});
    let cycle = errors(json!({
        "steps": [step("a"), step("b"), step("c")],
        "edges": [{"from": "a", "to": "b"}, {"from": "b", "to": "c"}, {"from": "c", "to": "b"}]
    }));
    assert_eq!(cycle.len(), 1);
    assert!(cycle[0].1.contains("cycle"), "{cycle:?}");
    assert_eq!(cycle[0].0, "/definition/edges/2", "the edge that closes it");
    // Two steps only reachable from each other: no start leads there.
    let island = fields(json!({
        "steps": [step("a"), step("b"), step("c")],
        "edges": [{"from": "b", "to": "c"}, {"from": "c", "to": "b"}]
    }));
    assert_eq!(
        island,
        [
            "/definition/edges/1",
            "/definition/steps/1",
            "/definition/steps/2"
        ]
    );
    assert_eq!(
        fields(json!({"steps": [step("a")], "edges": [{"from": "a", "to": "a"}]})),
        ["/definition/edges/0"]
    );
}

#[test]
fn a_join_after_a_condition_runs_on_the_branch_taken_and_skips_the_other() {
    let d = json!({
        "steps": [
            {"key": "check", "kind": "condition", "config": {"expression": "input.amount > 100"}},
            {"key": "big", "kind": "transform", "config": {"expression": "'human'"}},
            {"key": "small", "kind": "transform", "config": {"expression": "'auto'"}},
            {"key": "after_small", "kind": "transform", "config": {"expression": "steps.small + '!'"}},
            {"key": "join", "kind": "transform", "config": {"expression": "'joined'"}},
        ],
        "edges": [
            {"from": "check", "to": "big", "branch": "true"},
            {"from": "check", "to": "small", "branch": "false"},
            {"from": "small", "to": "after_small"},
            {"from": "big", "to": "join"},
            {"from": "after_small", "to": "join"},
        ]
    });
    let h = Harness::start(d.clone(), json!({"amount": 150}));
    assert_eq!(h.run.status, RunStatus::Succeeded);
    assert_eq!(h.status("small"), StepStatus::Skipped);
    assert_eq!(
        h.status("after_small"),
        StepStatus::Skipped,
        "a dead path stays dead"
    );
    assert_eq!(
        h.status("join"),
        StepStatus::Succeeded,
        "one taken edge starts a join"
    );
    assert_eq!(h.run.output, Some(json!({"join": "joined"})));
    let h = Harness::start(d, json!({"amount": 50}));
    assert_eq!(h.status("big"), StepStatus::Skipped);
    assert_eq!(
        h.run.step("after_small").unwrap().output,
        Some(json!("auto!"))
    );
    assert_eq!(h.status("join"), StepStatus::Succeeded);
}

#[test]
fn a_join_waits_for_every_incoming_edge_to_be_decided() {
    let d = json!({
        "steps": [
            {"key": "a", "kind": "http", "config": http("https://a.example")},
            {"key": "b", "kind": "http", "config": http("https://b.example")},
            {"key": "j", "kind": "transform", "config": {"expression": "steps.a.n + steps.b.n"}},
        ],
        "edges": [{"from": "a", "to": "j"}, {"from": "b", "to": "j"}]
    });
    let mut h = Harness::start(d, json!({}));
    assert_eq!(h.effects.len(), 2, "both start steps start together");
    h.ok("a", json!({"n": 1}));
    assert_eq!(h.status("j"), StepStatus::Pending);
    h.ok("b", json!({"n": 2}));
    assert_eq!(h.run.step("j").unwrap().output, Some(json!(3)));
    assert_eq!(h.run.status, RunStatus::Succeeded);
}

#[test]
fn a_failed_attempt_is_retried_then_fails_the_run_or_takes_its_error_edge() {
    let d = |with_error_edge: bool| {
        let mut edges = vec![json!({"from": "call", "to": "next"})];
        if with_error_edge {
            edges.push(json!({"from": "call", "to": "handle", "branch": "error"}));
        }
        json!({
            "steps": [
                {"key": "call", "kind": "http", "config": http("https://a.example"),
                 "retry": {"maxAttempts": 3, "backoff": "exponential", "delaySeconds": 2}},
                {"key": "next", "kind": "transform", "config": {"expression": "1"}},
                {"key": "handle", "kind": "transform", "config": {"expression": "'handled'"}},
            ],
            "edges": edges,
        })
    };
    let fail = |h: &mut Harness| {
        let attempt = h.run.step("call").unwrap().attempts;
        h.send(Signal::Failed {
            key: "call".into(),
            attempt,
            error: "HTTP 503".into(),
            retryable: true,
        })
    };
    let mut h = Harness::start(d(true), json!({}));
    fail(&mut h).unwrap();
    fail(&mut h).unwrap();
    let retries: Vec<&Effect> = h
        .effects
        .iter()
        .filter(|e| matches!(e, Effect::Execute { attempt, .. } if *attempt > 1))
        .collect();
    assert_eq!(retries.len(), 2);
    if let Effect::Execute { at, .. } = retries[1] {
        assert_eq!(
            *at - h.now,
            Duration::seconds(4),
            "exponential: 2 s, then 4 s"
        );
    }
    // A result for an attempt that is over changes nothing.
    assert!(matches!(
        h.send(Signal::Succeeded {
            key: "call".into(),
            attempt: 1,
            output: json!(1),
            branch: Branch::Default
        }),
        Err(Refused::Stale(_))
    ));
    fail(&mut h).unwrap();
    assert_eq!(h.status("call"), StepStatus::Failed);
    assert_eq!(h.status("next"), StepStatus::Skipped);
    assert_eq!(h.status("handle"), StepStatus::Succeeded);
    assert_eq!(h.run.status, RunStatus::Succeeded);

    // Without an error edge, the run fails.
    let mut h = Harness::start(d(false), json!({}));
    for _ in 0..3 {
        fail(&mut h).unwrap();
    }
    assert_eq!(h.run.status, RunStatus::Failed);
    assert!(
        h.types()
            .ends_with(&["step.failed".to_owned(), "run.failed".to_owned()]),
        "{:?}",
        h.types()
    );
    assert!(matches!(
        fail(&mut h),
        Err(Refused::Ended(RunStatus::Failed))
    ));
}

#[test]
fn a_failure_compensates_what_succeeded_last_first_and_a_rejection_without_an_edge_fails() {
    let undo = |k: &str| json!({"kind": "http", "config": {"method": "POST", "url": format!("https://undo.example/{k}")}});
    let d = json!({
        "steps": [
            {"key": "hold", "kind": "http", "config": http("https://a.example"), "compensate": undo("hold")},
            {"key": "note", "kind": "transform", "config": {"expression": "'noted'"},
             "compensate": {"kind": "transform", "config": {"expression": "'unnoted ' + steps.note"}}},
            {"key": "ask", "kind": "approval", "config": {"name": "n", "actionType": "t", "approvers": [{"channel": "dashboard", "recipient": "a@example.com"}]}},
            {"key": "pay", "kind": "http", "config": http("https://pay.example")},
        ],
        "edges": [
            {"from": "hold", "to": "note"}, {"from": "note", "to": "ask"},
            {"from": "ask", "to": "pay", "branch": "approved"}
        ]
    });
    let mut h = Harness::start(d, json!({}));
    h.ok("hold", json!({"held": true}));
    assert_eq!(h.status("ask"), StepStatus::Running);
    h.send(Signal::Waiting {
        key: "ask".into(),
        attempt: 1,
        approval_id: "apr_1".into(),
    })
    .unwrap();
    assert_eq!(h.run.status, RunStatus::Waiting);
    h.send(Signal::Resumed {
        key: "ask".into(),
        approval_id: "apr_1".into(),
        outcome: Ok((json!({"status": "REJECTED"}), Branch::Rejected)),
    })
    .unwrap();
    assert_eq!(h.run.status, RunStatus::Failed);
    let c = h.run.compensation.clone().unwrap();
    // `note` (a transform) is undone at once; `hold` waits on its job.
    assert_eq!(
        c.steps.iter().map(|s| s.key.as_str()).collect::<Vec<_>>(),
        ["note", "hold"]
    );
    assert_eq!(c.steps[0].output, Some(json!("unnoted noted")));
    assert_eq!(c.status, CompensationStatus::Running);
    assert!(
        h.effects
            .contains(&Effect::Compensate { key: "hold".into() })
    );
    // A second resume (a redelivered task) changes nothing.
    assert!(
        h.send(Signal::Resumed {
            key: "ask".into(),
            approval_id: "apr_1".into(),
            outcome: Ok((json!({}), Branch::Approved))
        })
        .is_err()
    );
    h.send(Signal::Compensated {
        key: "hold".into(),
        result: Ok(json!({"released": true})),
    })
    .unwrap();
    assert_eq!(
        h.run.compensation.as_ref().unwrap().status,
        CompensationStatus::Completed
    );
    assert!(
        h.send(Signal::Compensated {
            key: "hold".into(),
            result: Ok(json!(1))
        })
        .is_err()
    );
}

#[test]
fn a_cancel_during_a_human_wait_cancels_the_request_and_the_decision_after_it_is_stale() {
    let d = json!({
        "steps": [{"key": "ask", "kind": "approval", "config": {"name": "n", "actionType": "t", "approvers": [{"channel": "dashboard", "recipient": "a@example.com"}]}}],
    });
    let mut h = Harness::start(d, json!({}));
    h.send(Signal::Waiting {
        key: "ask".into(),
        attempt: 1,
        approval_id: "apr_9".into(),
    })
    .unwrap();
    h.send(Signal::Cancel {
        reason: Some("changed my mind".into()),
        by: "api-key:k".into(),
    })
    .unwrap();
    assert_eq!(h.run.status, RunStatus::Cancelled);
    assert_eq!(h.status("ask"), StepStatus::Cancelled);
    assert!(h.effects.contains(&Effect::CancelApproval {
        key: "ask".into(),
        approval_id: "apr_9".into()
    }));
    assert!(matches!(
        h.send(Signal::Resumed {
            key: "ask".into(),
            approval_id: "apr_9".into(),
            outcome: Ok((json!({}), Branch::Approved))
        }),
        Err(Refused::Ended(RunStatus::Cancelled))
    ));
}

#[test]
fn a_decision_before_the_wait_is_recorded_resumes_and_the_late_wait_is_a_no_op() {
    let d = json!({
        "steps": [
            {"key": "ask", "kind": "approval", "config": {"name": "n", "actionType": "t", "approvers": [{"channel": "dashboard", "recipient": "a@example.com"}]}},
            {"key": "pay", "kind": "transform", "config": {"expression": "steps.ask.approvedData.amount"}},
        ],
        "edges": [{"from": "ask", "to": "pay", "branch": "approved"}]
    });
    let mut h = Harness::start(d, json!({}));
    h.send(Signal::Resumed {
        key: "ask".into(),
        approval_id: "apr_2".into(),
        outcome: Ok((json!({"approvedData": {"amount": 120}}), Branch::Approved)),
    })
    .unwrap();
    assert_eq!(h.run.step("pay").unwrap().output, Some(json!(120)));
    assert!(matches!(
        h.send(Signal::Waiting {
            key: "ask".into(),
            attempt: 1,
            approval_id: "apr_2".into()
        }),
        Err(Refused::Ended(_))
    ));
}

#[test]
fn a_run_keeps_at_most_its_bound_of_outputs() {
    let echo =
        |k: &str| json!({"key": k, "kind": "transform", "config": {"expression": "input.s"}});
    let d = json!({
        "steps": [echo("a"), echo("b"), echo("c")],
        "edges": [{"from": "a", "to": "b"}, {"from": "b", "to": "c"}]
    });
    let h = Harness::start(d, json!({"s": "x".repeat(200 * 1024)}));
    assert_eq!(h.status("b"), StepStatus::Succeeded);
    assert_eq!(h.status("c"), StepStatus::Failed);
    assert_eq!(h.run.status, RunStatus::Failed);
    assert!(
        h.run.error.as_deref().unwrap().contains("outputs past"),
        "{:?}",
        h.run.error
    );
}

#[test]
fn a_long_chain_of_pure_steps_ends_over_bounded_transitions() {
    let steps: Vec<Value> = (0..40)
        .map(|i| json!({"key": format!("t{i}"), "kind": "transform", "config": {"expression": format!("{i}")}}))
        .collect();
    let edges: Vec<Value> = (1..40)
        .map(|i| json!({"from": format!("t{}", i - 1), "to": format!("t{i}")}))
        .collect();
    let mut h = Harness::start(json!({"steps": steps, "edges": edges}), json!({}));
    let mut transitions = 1;
    assert!(h.log.len() <= greenlight::domain::workflow::engine::MAX_INLINE_CHANGES + 1);
    while let Some(Effect::Execute { key, attempt, .. }) = h.effects.pop() {
        let before = h.log.len();
        h.send(Signal::Evaluate { key, attempt }).unwrap();
        assert!(
            h.log.len() - before <= greenlight::domain::workflow::engine::MAX_INLINE_CHANGES + 1
        );
        transitions += 1;
    }
    assert_eq!(h.run.status, RunStatus::Succeeded);
    assert_eq!(h.run.output, Some(json!({"t39": 39})));
    assert!(transitions >= 3, "{transitions}");
}

#[test]
fn an_input_schema_is_a_json_schema_of_an_object() {
    let step = json!({"key": "a", "kind": "transform", "config": {"expression": "1"}});
    let e = errors(json!({"inputSchema": {"type": "array"}, "steps": [step]}));
    assert_eq!(e[0].0, "/definition/inputSchema/type");
    assert!(e[0].1.contains("input"), "{e:?}");
    let e = errors(
        json!({"inputSchema": {"type": "object", "properties": {"n": {"type": "nope"}}}, "steps": [step]}),
    );
    assert!(e[0].0.starts_with("/definition/inputSchema"), "{e:?}");
}
