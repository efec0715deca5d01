//! Property tests of the approval state machine: random command sequences at random
//! times never break its rules, and their event log replays and verifies.

use chrono::{DateTime, Duration, Utc};
use greenlight::domain::chain::{self, GENESIS_HASH};
use greenlight::domain::event::replay;
use greenlight::domain::{
    Actor, Approval, Change, Command, DecisionKind, DomainError, Event, ExecutionReport,
    ExecutionStatus, NewApproval, Source, Status, TimeoutAction, Transition,
};
use proptest::prelude::*;
use serde_json::json;

const AUDIT_KEY: &[u8] = b"the audit key of these tests";

/// Whether `events` verify as tenant t1's, their head sealed by the key holder (who
/// could seal a forgery: what the chain cannot catch, the snapshots must).
fn verifies(events: &[greenlight::domain::Event]) -> bool {
    let head = events.last().expect("events");
    let seal = chain::seal(AUDIT_KEY, "t1", &head.approval_id, head.seq, &head.hash);
    let key = chain::HeadSeal {
        key: AUDIT_KEY,
        recorded: Some(&seal),
    };
    chain::verify("t1", events, &head.hash, key).valid
}

fn t0() -> DateTime<Utc> {
    "2026-01-01T00:00:00Z".parse().unwrap()
}

fn created(timeout_action: TimeoutAction) -> (Approval, Event) {
    created_with(timeout_action, 1)
}

/// Ann answers on Slack or email (one identity); Bob asked for the action; the ladder
/// has Dave, then Erin, whose silence approves.
fn created_with(timeout_action: TimeoutAction, quorum: u32) -> (Approval, Event) {
    let escalation = if timeout_action == TimeoutAction::Escalate {
        json!([
            {"approvers": [{"channel": "email", "recipient": "dave@example.com", "id": "dave"}], "timeoutSeconds": 50},
            {"approvers": [{"channel": "sms", "recipient": "+15550100", "id": "erin"}], "timeoutSeconds": 50, "timeoutAction": "approve"}
        ])
    } else {
        json!(null)
    };
    let input: NewApproval = serde_json::from_value(json!({
        "name": "Deploy v42",
        "agentId": "deploy-bot",
        "actionType": "deploy",
        "actionData": {"version": "v42", "replicas": 3},
        "approvers": [
            {"channel": "slack", "recipient": "U1", "id": "ann"},
            {"channel": "email", "recipient": "ann@example.com", "id": "ann"},
            {"channel": "email", "recipient": "bob@example.com", "id": "bob"},
            {"channel": "web", "recipient": "carol"}
        ],
        "requestedBy": "bob",
        "quorum": quorum,
        "timeoutSeconds": 100,
        "timeoutAction": timeout_action,
        "escalation": escalation,
        "reminders": [{"afterSeconds": 10}, {"beforeExpirySeconds": 20}],
        "uiSchema": {"type": "object", "properties": {"replicas": {"type": "integer", "maximum": 10}}}
    }))
    .unwrap();
    let spec = input.validate(t0()).unwrap();
    let a = Approval::created("apr_1".into(), spec.clone(), t0());
    let actor = Actor {
        id: "agent:deploy-bot".into(),
        source: Source::Api,
    };
    let e = Event::record(
        "t1",
        "evt_1".into(),
        &a,
        &Change::Created(Box::new(spec)),
        &actor,
        t0(),
        GENESIS_HASH,
    );
    (a, e)
}

fn who() -> impl Strategy<Value = Option<String>> {
    prop::sample::select(vec![
        None,
        Some("U1".to_owned()),
        Some("ann@example.com".to_owned()),
        Some("bob".to_owned()),
        Some("carol".to_owned()),
        Some("dave".to_owned()),
        Some("erin".to_owned()),
        Some("mallory".to_owned()),
    ])
}

fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        who().prop_map(|by| Command::Decide {
            decision: DecisionKind::Approved,
            response_data: None,
            feedback: None,
            responded_by: by,
        }),
        who().prop_map(|by| Command::Decide {
            decision: DecisionKind::Rejected,
            response_data: None,
            feedback: Some("no".into()),
            responded_by: by,
        }),
        (0i64..20, who()).prop_map(|(n, by)| Command::Decide {
            decision: DecisionKind::Modified,
            response_data: Some(json!({"replicas": n})),
            feedback: None,
            responded_by: by,
        }),
        prop::option::of(0u32..3).prop_map(|level| Command::Expire { level }),
        (0u32..3, prop::option::of(0u32..3))
            .prop_map(|(index, level)| Command::Remind { index, level }),
        Just(Command::Cancel {
            reason: Some("changed my mind".into())
        }),
        Just(Command::ReportExecution(ExecutionReport {
            status: ExecutionStatus::Started,
            result: None,
            error: None
        })),
        Just(Command::ReportExecution(ExecutionReport {
            status: ExecutionStatus::Succeeded,
            result: Some(json!({"ok": true})),
            error: None
        })),
        Just(Command::ReportExecution(ExecutionReport {
            status: ExecutionStatus::Failed,
            result: None,
            error: Some("boom".into())
        })),
        Just(Command::ReportExecution(ExecutionReport {
            status: ExecutionStatus::Failed,
            result: None,
            error: None
        })),
    ]
}

