//! The dashboard over HTTP: sign-in and sessions, CSRF on every form, who may decide,
//! a late click on a request decided elsewhere, and the admin pages (API keys,
//! invitations). The browser-driven flows are in `browser.rs`.

use greenlight_tests::{Backend, TestApp, approval_body, greenlight, on_every_store, spawn_app};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use serde_json::json;

const ADMIN: &str = "admin@example.com";
const PASSWORD: &str = "correct-horse-battery";

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

struct Browser {
    http: reqwest::Client,
    base: String,
    cookie: String,
}

impl Browser {
    async fn sign_in(app: &TestApp, email: &str, password: &str) -> Result<Browser, u16> {
        let http = client();
        let res = http
            .post(format!("{}/dashboard/sign-in", app.base))
            .form(&[
                ("email", email),
                ("password", password),
                ("next", "/dashboard"),
            ])
            .send()
            .await
            .unwrap();
        if res.status() != 303 {
            return Err(res.status().as_u16());
        }
        let set = res.headers()[SET_COOKIE].to_str().unwrap().to_owned();
        assert!(
            set.contains("HttpOnly") && set.contains("SameSite=Lax"),
            "{set}"
        );
        let cookie = set.split(';').next().unwrap().to_owned();
        Ok(Browser {
            http,
            base: app.base.clone(),
            cookie,
        })
    }

