//! The callback function, behind its Lambda function URL: Slack's interactivity calls
//! (buttons, the modal) and the approval-link pages of emails and text messages.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let l = greenlight::run::lambda::start().await?;
    lambda_http::run(greenlight::run::handlers::api::callback_router(
        l.app, l.relay,
    ))
    .await
}
