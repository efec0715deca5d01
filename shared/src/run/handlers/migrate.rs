//! The migrate function: a CloudFormation custom resource that brings the PostgreSQL
//! schema up to date once per deploy, before the other functions are updated (they
//! never migrate, so a cold start does not wait on it, and a burst of cold starts does
//! not queue on its lock). On a rollback CloudFormation runs the older build, which
//! keeps the newer migrations it does not know (see `sql::migrate_postgres`); deleting
//! the stack leaves the database alone.
//!
//! CloudFormation waits for the answer PUT to the request's `ResponseURL`, an hour if
//! none comes: every path, a failed migration included, answers there.

use lambda_runtime::{LambdaEvent, service_fn};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::adapters::sql;
use crate::run::config::LambdaConfig;

/// The id CloudFormation knows the schema by; one per stack, never replaced.
const PHYSICAL_ID: &str = "greenlight-schema";

/// What CloudFormation sends a custom resource (the fields used here).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CustomResourceRequest {
    pub request_type: RequestType,
    pub request_id: String,
    #[serde(rename = "ResponseURL")]
    pub response_url: String,
    pub stack_id: String,
    pub logical_resource_id: String,
    /// Absent on Create.
    pub physical_resource_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum RequestType {
    Create,
    Update,
    Delete,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Success,
    Failed,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct CustomResourceResponse {
    status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    physical_resource_id: String,
    stack_id: String,
    request_id: String,
    logical_resource_id: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("cannot answer CloudFormation at the ResponseURL")]
    Answer(#[from] reqwest::Error),
    #[error("CloudFormation refused the answer with {0}")]
    Refused(reqwest::StatusCode),
}

/// The function's life. Where the database is, is read for each request rather than
/// at the cold start: a setting that fails then still gets its answer to
/// CloudFormation, which would otherwise wait an hour for it.
pub async fn serve() -> Result<(), lambda_runtime::Error> {
    crate::telemetry::init(|k| std::env::var(k).ok());
    let sdk = crate::adapters::sdk::lambda_config(|k| std::env::var(k).ok());
    let http = reqwest::Client::new();
    let (sdk, http) = (&sdk, &http);
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<CustomResourceRequest>| async move {
            let database = database(sdk).await;
            handle(database.as_ref().map(Option::as_ref), http, event.payload)
                .await
                .map_err(lambda_runtime::Error::from)
        },
    ))
    .await
}

/// The database to migrate, if the store has migrations: a DynamoDB table is the
/// template's own.
async fn database(sdk: &aws_config::SdkConfig) -> Result<Option<SecretString>, String> {
    let config = LambdaConfig::from_env().map_err(|e| e.to_string())?;
    let url = crate::run::lambda::database_url(&config.database, sdk)
        .await
        .map_err(|e| crate::telemetry::error_chain(&e))?;
    Ok((!url.expose_secret().starts_with("dynamodb:")).then_some(url))
}

/// Migrates the database on Create and Update, and answers CloudFormation either way.
/// `Ok(None)` is a store whose schema the template itself makes (a DynamoDB table):
/// there is nothing to migrate, but the resource still orders the functions after it.
/// `Err` says why the database cannot be found: Create and Update fail with it, Delete
/// succeeds (a stack is never kept from going by its database).
pub async fn handle(
    database: Result<Option<&SecretString>, &String>,
    http: &reqwest::Client,
    request: CustomResourceRequest,
) -> Result<Status, MigrateError> {
    let outcome = match (request.request_type, database) {
        (RequestType::Delete, _) | (_, Ok(None)) => Ok(()),
        (_, Err(why)) => Err(why.clone()),
        (_, Ok(Some(url))) => sql::migrate_postgres(url.expose_secret())
            .await
            .map_err(|e| crate::telemetry::error_chain(&e)),
    };
    let (status, reason) = match outcome {
        Ok(()) => {
            tracing::info!(request = ?request.request_type, "the custom resource succeeded");
            (Status::Success, None)
        }
        Err(why) => {
            tracing::error!(error = %why, "migrating failed");
            (
                Status::Failed,
                Some(format!("migrating the database failed: {why}")),
            )
        }
    };
    let answer = CustomResourceResponse {
        status,
        reason,
        physical_resource_id: request
            .physical_resource_id
            .unwrap_or_else(|| PHYSICAL_ID.to_owned()),
        stack_id: request.stack_id,
        request_id: request.request_id,
        logical_resource_id: request.logical_resource_id,
    };
    // The URL is presigned for a PUT without a content type: sending one breaks it.
    let body = serde_json::to_vec(&answer).expect("responses serialize");
    let sent = http.put(&request.response_url).body(body).send().await?;
    if !sent.status().is_success() {
        return Err(MigrateError::Refused(sent.status()));
    }
    Ok(status)
}
