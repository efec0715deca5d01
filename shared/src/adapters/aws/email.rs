//! Email through Amazon SES v2: one message with both bodies, from a verified sender,
//! tagged with the configuration set whose event destination reports bounces and
//! complaints.

use async_trait::async_trait;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};

use super::channel_error;
use crate::ports::{Accepted, ChannelError, Email, EmailSender};

pub struct SesEmail {
    client: aws_sdk_sesv2::Client,
    from: String,
    configuration_set: Option<String>,
}

impl SesEmail {
    pub fn new(sdk: &aws_config::SdkConfig, from: &str, configuration_set: Option<String>) -> Self {
        Self {
            client: aws_sdk_sesv2::Client::new(sdk),
            from: from.to_owned(),
            configuration_set,
        }
    }
}

fn content(text: &str) -> Result<Content, ChannelError> {
    Content::builder()
        .data(text)
        .charset("UTF-8")
        .build()
        .map_err(|e| ChannelError::Refused(e.to_string()))
}

#[async_trait]
impl EmailSender for SesEmail {
    async fn send_email(&self, email: &Email) -> Result<Accepted, ChannelError> {
        let message = Message::builder()
            .subject(content(&email.subject)?)
            .body(
                Body::builder()
                    .html(content(&email.html)?)
                    .text(content(&email.text)?)
                    .build(),
            )
            .build();
        let sent = self
            .client
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(&email.to).build())
            .content(EmailContent::builder().simple(message).build())
            .set_configuration_set_name(self.configuration_set.clone())
            .send()
            .await
            .map_err(channel_error)?;
        Ok(Accepted {
            message_id: sent.message_id.unwrap_or_default(),
        })
    }
}
