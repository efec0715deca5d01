//! The callback function, behind its Lambda function URL: what people open - the
//! dashboard, Slack's interactivity calls (buttons, the modal) and the approval-link
//! pages of emails and text messages.

use greenlight::run::handlers::api;
use greenlight::run::lambda::{self, Calls};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda::serve_http(Calls::NONE, |l| {
        api::callback_router(l.app, l.relay, l.stream_url)
    })
    .await
}
