//! The migrate function: the CloudFormation custom resource that migrates the database
//! once per deploy.

use greenlight::run::handlers::migrate;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    migrate::serve().await
}
