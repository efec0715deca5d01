//! The migrate function (a CloudFormation custom resource): it migrates a real
//! PostgreSQL database once, keeps migrations a newer deploy applied (a rollback), and
//! answers CloudFormation at the ResponseURL on every path, a failure included.

use greenlight::run::handlers::migrate::{self, CustomResourceRequest, Status};
use greenlight_tests::aws::cloudformation;
use greenlight_tests::{Backend, fresh_database};
use secrecy::SecretString;
use serde_json::json;
use sqlx::Connection;

fn request(kind: &str, response_url: &str) -> CustomResourceRequest {
    let mut r = json!({
        "RequestType": kind,
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:greenlight-migrate",
        "ResponseURL": response_url,
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/greenlight/1",
        "RequestId": format!("req-{kind}"),
        "ResourceType": "Custom::Migrations",
        "LogicalResourceId": "Migrations",
        "ResourceProperties": {"CodeVersion": "3"}
    });
    if kind != "Create" {
        r["PhysicalResourceId"] = json!("greenlight-schema");
        r["OldResourceProperties"] = json!({"CodeVersion": "2"});
    }
    serde_json::from_value(r).unwrap()
}

async fn applied(db: &str) -> Vec<i64> {
    let mut conn = sqlx::PgConnection::connect(db).await.unwrap();
    sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
        .fetch_all(&mut conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_migrate_function_migrates_once_tolerates_a_newer_schema_and_always_answers() {
    let db = fresh_database(Backend::Postgres).await;
    let url = SecretString::from(db.clone());
    let (answer_url, answers) = cloudformation().await;
    let http = reqwest::Client::new();

    let status = migrate::handle(Ok(Some(&url)), &http, request("Create", &answer_url))
        .await
        .unwrap();
    assert_eq!(status, Status::Success);
    let versions = applied(&db).await;
    assert!(!versions.is_empty(), "the schema was made");
    {
        let got = answers.lock().unwrap();
        let (headers, body) = &got[0];
        assert_eq!(body["Status"], "SUCCESS");
        assert_eq!(body["PhysicalResourceId"], "greenlight-schema");
        assert_eq!(body["RequestId"], "req-Create");
        assert_eq!(body["LogicalResourceId"], "Migrations");
        assert!(
            headers.get("content-type").is_none(),
            "the presigned URL is signed without a content type"
        );
    }

    // A newer deploy applied a migration this build does not know; the rollback runs
    // this build again, and it neither fails nor undoes it.
    let mut conn = sqlx::PgConnection::connect(&db).await.unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (99990101000000, 'from a newer deploy', true, '\\x00', 1)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let status = migrate::handle(Ok(Some(&url)), &http, request("Update", &answer_url))
        .await
        .unwrap();
    assert_eq!(status, Status::Success);
    assert_eq!(applied(&db).await.last(), Some(&99990101000000));

    // Deleting the stack leaves the database alone.
    let status = migrate::handle(Ok(Some(&url)), &http, request("Delete", &answer_url))
        .await
        .unwrap();
    assert_eq!(status, Status::Success);
    assert_eq!(applied(&db).await.len(), versions.len() + 1);

    // A database that cannot be reached fails the deploy, with the reason, rather than
    // leaving CloudFormation waiting.
    let nowhere = SecretString::from("postgres://nobody@127.0.0.1:1/none".to_owned());
    let status = migrate::handle(Ok(Some(&nowhere)), &http, request("Update", &answer_url))
        .await
        .unwrap();
    assert_eq!(status, Status::Failed);
    {
        let got = answers.lock().unwrap();
        let (_, body) = got.last().unwrap();
        assert_eq!(body["Status"], "FAILED");
        assert!(
            body["Reason"]
                .as_str()
                .unwrap()
                .starts_with("migrating the database failed"),
            "{body}"
        );
        assert_eq!(got.len(), 4);
    }

    // Settings that do not name a database fail a Create with the reason, and never
    // keep a stack from being deleted.
    let why = "GREENLIGHT_DATABASE_HOST=\"\" is invalid: must be set".to_owned();
    let status = migrate::handle(Err(&why), &http, request("Create", &answer_url))
        .await
        .unwrap();
    assert_eq!(status, Status::Failed);
    let status = migrate::handle(Err(&why), &http, request("Delete", &answer_url))
        .await
        .unwrap();
    assert_eq!(status, Status::Success);
    let got = answers.lock().unwrap();
    assert_eq!(got[4].1["Status"], "FAILED");
    assert!(
        got[4].1["Reason"]
            .as_str()
            .unwrap()
            .contains("GREENLIGHT_DATABASE_HOST")
    );
    assert_eq!(got[5].1["Status"], "SUCCESS");
}
