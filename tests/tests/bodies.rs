//! Every JSON route, through the real router, against random and mutated bodies: valid
//! bodies with values swapped for other types, nulls, huge numbers, deep nesting and
//! long strings, keys added and removed, and arbitrary JSON. Whatever comes in, the
//! answer is a 2xx or a 4xx: never a 5xx, never a dropped connection (a panic).
//! Deterministic: a fixed seed, 256 cases per route.

use greenlight_tests::{Backend, TestApp, approval_body, spawn_app};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use serde_json::{Value, json};

const CASES_PER_ROUTE: u32 = 256;

/// What replaces a value of a valid body.
fn replacement() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        prop_oneof![
            Just(i64::MAX),
            Just(i64::MIN),
            Just(0),
            Just(-1),
            Just(2_592_001)
        ]
        .prop_map(Value::from),
        Just(json!(1e308)),
        Just(json!(u64::MAX)),
        (0usize..20_000).prop_map(|n| Value::String("a".repeat(n))),
        ".{0,40}".prop_map(Value::String),
        "\\PC{0,10}".prop_map(Value::String),
        (1usize..127).prop_map(nested),
        Just(json!({})),
        Just(json!([])),
        arbitrary_json(),
    ]
}

/// `depth` arrays one inside another, up to the parser's own limit.
fn nested(depth: usize) -> Value {
    (0..depth).fold(json!(1), |v, _| json!([v]))
}

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z]{1,12}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// One change to a body: which place (an index into its JSON Pointers, wrapped), and
/// what happens there.
#[derive(Debug, Clone)]
enum Mutation {
    Replace(usize, Value),
    Remove(usize),
    AddKey(usize, String, Value),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), replacement()).prop_map(|(i, v)| Mutation::Replace(i, v)),
        1 => any::<usize>().prop_map(Mutation::Remove),
        1 => (any::<usize>(), "[a-zA-Z$/~]{1,10}", replacement())
            .prop_map(|(i, k, v)| Mutation::AddKey(i, k, v)),
    ]
}

/// Every JSON Pointer in `v`, the root first.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    out.push(at.clone());
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                pointers(
                    x,
                    format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                )
            }
        }
        Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                pointers(x, format!("{at}/{i}"), out)
            }
        }
        _ => {}
    }
}

fn apply(mut body: Value, m: &Mutation) -> Value {
    let mut all = Vec::new();
    pointers(&body, String::new(), &mut all);
    let at = |i: usize| all[i % all.len()].clone();
    match m {
        Mutation::Replace(i, v) => match body.pointer_mut(&at(*i)) {
            Some(place) => *place = v.clone(),
            None => body = v.clone(),
        },
        Mutation::Remove(i) => {
            let p = at(*i);
            if let Some((parent, last)) = p.rsplit_once('/')
                && let Some(container) = body.pointer_mut(parent)
            {
                match container {
                    Value::Object(m) => {
                        m.remove(&last.replace("~1", "/").replace("~0", "~"));
                    }
                    Value::Array(a) => {
                        if let Ok(n) = last.parse::<usize>()
                            && n < a.len()
                        {
                            a.remove(n);
                        }
                    }
                    _ => {}
                }
            }
        }
        Mutation::AddKey(i, k, v) => {
            if let Some(Value::Object(m)) = body.pointer_mut(&at(*i)) {
                m.insert(k.clone(), v.clone());
            }
        }
    }
    body
}

/// A valid body mutated a few times, or arbitrary JSON.
fn body_from(valid: Value) -> impl Strategy<Value = Value> {
    prop_oneof![
        6 => prop::collection::vec(mutation(), 1..4)
            .prop_map(move |ms| ms.iter().fold(valid.clone(), apply)),
        1 => arbitrary_json(),
    ]
}

struct Route {
    method: reqwest::Method,
    path: String,
    valid: Value,
}

async fn routes(app: &TestApp) -> Vec<Route> {
    let id = app.create(&approval_body()).await;
    let hook = app
        .post(
            "/v1/webhooks",
            &json!({"url": "http://127.0.0.1:9/hook", "events": ["*"]}),
        )
        .await;
    assert_eq!(hook.status, 201, "{}", hook.body);
    let hook = hook.body["id"].as_str().unwrap().to_owned();
    let post = reqwest::Method::POST;
    let mut ladder = approval_body();
    ladder["timeoutAction"] = json!("escalate");
    ladder["escalation"] = json!([{"approvers": [{"channel": "email", "recipient": "b@example.com"}], "timeoutSeconds": 60}]);
    ladder["reminders"] = json!([{"afterSeconds": 30}, {"beforeExpirySeconds": 10}]);
    ladder["quorum"] = json!(1);
    ladder["metadata"] = json!({"k": "v"});
    vec![
        Route {
            method: post.clone(),
            path: "/v1/approvals".into(),
            valid: ladder,
        },
        Route {
            method: post.clone(),
            path: format!("/v1/approvals/{id}/decision"),
            valid: json!({"decision": "modified", "responseData": {"amount": 80}, "feedback": "ok", "respondedBy": "ann@example.com"}),
        },
        Route {
            method: post.clone(),
            path: format!("/v1/approvals/{id}/cancel"),
            valid: json!({"reason": "no longer needed"}),
        },
        Route {
            method: post.clone(),
            path: format!("/v1/approvals/{id}/execution"),
            valid: json!({"status": "failed", "error": "boom", "result": {"code": 1}}),
        },
        Route {
            method: post.clone(),
            path: "/v1/webhooks".into(),
            valid: json!({"url": "http://127.0.0.1:9/hook", "events": ["approval.*"], "description": "d", "active": true}),
        },
        Route {
            method: reqwest::Method::PATCH,
            path: format!("/v1/webhooks/{hook}"),
            valid: json!({"url": "http://127.0.0.1:9/other", "events": ["*"], "description": "d", "active": false}),
        },
        Route {
            method: post.clone(),
            path: format!("/v1/webhooks/{hook}/rotate-secret"),
            valid: json!({"overlapSeconds": 60}),
        },
        Route {
            method: post.clone(),
            path: format!("/v1/webhooks/{hook}/redeliver"),
            valid: json!({"since": "2026-01-01T00:00:00Z"}),
        },
        Route {
            method: post.clone(),
            path: "/v1/callback-secret/rotate".into(),
            valid: json!({}),
        },
        Route {
            method: post,
            path: "/v1/stream/ticket".into(),
            valid: json!({}),
        },
    ]
}

#[test]
fn no_body_makes_a_server_error_or_a_panic() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let app = rt.block_on(spawn_app(Backend::Sqlite));
    let routes = rt.block_on(routes(&app));
    for route in &routes {
        let config = Config {
            cases: CASES_PER_ROUTE,
            failure_persistence: None,
            ..Config::default()
        };
        let mut runner =
            TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
        let result = runner.run(&body_from(route.valid.clone()), |body| {
            let (status, answer) = rt.block_on(async {
                let res = app
                    .http
                    .request(route.method.clone(), format!("{}{}", app.base, route.path))
                    .bearer_auth(&app.key)
                    .json(&body)
                    .send()
                    .await
                    .map_err(|e| TestCaseError::fail(format!("no answer (a panic?): {e}")))?;
                let status = res.status().as_u16();
                Ok::<_, TestCaseError>((status, res.text().await.unwrap_or_default()))
            })?;
            prop_assert!(
                status < 500,
                "{} {} → {status}: {answer}",
                route.method,
                route.path
            );
            Ok(())
        });
        if let Err(e) = result {
            panic!("{} {}: {e}", route.method, route.path);
        }
    }
    rt.block_on(app.shutdown());
}
