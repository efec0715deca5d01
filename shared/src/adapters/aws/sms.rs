//! SMS through Amazon SNS: a direct publish to the phone number, transactional (the
//! higher-reliability route, as an approval is time-critical).

use async_trait::async_trait;
use aws_sdk_sns::types::MessageAttributeValue;

use super::channel_error;
use crate::ports::{Accepted, ChannelError, Sms, SmsSender};

pub struct SnsSms {
    client: aws_sdk_sns::Client,
}

impl SnsSms {
    pub fn new(sdk: &aws_config::SdkConfig) -> Self {
        Self {
            client: aws_sdk_sns::Client::new(sdk),
        }
    }
}

#[async_trait]
impl SmsSender for SnsSms {
    async fn send_sms(&self, sms: &Sms) -> Result<Accepted, ChannelError> {
        let transactional = MessageAttributeValue::builder()
            .data_type("String")
            .string_value("Transactional")
            .build()
            .map_err(|e| ChannelError::Refused(e.to_string()))?;
        let sent = self
            .client
            .publish()
            .phone_number(&sms.to)
            .message(&sms.text)
            .message_attributes("AWS.SNS.SMS.SMSType", transactional)
            .send()
            .await
            .map_err(channel_error)?;
        Ok(Accepted {
            message_id: sent.message_id.unwrap_or_default(),
        })
    }
}