fn timeout_action() -> impl Strategy<Value = TimeoutAction> {
    prop_oneof![
        Just(TimeoutAction::Reject),
        Just(TimeoutAction::Approve),
        Just(TimeoutAction::Escalate)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_histories_keep_every_rule(
        action in timeout_action(),
        quorum in 1u32..=3,
        steps in prop::collection::vec((command(), 0i64..40, any::<bool>()), 0..16),
    ) {
        let (mut state, first) = created_with(action, quorum);
        let mut events = vec![first];
        let mut now = t0();
        let mut decided: Option<greenlight::domain::Decision> = None;
        for (i, (cmd, advance, by_slack)) in steps.into_iter().enumerate() {
            now += Duration::seconds(advance);
            let actor = Actor {
                id: format!("key-{i}"),
                source: if by_slack { Source::Slack } else { Source::Api },
            };
            let was_terminal = state.status.is_terminal();
            match state.decide(cmd, &actor, now) {
                Ok(change) => {
                    prop_assert!(!was_terminal, "a terminal request accepted {change:?}");
                    let t = change.transition().unwrap();
                    let next = state.apply(&change, now).unwrap();
                    prop_assert_eq!(t.apply(state.status), Some(next.status));
                    prop_assert_eq!(next.version, state.version + 1);
                    if let Some(d) = &decided {
                        prop_assert_eq!(Some(d), next.decision.as_ref(), "a decision is never replaced");
                    }
                    let mut voters: Vec<&str> = next.votes.iter().map(|v| v.voter.as_str()).collect();
                    let n = voters.len();
                    voters.sort_unstable();
                    voters.dedup();
                    prop_assert_eq!(voters.len(), n, "an approver counts once");
                    prop_assert!(!next.votes.iter().any(|v| v.voter == "bob" && v.decision != DecisionKind::Rejected),
                        "the requester never approves");
                    if next.status == Status::Approved {
                        prop_assert!(next.approved_data.is_some());
                        if let Some(r) = next.approved_data.as_ref().and_then(|d| d.get("replicas")) {
                            prop_assert!(r.as_i64().unwrap() <= 10, "the uiSchema held");
                        }
                        let by_people = next.decision.as_ref().unwrap().source != Source::Timeout;
                        if by_people {
                            let yes = next.votes.iter().filter(|v| v.decision != DecisionKind::Rejected).count();
                            prop_assert!(yes as u32 >= quorum, "approved with {yes} of {quorum}");
                        }
                    }
                    match &change {
                        Change::TimedOut(_) | Change::Escalated(_) => prop_assert!(now >= state.due_at),
                        Change::Approved(d) if d.source == Source::Timeout => prop_assert!(now >= state.due_at),
                        _ => {}
                    }
                    if let Change::Escalated(e) = &change {
                        prop_assert_eq!(e.level, state.level + 1);
                        prop_assert!(e.due_at > now);
                    }
                    decided = next.decision.clone();
                    let prev = events.last().unwrap().hash.clone();
                    events.push(Event::record("t1", format!("evt_{}", i + 2), &next, &change, &actor, now, &prev));
                    state = next;
                }
                Err(DomainError::IllegalTransition { from, transition }) => {
                    prop_assert_eq!(from, state.status);
                    prop_assert_eq!(transition.apply(from), None);
                }
                Err(DomainError::Expired { .. }) => prop_assert!(now >= state.due_at),
                Err(DomainError::NotDue { .. }) => prop_assert!(now < state.due_at),
                Err(DomainError::Invalid(errors)) => prop_assert!(!errors.is_empty()),
                Err(DomainError::Forbidden(_)) => {}
                Err(DomainError::AlreadyVoted { voter }) => {
                    prop_assert!(state.votes.iter().any(|v| v.voter == voter));
                }
                Err(DomainError::AlreadyReminded { level, index }) => {
                    prop_assert!(state.reminders_sent.contains(&[level, index]));
                }
                Err(DomainError::StaleTimer { set_for, level }) => {
                    prop_assert_eq!(level, state.level);
                    prop_assert_ne!(set_for, state.level);
                }
                Err(DomainError::AlreadyCreated) => prop_assert!(false, "decide never creates"),
            }
        }
        prop_assert_eq!(replay(&events).unwrap(), state.clone());
        prop_assert!(verifies(&events));
        for e in &events {
            prop_assert_eq!(e.change().unwrap().type_and_data().0, e.event_type.clone());
        }
    }
}

#[test]
fn the_transition_table_is_exactly_the_documented_one() {
    use Status::*;
    use Transition::*;
    let legal = [
        (Approve, Pending, Approved),
        (ApproveWithChanges, Pending, Approved),
        (AutoApprove, Pending, Approved),
        (Reject, Pending, Rejected),
        (TimeOut, Pending, Timeout),
        (Cancel, Pending, Cancelled),
        (Vote, Pending, Pending),
        (Escalate, Pending, Pending),
        (Remind, Pending, Pending),
        (StartExecution, Approved, Executing),
        (CompleteExecution, Approved, Completed),
        (CompleteExecution, Executing, Completed),
        (FailExecution, Approved, Failed),
        (FailExecution, Executing, Failed),
    ];
    for &t in Transition::ALL {
        for &s in Status::ALL {
            let expected = legal
                .iter()
                .find(|(lt, ls, _)| *lt == t && *ls == s)
                .map(|l| l.2)
                // Messages to approvers are recorded whatever the status, and change none.
                .or((t == Notify).then_some(s));
            assert_eq!(t.apply(s), expected, "{t} from {s}");
        }
    }
}

#[test]
fn a_doctored_log_does_not_replay() {
    let (a, first) = created(TimeoutAction::Reject);
    let actor = Actor {
        id: "ann".into(),
        source: Source::Web,
    };
    let reject = Command::Decide {
        decision: DecisionKind::Rejected,
        response_data: None,
        feedback: None,
        responded_by: None,
    };
    let change = a.decide(reject, &actor, t0()).unwrap();
    let rejected = a.apply(&change, t0()).unwrap();
    let second = Event::record(
        "t1",
        "evt_2".into(),
        &rejected,
        &change,
        &actor,
        t0(),
        &first.hash,
    );
    // An approval appended after a rejection is not a legal history.
    let mut forged = second.clone();
    forged.seq = 3;
    forged.event_type = "approval.approved".into();
    assert!(replay(&[first.clone(), second.clone(), forged]).is_err());
    assert!(replay(&[second]).is_err(), "a log starts with its creation");
}

#[test]
fn a_forged_snapshot_is_caught_even_with_its_hash_recomputed() {
    use greenlight::domain::event::first_snapshot_mismatch;
    let (a, first) = created(TimeoutAction::Reject);
    let actor = Actor {
        id: "ann".into(),
        source: Source::Web,
    };
    let approve = Command::Decide {
        decision: DecisionKind::Approved,
        response_data: None,
        feedback: None,
        responded_by: None,
    };
    let change = a.decide(approve, &actor, t0()).unwrap();
    let approved = a.apply(&change, t0()).unwrap();
    let mut second = Event::record(
        "t1",
        "evt_2".into(),
        &approved,
        &change,
        &actor,
        t0(),
        &first.hash,
    );
    assert_eq!(
        first_snapshot_mismatch(&[first.clone(), second.clone()]),
        None
    );
    second.snapshot["approvedData"]["replicas"] = json!(300);
    second.hash = chain::hash_event("t1", &second);
    let events = [first, second];
    assert!(verifies(&events), "the chain alone is fooled");
    assert_eq!(first_snapshot_mismatch(&events), Some(2));
}
