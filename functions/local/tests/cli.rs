//! `greenlight key create`: a key of the role asked for, its secret as the last line; on
//! SQLite, and on a DynamoDB table (moto's server), as an operator makes the first key
//! of a deployment on AWS.

use std::process::{Command, Output};

use greenlight::app::accounts::hash_api_key;
use greenlight::domain::KeyRole;
use greenlight_tests::{Backend, fresh_database, open_stores};

fn greenlight(db: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_greenlight"))
        .args(args)
        .env("GREENLIGHT_DATABASE_URL", db)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .output()
        .expect("the binary runs")
}

fn last_line(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout.lines().last().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn key_create_makes_a_key_of_each_role() {
    let dir = std::env::temp_dir().join("greenlight-cli-tests");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("cli-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&file);
    key_create(&format!("sqlite://{}", file.display())).await;
}

#[tokio::test]
async fn key_create_makes_a_key_of_each_role_on_dynamodb() {
    let table = fresh_database(Backend::Dynamo).await;
    let endpoint = greenlight_tests::aws::endpoint();
    key_create(&format!("{table}?endpoint={endpoint}&region=us-east-1")).await;
}

async fn key_create(db: &str) {
    let db = db.to_owned();
    let out = greenlight(&db, &["tenant", "create", "--name", "Acme", "--id", "acme"]);
    assert!(out.status.success(), "{out:?}");
    let refused = greenlight(
        &db,
        &["key", "create", "--tenant", "acme", "--role", "approver"],
    );
    assert!(
        !refused.status.success(),
        "an approver key names its approver"
    );
    let refused = greenlight(
        &db,
        &["key", "create", "--tenant", "acme", "--role", "owner"],
    );
    assert!(!refused.status.success(), "no such role");

    let mut made = Vec::new();
    for (role, approver) in [
        ("agent", None),
        ("approver", Some(" Ann@Example.com")),
        ("admin", None),
    ] {
        let mut args = vec!["key", "create", "--tenant", "acme", "--role", role];
        if let Some(a) = approver {
            args.extend(["--approver", a]);
        }
        let out = greenlight(&db, &args);
        assert!(out.status.success(), "{out:?}");
        made.push((last_line(&out), role, approver));
    }

    let stores = open_stores(&db).await;
    for (secret, role, approver) in made {
        assert!(secret.starts_with("gl_"), "{secret}");
        let key = stores
            .tenants
            .find_api_key(&hash_api_key(&secret))
            .await
            .unwrap()
            .expect("the printed secret is the key's");
        assert_eq!(
            (key.tenant_id.as_str(), key.role),
            ("acme", KeyRole::parse(role).unwrap())
        );
        assert_eq!(
            key.approver.as_deref(),
            approver.map(|_| "ann@example.com"),
            "kept normalised"
        );
    }
}

/// The first key and admin of a deployment: the admin commands work on the store the
/// URL names, and make nothing on this machine (no audit key file: a deployment's keys
/// are in Secrets Manager).
#[tokio::test]
async fn admin_commands_work_on_either_store_and_leave_no_local_keys() {
    use greenlight_tests::{Backend, fresh_database};
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let db = fresh_database(backend).await;
        let cwd = std::env::temp_dir().join(format!(
            "greenlight-cli-admin-{}-{backend:?}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&cwd);
        std::fs::create_dir_all(&cwd).unwrap();
        let run = |args: &[&str]| {
            let out = Command::new(env!("CARGO_BIN_EXE_greenlight"))
                .args(args)
                .current_dir(&cwd)
                .env("GREENLIGHT_DATABASE_URL", &db)
                .env_remove("GREENLIGHT_AUDIT_KEY")
                .output()
                .expect("the binary runs");
            assert!(out.status.success(), "{args:?}: {out:?}");
            last_line(&out)
        };
        assert_eq!(
            run(&["tenant", "create", "--name", "Acme", "--id", "acme"]),
            "acme"
        );
        let key = run(&["key", "create", "--tenant", "acme", "--role", "admin"]);
        let link = run(&[
            "user",
            "invite",
            "--tenant",
            "acme",
            "--email",
            "you@example.com",
            "--role",
            "admin",
            "--base-url",
            "https://abc123.execute-api.us-east-1.amazonaws.com/",
        ]);
        assert!(
            link.starts_with(
                "https://abc123.execute-api.us-east-1.amazonaws.com/dashboard/invite/"
            ),
            "{link}"
        );
        let stores = open_stores(&db).await;
        let made = stores
            .tenants
            .find_api_key(&hash_api_key(&key))
            .await
            .unwrap()
            .expect("the printed key is the tenant's");
        assert_eq!(
            (made.tenant_id.as_str(), made.role),
            ("acme", KeyRole::Admin)
        );
        assert!(
            !cwd.join(".greenlight").exists(),
            "{backend:?}: no local key was made"
        );
    }
}
