//! The OpenAPI document describes what the server does: schemathesis calls every route
//! as the document describes it, with valid and invalid input, and checks each answer's
//! status, media type, headers and body against the document (`--checks all`).

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use greenlight_tests::receiver::Receiver;
use greenlight_tests::{Backend, approval_body, spawn_app};
use serde_json::json;

/// Cases per operation and phase: enough to reach every status the document lists,
/// few enough for a run of about 15 seconds on two cores.
const MAX_EXAMPLES: &str = "50";
/// A fixed seed: the same cases every run, so a failure is reproducible.
const SEED: &str = "20260101";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_server_answers_as_its_openapi_document_says() {
    let python = std::env::var("GREENLIGHT_TEST_PYTHON").unwrap_or_else(|_| {
        panic!("GREENLIGHT_TEST_PYTHON must name the test venv's python, which has schemathesis; infra/scripts/test.sh sets it")
    });
    let st = Path::new(&python).with_file_name("st");
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemathesis/schemathesis.toml");

    let app = spawn_app(Backend::Sqlite).await;
    // Something behind the ids: a request still pending, one approved, and an endpoint
    // with deliveries to a receiver, so that the routes with ids answer more than 404.
    let rx = Receiver::start().await;
    let r = app
        .post(
            "/v1/webhooks",
            &json!({"url": rx.url("/hooks"), "events": ["*"]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    app.create(&approval_body()).await;
    let decided = app.create(&approval_body()).await;
    let r = app.decide(&decided, &json!({"decision": "approved"})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    app.drain_all().await;

    // The run holds `wait` at 0 (a long-poll would spend it waiting); its bounds here.
    for (wait, status) in [("25", 200), ("26", 422), ("-1", 422), ("soon", 422)] {
        let r = app
            .get(&format!("/v1/approvals/{decided}?wait={wait}"))
            .await;
        assert_eq!(r.status, status, "wait={wait}: {}", r.body);
    }

    let base = app.base.clone();
    let key = app.key.clone();
    let work = std::env::temp_dir().join(format!("greenlight-schemathesis-{}", std::process::id()));
    std::fs::create_dir_all(&work).expect("a working directory for schemathesis");
    let started = Instant::now();
    let mut command = Command::new(&st);
    command
        .arg("--config-file")
        .arg(&config)
        .args(["--no-color", "run", &format!("{base}/v1/openapi.json")])
        .args(["-H", &format!("Authorization: Bearer {key}")])
        .args(["--checks", "all"])
        .args(["--max-examples", MAX_EXAMPLES, "--seed", SEED])
        // The live stream never ends: schemathesis reads each answer until its request
        // timeout, which makes the run minutes long. tests/tests/stream.rs covers it.
        .args(["--exclude-path", "/v1/stream"])
        // Reports and any cache go here, not into the repository.
        .current_dir(&work);
    let run = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("schemathesis ran")
        .unwrap_or_else(|e| panic!("run {}: {e}", st.display()));
    let _ = std::fs::remove_dir_all(&work);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "schemathesis found the server and its OpenAPI document disagreeing ({}):\n{stdout}\n{}",
        run.status,
        String::from_utf8_lossy(&run.stderr)
    );
    let summary = stdout
        .lines()
        .skip_while(|l| !l.contains("Test cases:"))
        .nth(1)
        .unwrap_or_default()
        .trim();
    eprintln!(
        "schemathesis: {summary} in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    app.shutdown().await;
}