    async fn get(&self, path: &str) -> (u16, String) {
        let res = self
            .http
            .get(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> (u16, String) {
        let res = self
            .http
            .post(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .form(form)
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    }

    /// The CSRF token in a page's forms.
    async fn csrf(&self, path: &str) -> String {
        let (_, page) = self.get(path).await;
        let at = page
            .find("name=\"csrf\" value=\"")
            .expect("a form with a CSRF token")
            + 19;
        page[at..at + 64].to_owned()
    }
}

async fn with_admin(backend: Backend) -> TestApp {
    let app = spawn_app(backend).await;
    app.app
        .accounts()
        .ensure_first_admin(Some(ADMIN), Some(PASSWORD))
        .await
        .unwrap();
    app
}

on_every_store!(sessions_and_forms_are_guarded);
async fn sessions_and_forms_are_guarded(backend: Backend) {
    let app = with_admin(backend).await;
    // Ops is the other approver: the decision made elsewhere below is theirs.
    let mut body = approval_body();
    body["approvers"]
        .as_array_mut()
        .unwrap()
        .push(json!({"channel": "email", "recipient": "ops@example.com"}));
    let id = app.create(&body).await;

    // Signed out: pages redirect to sign in; a wrong password is refused.
    let res = client()
        .get(format!("{}/dashboard/approvals/{id}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert!(
        res.headers()[LOCATION]
            .to_str()
            .unwrap()
            .starts_with("/dashboard/sign-in?next=")
    );
    assert_eq!(
        Browser::sign_in(&app, ADMIN, "wrong password!!")
            .await
            .err(),
        Some(401)
    );
    assert_eq!(
        Browser::sign_in(&app, "nobody@example.com", PASSWORD)
            .await
            .err(),
        Some(401)
    );

    let admin = Browser::sign_in(&app, ADMIN, PASSWORD).await.unwrap();
    let (code, page) = admin.get("/dashboard").await;
    assert_eq!(code, 200);
    assert!(page.contains("Refund order 1234"), "{page}");

    // A forged form (no or another CSRF token) is refused and changes nothing.
    let path = format!("/dashboard/approvals/{id}/decide");
    let (code, _) = admin.post(&path, &[("decision", "approved")]).await;
    assert_eq!(code, 403);
    let (code, _) = admin
        .post(
            &path,
            &[("csrf", &"0".repeat(64)), ("decision", "approved")],
        )
        .await;
    assert_eq!(code, 403);
    assert_eq!(
        app.get(&format!("/v1/approvals/{id}")).await.body["status"],
        "PENDING"
    );

    // The session cookie reads the API (the live stream) but never writes through it.
    let res = client()
        .post(format!("{}/v1/approvals/{id}/decision", app.base))
        .header(COOKIE, &admin.cookie)
        .json(&json!({"decision": "approved"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let (code, _) = admin.get(&format!("/v1/approvals/{id}")).await;
    assert_eq!(code, 200);

    // A late click on a request decided elsewhere gets a clear answer, changes nothing.
    let csrf = admin.csrf(&format!("/dashboard/approvals/{id}")).await;
    app.decide(
        &id,
        &json!({"decision": "rejected", "respondedBy": "ops@example.com"}),
    )
    .await;
    let (code, page) = admin
        .post(&path, &[("csrf", &csrf), ("decision", "approved")])
        .await;
    assert_eq!(code, 409);
    assert!(
        page.contains("Nothing changed: Rejected by ops@example.com"),
        "{page}"
    );
    assert_eq!(app.events(&id).await.len(), 2);

    // Sessions expire: the next page asks to sign in again.
    app.clock.advance(chrono::Duration::hours(13));
    let res = client()
        .get(format!("{}/dashboard", app.base))
        .header(COOKIE, &admin.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert!(
        res.headers()[LOCATION]
            .to_str()
            .unwrap()
            .contains("expired=1")
    );
    // The sweeper's housekeeping forgets it (and only expired ones).
    let fresh = Browser::sign_in(&app, ADMIN, PASSWORD).await.unwrap();
    assert_eq!(app.app.accounts().prune_sessions().await.unwrap(), 1);
    assert_eq!(app.app.accounts().prune_sessions().await.unwrap(), 0);
    assert_eq!(fresh.get("/dashboard").await.0, 200);
    app.shutdown().await;
}

on_every_store!(admins_manage_keys_and_invite_approvers_who_answer_their_requests);
async fn admins_manage_keys_and_invite_approvers_who_answer_their_requests(backend: Backend) {
    let app = with_admin(backend).await;
    let admin = Browser::sign_in(&app, ADMIN, PASSWORD).await.unwrap();
    let csrf = admin.csrf("/dashboard/admin").await;

    // A new API key works on the API, until it is revoked.
    let (code, page) = admin
        .post(
            "/dashboard/admin/keys",
            &[("csrf", &csrf), ("name", "billing agent")],
        )
        .await;
    assert_eq!(code, 200);
    let at = page.find("<pre id=\"shown-secret\">").unwrap() + 23;
    let secret = page[at..].split('<').next().unwrap().to_owned();
    let ok = app
        .send(reqwest::Method::GET, "/v1/approvals", Some(&secret), None)
        .await;
    assert_eq!(ok.status, 200);
    let keys = app.app.stores.tenants.api_keys("default").await.unwrap();
    let key = keys.iter().find(|k| k.name == "billing agent").unwrap();
    let (code, _) = admin
        .post(
            &format!("/dashboard/admin/keys/{}/revoke", key.id),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(code, 200);
    let refused = app
        .send(reqwest::Method::GET, "/v1/approvals", Some(&secret), None)
        .await;
    assert_eq!(refused.status, 401);

    // An invitation: a one-time link to choose a password.
    let (code, page) = admin
        .post(
            "/dashboard/admin/invites",
            &[
                ("csrf", &csrf),
                ("email", "ann@example.com"),
                ("role", "approver"),
            ],
        )
        .await;
    assert_eq!(code, 200);
    // HTML escapes the link's slashes.
    let page = page.replace("&#x2f;", "/");
    let at = page.find("/dashboard/invite/").unwrap();
    let link = page[at..].split('<').next().unwrap().to_owned();
    let (code, _) = admin.get(&link).await;
    assert_eq!(code, 200);
    let short = client()
        .post(format!("{}{link}", app.base))
        .form(&[("password", "short")])
        .send()
        .await
        .unwrap();
    assert_eq!(short.status(), 422);
    let joined = client()
        .post(format!("{}{link}", app.base))
        .form(&[("password", "ann-s-long-password")])
        .send()
        .await
        .unwrap();
    assert_eq!(joined.status(), 303);
    let again = client()
        .post(format!("{}{link}", app.base))
        .form(&[("password", "another-long-password")])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 404, "an invitation works once");

    // Ann, an approver, answers the request that names her and not another.
    let ann = Browser::sign_in(&app, "ann@example.com", "ann-s-long-password")
        .await
        .unwrap();
    let (code, _) = ann.get("/dashboard/admin").await;
    assert_eq!(code, 403, "approvers see no admin pages");
    let mine = app.create(&approval_body()).await;
    let mut body = approval_body();
    body["approvers"] = json!([{"channel": "email", "recipient": "bob@example.com"}]);
    let not_mine = app.create(&body).await;
    let (_, page) = ann.get(&format!("/dashboard/approvals/{not_mine}")).await;
    assert!(
        page.contains("does not name you") && !page.contains("name=\"decision\""),
        "{page}"
    );
    let csrf = ann.csrf(&format!("/dashboard/approvals/{mine}")).await;
    let (code, _) = ann
        .post(
            &format!("/dashboard/approvals/{not_mine}/decide"),
            &[("csrf", &csrf), ("decision", "approved")],
        )
        .await;
    assert_eq!(code, 403);
    // An admin sees every request, but decides none that does not name them.
    let csrf_admin = admin
        .csrf(&format!("/dashboard/approvals/{not_mine}"))
        .await;
    let (code, page) = admin
        .post(
            &format!("/dashboard/approvals/{not_mine}/decide"),
            &[("csrf", &csrf_admin), ("decision", "approved")],
        )
        .await;
    assert_eq!(code, 403, "{page}");
    assert_eq!(
        app.get(&format!("/v1/approvals/{not_mine}")).await.body["status"],
        "PENDING"
    );
    let (code, _) = ann
        .post(
            &format!("/dashboard/approvals/{mine}/decide"),
            &[("csrf", &csrf), ("decision", "approved")],
        )
        .await;
    assert_eq!(code, 303, "decided, then back to the request's page");
    let a = app.get(&format!("/v1/approvals/{mine}")).await.body;
    assert_eq!(
        (a["status"].as_str(), a["decision"]["respondedBy"].as_str()),
        (Some("APPROVED"), Some("ann@example.com"))
    );
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_first_start_prints_a_one_time_link_when_no_admin_is_configured() {
    let app = spawn_app(Backend::Sqlite).await;
    let first = app
        .app
        .accounts()
        .ensure_first_admin(None, None)
        .await
        .unwrap();
    let greenlight::app::FirstAdmin::Invite(token) = first else {
        panic!("expected a link, got {first:?}");
    };
    let joined = client()
        .post(format!("{}/dashboard/invite/{token}", app.base))
        .form(&[
            ("email", "first@example.com"),
            ("password", "first-admin-password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(joined.status(), 303);
    assert_eq!(
        app.app
            .accounts()
            .ensure_first_admin(None, None)
            .await
            .unwrap(),
        greenlight::app::FirstAdmin::Exists
    );
    let admin = Browser::sign_in(&app, "first@example.com", "first-admin-password")
        .await
        .unwrap();
    assert_eq!(admin.get("/dashboard/admin").await.0, 200);
    app.shutdown().await;
}

on_every_store!(admins_see_workflows_drawn_and_runs_step_by_step);
async fn admins_see_workflows_drawn_and_runs_step_by_step(backend: Backend) {
    let app = with_admin(backend).await;
    let definition = json!({
        "steps": [
            {"key": "total", "kind": "transform", "config": {"expression": "input.amount * 2"}},
            {"key": "big", "kind": "condition", "config": {"expression": "steps.total > 100"}},
            {"key": "ask", "kind": "approval", "config": {
                "name": "Big refund", "actionType": "refund", "actionData": {"amount": "=steps.total"},
                "approvers": [{"channel": "email", "recipient": "ann@example.com"}],
                "timeoutSeconds": 3600
            }},
            {"key": "small", "kind": "transform", "config": {"expression": "'fine'"}}
        ],
        "edges": [
            {"from": "total", "to": "big"},
            {"from": "big", "to": "ask", "branch": "true"},
            {"from": "big", "to": "small", "branch": "false"}
        ]
    });
    let workflow = app.create_workflow(&definition).await;
    let run = app.start_run(&workflow, &json!({"amount": 80})).await;
    let run_id = run["id"].as_str().unwrap().to_owned();
    app.drain_all().await;

    let admin = Browser::sign_in(&app, ADMIN, PASSWORD).await.unwrap();
    let (code, page) = admin.get("/dashboard/workflows").await;
    assert_eq!(code, 200);
    assert!(
        page.contains(&format!("/dashboard/workflows/{workflow}")),
        "{page}"
    );
    assert!(
        page.contains(&format!("/dashboard/runs/{run_id}")),
        "{page}"
    );

    // The version's DAG: one box per step, the condition's branches labelled.
    let (code, page) = admin.get(&format!("/dashboard/workflows/{workflow}")).await;
    assert_eq!(code, 200);
    assert!(page.contains("<svg"), "{page}");
    assert_eq!(page.matches("<g class=\"step").count(), 4, "{page}");
    assert!(
        page.contains(">true</text>") && page.contains(">false</text>"),
        "{page}"
    );
    let (code, _) = admin
        .get(&format!("/dashboard/workflows/{workflow}?version=9"))
        .await;
    assert_eq!(code, 404);

    // The run: 80 doubled is 160, so the person is asked; each step shows its status.
    let (code, page) = admin.get(&format!("/dashboard/runs/{run_id}")).await;
    assert_eq!(code, 200);
    assert!(page.contains("data-terminal=\"false\""), "{page}");
    // It listens to its own run's events on the stream.
    assert!(
        page.contains(&format!("/v1/stream?approvalId={run_id}")),
        "{page}"
    );
    assert!(page.contains("\"step.succeeded\""), "{page}");
    assert!(
        page.contains("<g class=\"step SUCCEEDED\" data-key=\"total\""),
        "{page}"
    );
    assert!(
        page.contains("<g class=\"step WAITING\" data-key=\"ask\""),
        "{page}"
    );
    assert!(
        page.contains("<g class=\"step SKIPPED\" data-key=\"small\""),
        "{page}"
    );
    let approval = app.step(&run_id, "ask").await["approvalId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        page.contains(&format!("/dashboard/approvals/{approval}")),
        "{page}"
    );

    // Its live part, as the page reads it again, follows the decision.
    let r = app
        .decide(&approval, &json!({"decision": "approved"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    app.drain_all().await;
    let (code, page) = admin
        .get(&format!("/dashboard/runs/{run_id}?partial=1"))
        .await;
    assert_eq!(code, 200);
    assert!(!page.contains("<h1>"), "only the live part");
    assert!(page.contains("data-terminal=\"true\""), "{page}");
    assert!(
        page.contains("<g class=\"step SUCCEEDED\" data-key=\"ask\""),
        "{page}"
    );
    let (code, page) = admin.get("/dashboard/runs?status=SUCCEEDED").await;
    assert_eq!(code, 200);
    assert!(page.contains(&run_id), "{page}");
    let (code, _) = admin.get("/dashboard/runs/run_missing").await;
    assert_eq!(code, 404);
}
