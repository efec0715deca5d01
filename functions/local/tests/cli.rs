//! `greenlight key create`: a key of the role asked for, its secret as the last line.

use std::process::{Command, Output};

use greenlight::adapters::sql;
use greenlight::app::accounts::hash_api_key;
use greenlight::domain::KeyRole;

fn greenlight(db: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_greenlight"))
        .args(args)
        .env("GREENLIGHT_DATABASE_URL", db)
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
    let db = format!("sqlite://{}", file.display());

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

    let stores = sql::connect(&db, 2).await.unwrap();
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
