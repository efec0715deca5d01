//! The workflow domain on its own: definition checks naming the pointer at fault, the
//! engine's joins, dead paths, retries, failures and compensation, and a property test
//! over random DAGs (every run ends, no step succeeds twice, the log replays).

use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::prelude::*;
use serde_json::{Value, json};

use greenlight::domain::workflow::event::{RunChange, replay};
use greenlight::domain::workflow::{
    Branch, CompensationStatus, Compiled, Definition, Effect, Outcome, Refused, Run, RunEvent,
    RunStatus, Signal, StepStatus,
};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap()
}

fn def(v: Value) -> Definition {
    serde_json::from_value(v).expect("a definition")
}

fn compile(v: Value) -> Compiled {
    Compiled::new(&def(v)).unwrap_or_else(|e| panic!("{e:?}"))
}

fn errors(v: Value) -> Vec<(String, String)> {
    Compiled::new(&def(v))
        .err()
        .expect("refused")
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
    assert!(cycle[0].0.starts_with("/definition/edges/"), "{cycle:?}");
    // Two steps only reachable from each other: no start leads there.
    let island = fields(json!({
        "steps": [step("a"), step("b"), step("c")],
        "edges": [{"from": "b", "to": "c"}, {"from": "c", "to": "b"}]
    }));
    assert_eq!(island, ["/definition/steps/1", "/definition/steps/2"]);
    assert_eq!(
        fields(json!({"steps": [step("a")], "edges": [{"from": "a", "to": "a"}]})),
        ["/definition/edges/0"]
    );
}

/// Runs `signal` and keeps the log's changes.
struct Harness {
    def: Compiled,
    run: Run,
    log: Vec<(RunChange, DateTime<Utc>)>,
    effects: Vec<Effect>,
    now: DateTime<Utc>,
}

impl Harness {
    fn start(def: Value, input: Value) -> Harness {
        let def = compile(def);
        let out = def
            .start(
                "run_1".into(),
                "wf_1",
                1,
                input,
                json!({"type": "test"}),
                t0(),
            )
            .expect("starts");
        let mut h = Harness {
            run: out.run().unwrap().clone(),
            def,
            log: Vec::new(),
            effects: Vec::new(),
            now: t0(),
        };
        h.take(out);
        h
    }

    fn take(&mut self, out: Outcome) {
        for (c, r) in out.changes {
            self.log.push((c, self.now));
            self.run = r;
        }
        self.effects.extend(out.effects);
    }

    fn send(&mut self, s: Signal) -> Result<(), Refused> {
        self.now += Duration::seconds(1);
        let out = self.def.on(&self.run, s, self.now)?;
        self.take(out);
        Ok(())
    }

    fn status(&self, key: &str) -> StepStatus {
        self.run.step(key).unwrap().status
    }

    fn types(&self) -> Vec<String> {
        self.log.iter().map(|(c, _)| c.type_and_data().0).collect()
    }

