//! No bearer material in any log line: every kind of secret a request can carry is
//! used once, through the real router, while every log line the process writes is
//! captured; then the lines are searched for each secret.

use std::io::Write;
use std::sync::{Arc, Mutex};

use greenlight_tests::{Backend, approval_body, greenlight, spawn_app};
use reqwest::header::{COOKIE, SET_COOKIE};
use serde_json::{Value, json};

/// Every line the process logs, at every level.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture() -> Captured {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .init();
    captured
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The first link of the last message on `channel`, from the dev mailbox.
async fn mailbox_link(app: &greenlight_tests::TestApp, channel: &str) -> String {
    let r = app.get("/v1/dev/mailbox").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let items = r.body["items"].as_array().unwrap();
    let m = items
        .iter()
        .rfind(|m| m["channel"] == channel)
        .unwrap_or_else(|| panic!("no {channel} message"));
    m["links"][0].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_secret_reaches_a_log_line() {
    let logs = capture();
    let app = spawn_app(Backend::Sqlite).await;
    let http = no_redirects();
    let mut secrets: Vec<(&str, String)> = vec![("API key", app.key.clone())];

    // The first admin's invitation, then a session.
    let first = app
        .app
        .accounts()
        .ensure_first_admin(None, None)
        .await
        .unwrap();
    let greenlight::app::FirstAdmin::Invite(invite) = first else {
        panic!("expected an invitation, got {first:?}");
    };
    let password = "first-admin-password";
    secrets.push(("invitation token", invite.clone()));
    secrets.push(("password", password.to_owned()));
    let page = http
        .get(format!("{}/dashboard/invite/{invite}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let joined = http
        .post(format!("{}/dashboard/invite/{invite}", app.base))
        .form(&[("email", "first@example.com"), ("password", password)])
        .send()
        .await
        .unwrap();
    assert_eq!(joined.status(), 303);
    let signed_in = http
        .post(format!("{}/dashboard/sign-in", app.base))
        .form(&[
            ("email", "first@example.com"),
            ("password", password),
            ("next", "/dashboard"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 303);
    let cookie = signed_in.headers()[SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let session = cookie.split_once('=').unwrap().1.to_owned();
    secrets.push(("session cookie", session));
    let inbox = http
        .get(format!("{}/dashboard", app.base))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(inbox.status(), 200);

    // An email link and a text message's code, opened and answered.
    let mut body = approval_body();
    body["approvers"] = json!([
        {"channel": "email", "recipient": "ann@example.com"},
        {"channel": "sms", "recipient": "+15555550100", "id": "sam"}
    ]);
    body["quorum"] = json!(2);
    body.as_object_mut().unwrap().remove("uiSchema");
    app.create(&body).await;
    app.drain_all().await;
    let link = mailbox_link(&app, "email").await;
    let token = link.rsplit('/').next().unwrap().to_owned();
    secrets.push(("link token", token));
    assert_eq!(http.get(&link).send().await.unwrap().status(), 200);
    let decided = http
        .post(&link)
        .form(&[("decision", "approved")])
        .send()
        .await
        .unwrap();
    assert_eq!(decided.status(), 200);
    let short = mailbox_link(&app, "sms").await;
    let code = short.rsplit('/').next().unwrap().to_owned();
    secrets.push(("SMS code", code));
    let opened = http.get(&short).send().await.unwrap();
    assert_eq!(opened.status(), 303);
    // A path under a secret that matches no route is not logged either.
    let stray = http.get(format!("{short}/more")).send().await.unwrap();
    assert_eq!(stray.status(), 404);

    // A live stream ticket, and a key that is not one.
    let ticket = app.post("/v1/stream/ticket", &Value::Null).await;
    assert_eq!(ticket.status, 200, "{}", ticket.body);
    secrets.push((
        "stream ticket",
        ticket.body["ticket"].as_str().unwrap().to_owned(),
    ));
    let unknown = "gl_0123456789abcdef0123456789abcdef0123456789abcdef";
    secrets.push(("unknown key", unknown.to_owned()));
    let refused = app
        .send(reqwest::Method::GET, "/v1/approvals", Some(unknown), None)
        .await;
    assert_eq!(refused.status, 401);

    app.shutdown().await;
    let lines = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        lines.contains("/a/{token}") && lines.contains("/s/{code}"),
        "the requests were logged by their routes:\n{lines}"
    );
    for (kind, secret) in &secrets {
        assert!(
            !lines.contains(secret.as_str()),
            "the {kind} is in the logs:\n{}",
            lines
                .lines()
                .filter(|l| l.contains(secret.as_str()))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}
