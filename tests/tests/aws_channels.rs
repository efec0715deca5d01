//! The email and SMS channels against the local AWS emulator: SES v2 sends from a
//! verified sender and refuses an unverified one; SNS publishes a transactional SMS and
//! refuses a text longer than SMS allows. What was sent is read back from the emulator.

use greenlight::adapters::aws::email::SesEmail;
use greenlight::adapters::aws::sms::SnsSms;
use greenlight::ports::{ChannelError, Email, EmailSender, Sms, SmsSender};
use greenlight_tests::{aws, greenlight};
use serde_json::Value;

fn email(to: &str, subject: &str) -> Email {
    Email {
        to: to.into(),
        subject: subject.into(),
        html: "<p>Refund order 1234: <a href=\"https://greenlight.example/a/t\">review</a></p>"
            .into(),
        text: "Refund order 1234: review at https://greenlight.example/a/t".into(),
    }
}

#[tokio::test]
async fn ses_sends_from_a_verified_sender_only() {
    let sdk = aws::sdk_config().await;
    let sender = format!("{}@greenlight.example", aws::unique("approvals"));
    let unverified = SesEmail::new(&sdk, &sender, None);
    let refused = unverified
        .send_email(&email("ann@example.com", "Not yet"))
        .await
        .unwrap_err();
    assert!(matches!(refused, ChannelError::Refused(_)), "{refused:?}");

    aws_sdk_sesv2::Client::new(&sdk)
        .create_email_identity()
        .email_identity(&sender)
        .send()
        .await
        .unwrap();
    let subject = format!("Approval needed: {}", aws::unique("refund"));
    let accepted = SesEmail::new(&sdk, &sender, None)
        .send_email(&email("ann@example.com", &subject))
        .await
        .expect("sent");
    assert!(!accepted.message_id.is_empty());

    let state = aws::emulator_state().await;
    let sent: Vec<&Value> = state["ses"]["Message"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["subject"] == subject.as_str())
        .collect();
    assert_eq!(sent.len(), 1, "{}", state["ses"]);
    assert_eq!(sent[0]["source"], sender.as_str());
    assert_eq!(sent[0]["destinations"]["ToAddresses"][0], "ann@example.com");
}

#[tokio::test]
async fn sns_sends_an_sms_and_refuses_one_too_long() {
    let sdk = aws::sdk_config().await;
    let sms = SnsSms::new(&sdk);
    let text = format!(
        "Greenlight: refund 1234 needs you {}",
        aws::unique("https://gl.example/a")
    );
    let accepted = sms
        .send_sms(&Sms {
            to: "+15550100".into(),
            text: text.clone(),
        })
        .await
        .expect("sent");
    let state = aws::emulator_state().await;
    let sent: Vec<&Value> = state["sns"]["SMS"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["message_id"] == accepted.message_id.as_str())
        .collect();
    assert_eq!(sent.len(), 1, "{}", state["sns"]);
    assert_eq!(
        (
            sent[0]["phone_number"].as_str(),
            sent[0]["message"].as_str()
        ),
        (Some("+15550100"), Some(text.as_str()))
    );
    let too_long = sms
        .send_sms(&Sms {
            to: "+15550100".into(),
            text: "x".repeat(2000),
        })
        .await
        .unwrap_err();
    assert!(matches!(too_long, ChannelError::Refused(_)), "{too_long:?}");
}
