//! A property test of the workflow engine over random DAGs of every kind of step, with
//! random outcomes, repeats, retries, decisions and cancels: every run ends, no step
//! succeeds twice, and the log replays to the state exactly.

mod harness;

use proptest::prelude::*;
use serde_json::{Value, json};

use greenlight::domain::workflow::event::{RunChange, replay};
use greenlight::domain::workflow::{
    Branch, CompensationStatus, Effect, Run, RunEvent, Signal, StepStatus,
};
use harness::Harness;

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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Any graph is either refused with pointers into the definition (never a panic) or
    /// runs as a DAG: every step ends.
    #[test]
    fn any_graph_is_refused_by_pointer_or_runs_to_its_end(
        n in 1usize..8,
        edges in proptest::collection::vec((0usize..8, 0usize..8), 0..16),
    ) {
        let steps: Vec<Value> = (0..n)
            .map(|i| json!({"key": format!("s{i}"), "kind": "transform", "config": {"expression": "1"}}))
            .collect();
        let edges: Vec<Value> = edges
            .iter()
            .map(|(a, b)| json!({"from": format!("s{a}"), "to": format!("s{b}")}))
            .collect();
        let def: greenlight::domain::workflow::Definition =
            serde_json::from_value(json!({"steps": steps, "edges": edges})).unwrap();
        match greenlight::domain::workflow::Compiled::new(&def) {
            Err(errors) => {
                prop_assert!(!errors.is_empty());
                for e in errors {
                    prop_assert!(e.field.starts_with("/definition/"), "{e:?}");
                }
            }
            Ok(_) => {
                let h = Harness::start(json!({"steps": def.steps, "edges": def.edges}), json!({}));
                prop_assert!(h.run.steps.iter().all(|s| s.status.is_final()));
            }
        }
    }
}