    fn ok(&mut self, key: &str, output: Value) {
        let attempt = self.run.step(key).unwrap().attempts;
        self.send(Signal::Succeeded {
            key: key.into(),
            attempt,
            output,
            branch: Branch::Default,
        })
        .unwrap();
    }
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

#[derive(Debug, Clone)]
struct RandomDag {
    /// Per step: its kind (0 transform, 1 http, 2 condition, 3 approval, 4 fail) and
    /// its incoming edges as (from, branch choice).
    steps: Vec<(u8, Vec<(usize, u8)>)>,
    /// Per signal: which pending effect to answer and how.
    answers: Vec<(usize, u8)>,
    cancel_at: Option<usize>,
}

fn random_dag() -> impl Strategy<Value = RandomDag> {
    (1usize..9)
        .prop_flat_map(|n| {
            let steps = (0..n)
                .map(|i| {
                    let kind = if i == n - 1 { 0u8..5 } else { 0u8..4 };
                    let edges = if i == 0 {
                        Just(Vec::new()).boxed()
                    } else {
                        proptest::collection::vec((0..i, 0u8..4), 1..3).boxed()
                    };
                    (kind, edges)
                })
                .collect::<Vec<_>>();
            (
                steps,
                proptest::collection::vec((0usize..8, 0u8..6), 0..40),
                proptest::option::of(0usize..20),
            )
        })
        .prop_map(|(steps, answers, cancel_at)| RandomDag {
            steps,
            answers,
            cancel_at,
        })
}

fn dag_definition(dag: &RandomDag) -> Value {
    let kinds = ["transform", "http", "condition", "approval", "fail"];
    let config = |k: u8| match k {
        0 => json!({"expression": "1"}),
        1 => json!({"method": "POST", "url": "https://example.com"}),
        2 => json!({"expression": "input.flag"}),
        3 => {
            json!({"name": "n", "actionType": "t", "approvers": [{"channel": "dashboard", "recipient": "a@example.com"}]})
        }
        _ => json!({"message": "stop"}),
    };
    let mut edges = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (to, (_, incoming)) in dag.steps.iter().enumerate() {
        for (from, choice) in incoming {
            let from_kind = dag.steps[*from].0;
            let branches: &[&str] = match from_kind {
                2 => &["true", "false", "error"],
                3 => &["approved", "rejected", "timeout", "error"],
                _ => &["default", "error"],
            };
            let b = branches[*choice as usize % branches.len()];
            if seen.insert((*from, to, b)) {
                edges
                    .push(json!({"from": format!("s{from}"), "to": format!("s{to}"), "branch": b}));
            }
        }
    }
    json!({
        "steps": dag.steps.iter().enumerate().map(|(i, (k, _))| json!({
            "key": format!("s{i}"), "kind": kinds[*k as usize], "config": config(*k),
            "retry": if *k == 1 { json!({"maxAttempts": 2}) } else { json!(null) },
            "compensate": if *k == 1 { json!({"kind": "transform", "config": {"expression": "'undone'"}}) } else { json!(null) },
        })).collect::<Vec<_>>(),
        "edges": edges,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn every_run_of_a_random_dag_ends_no_step_succeeds_twice_and_the_log_replays(dag in random_dag(), flag: bool) {
        let mut d = dag_definition(&dag);
        // `null` retry/compensate are "absent".
        for s in d["steps"].as_array_mut().unwrap() {
            let m = s.as_object_mut().unwrap();
            m.retain(|_, v| !v.is_null());
        }
        let mut h = Harness::start(d, json!({"flag": flag}));
        let mut answers = dag.answers.iter().cycle();
        let mut rounds = 0;
        loop {
            rounds += 1;
            prop_assert!(rounds < 500, "the run did not end");
            if Some(rounds) == dag.cancel_at && !h.run.status.is_terminal() {
                h.send(Signal::Cancel { reason: None, by: "test".into() }).unwrap();
            }
            let open: Vec<Effect> = h.effects.clone();
            if open.is_empty() {
                break;
            }
            let (pick, how) = *answers.next().unwrap_or(&(0, 0));
            let effect = open[pick % open.len()].clone();
            h.effects.retain(|e| *e != effect);
            let signal = match &effect {
                Effect::Execute { key, attempt, .. } => {
                    let kind = h.run.step(key).unwrap().kind;
                    let key = key.clone();
                    let attempt = *attempt;
                    let waiting = h.run.step(&key).is_some_and(|s| s.status == StepStatus::Waiting);
                    match (kind.as_str(), how % 3) {
                        ("approval", 0) if !waiting => Signal::Waiting { key, attempt, approval_id: format!("apr_{attempt}") },
                        ("approval", _) => Signal::Resumed {
                            key,
                            approval_id: format!("apr_{attempt}"),
                            outcome: Ok((json!({}), [Branch::Approved, Branch::Rejected, Branch::Timeout][how as usize % 3])),
                        },
                        (_, 0) => Signal::Failed { key, attempt, error: "no".into(), retryable: true },
                        _ => Signal::Succeeded { key, attempt, output: json!(how), branch: Branch::Default },
                    }
                }
                Effect::Compensate { key } => Signal::Compensated { key: key.clone(), result: if how == 0 { Err("no".into()) } else { Ok(json!(1)) } },
                Effect::CancelApproval { .. } => continue,
            };
            // Deliver some signals twice, as a queue would.
            let _ = h.send(signal.clone());
            if how == 5 {
                let _ = h.send(signal);
            }
            // An approval that waits gets its decision later.
            if let Effect::Execute { key, attempt, .. } = &effect
                && h.run.step(key).is_some_and(|s| s.status == StepStatus::Waiting)
            {
                h.effects.push(Effect::Execute { key: key.clone(), attempt: *attempt, at: h.now });
            }
        }
        prop_assert!(h.run.status.is_terminal(), "ended {:?}", h.run.status);
        prop_assert!(h.run.steps.iter().all(|s| s.status.is_final()));
        if let Some(c) = &h.run.compensation {
            prop_assert!(c.status != CompensationStatus::Running);
        }
        let mut succeeded = std::collections::HashSet::new();
        for (c, _) in &h.log {
            if let RunChange::StepSucceeded { key, .. } = c {
                prop_assert!(succeeded.insert(key.clone()), "{key} succeeded twice");
            }
        }
        // The log rebuilds the state exactly.
        let events: Vec<RunEvent> = {
            let mut state = None::<Run>;
            let mut out = Vec::new();
            let mut prev = String::from(greenlight::domain::chain::GENESIS_HASH);
            for (c, at) in &h.log {
                let next = match (&state, c) {
                    (None, RunChange::Started(s)) => Run::started("run_1".into(), s, *at),
                    (Some(s), c) => s.apply(c, *at).unwrap(),
                    _ => unreachable!(),
                };
                let e = RunEvent::record("t", format!("evt_{}", next.seq), &next, c, "test", *at, &prev);
                prev = e.hash.clone();
                out.push(e);
                state = Some(next);
            }
            out
        };
        let rebuilt = replay(&events).unwrap();
        prop_assert_eq!(rebuilt, h.run.clone());
    }
}
