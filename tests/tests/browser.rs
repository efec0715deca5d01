//! The dashboard in a real browser: Debian's Chromium, headless, driven by
//! playwright-core (`tests/browser/dashboard.mjs`): sign in, approve with changes
//! through the form and see the timeline, and watch a decision made through the API
//! appear on an open page without a reload, and a workflow run's page follow a decision. Screenshots land in
//! `tests/browser/screenshots/`. `infra/scripts/test.sh` installs Chromium and
//! playwright-core.

use std::path::Path;
use std::process::Command;

use greenlight_tests::{Backend, approval_body, spawn_app};

const EMAIL: &str = "admin@example.com";
const PASSWORD: &str = "correct-horse-battery";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_dashboard_works_in_a_real_browser() {
    let chromium =
        std::env::var("GREENLIGHT_TEST_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "Chromium must be installed for the browser test ({chromium}); infra/scripts/test.sh installs it"
    );
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("browser");
    assert!(
        dir.join("node_modules/playwright-core").exists(),
        "playwright-core must be installed (npm ci --prefix tests/browser); infra/scripts/test.sh installs it"
    );
    let shots = dir.join("screenshots");
    let _ = std::fs::remove_dir_all(&shots);
    std::fs::create_dir_all(&shots).unwrap();

    let app = spawn_app(Backend::Sqlite).await;
    app.app
        .accounts()
        .ensure_first_admin(Some(EMAIL), Some(PASSWORD))
        .await
        .unwrap();
    // Only a named approver decides: the admin who signs in is one of the first's.
    let mut named = approval_body();
    named["approvers"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"channel": "web", "recipient": EMAIL}));
    let first = app.create(&named).await;
    // Ops, its other approver, decides it through the API (an admin key on their behalf).
    let mut body = approval_body();
    body["approvers"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"channel": "email", "recipient": "ops@example.com"}));
    let second = app.create(&body).await;
    // A workflow run waiting on a person, whose page must follow the decision live.
    let workflow = app
        .create_workflow(&serde_json::json!({
            "steps": [
                {"key": "ask", "kind": "approval", "config": {
                    "name": "Deploy v42", "actionType": "deploy",
                    "approvers": [{"channel": "email", "recipient": "ops@example.com"}]}},
                {"key": "done", "kind": "transform", "config": {"expression": "'deployed'"}}
            ],
            "edges": [{"from": "ask", "to": "done", "branch": "approved"}]
        }))
        .await;
    let run = app.start_run(&workflow, &serde_json::json!({})).await;
    let run = run["id"].as_str().unwrap().to_owned();
    app.drain_all().await;
    let run_approval = app.step(&run, "ask").await["approvalId"]
        .as_str()
        .unwrap()
        .to_owned();

    let envs = [
        ("GL_BASE", app.base.clone()),
        ("GL_EMAIL", EMAIL.into()),
        ("GL_PASSWORD", PASSWORD.into()),
        ("GL_API_KEY", app.admin_key.clone()),
        ("GL_FIRST", first.clone()),
        ("GL_SECOND", second.clone()),
        ("GL_RUN", run.clone()),
        ("GL_RUN_APPROVAL", run_approval),
        ("GL_SCREENSHOTS", shots.display().to_string()),
        ("GL_CHROMIUM", chromium),
    ];
    let script = dir.clone();
    let mut browsing = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg("dashboard.mjs")
            .current_dir(script)
            .envs(envs)
            .output()
            .expect("node runs")
    });
    // The test app has no background worker: run what decisions leave to do meanwhile.
    let out = loop {
        tokio::select! {
            out = &mut browsing => break out.unwrap(),
            _ = tokio::time::sleep(std::time::Duration::from_millis(50)) => {
                app.drain_all().await;
            }
        }
    };
    let said = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "the browser test failed:\n{said}");

    // What the browser did is what the server recorded.
    let a = app.get(&format!("/v1/approvals/{first}")).await.body;
    assert_eq!(a["decision"]["decision"], "modified");
    assert_eq!(a["decision"]["source"], "web");
    assert_eq!(a["decision"]["respondedBy"], EMAIL);
    assert_eq!(a["approvedData"]["amount"], 80);
    assert_eq!(app.run(&run).await["status"], "SUCCEEDED");
    for shot in [
        "inbox.png",
        "approved-with-changes.png",
        "decided-elsewhere.png",
        "inbox-phone.png",
        "run-live.png",
    ] {
        assert!(shots.join(shot).exists(), "no screenshot {shot}");
    }
    app.shutdown().await;
}
