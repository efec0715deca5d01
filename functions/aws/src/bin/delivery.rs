//! The delivery function: the delivery queue's consumer (messages to approvers planned,
//! sent, and updated once answered) and SES's bounce, complaint and delivery reports
//! from EventBridge.

use greenlight::app::outbox::Tasks;
use greenlight::run::handlers::delivery;
use greenlight::run::lambda::{self, Calls};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda::serve_relaying(
        Calls::NONE.runs(Tasks::MESSAGES).email_and_sms(),
        async |l, event| {
            delivery::handle(&l.relay, &l.runner, event, l.dead_letters.as_deref()).await
        },
    )
    .await
}
