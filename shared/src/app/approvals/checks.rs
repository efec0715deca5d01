//! What a new request needs of this Greenlight: its receivers callable, its channels
//! configured.

use super::Approvals;
use crate::app::{AppError, check_receiver};
use crate::domain::{Approval, Channel};

impl Approvals<'_> {
    /// Refuses a request whose callbackUrl or executor is not a receiver we may call.
    pub(super) async fn check_request_receivers(&self, a: &Approval) -> Result<(), AppError> {
        if let Some(u) = &a.spec.callback_url {
            check_receiver(self.sender.as_ref(), u, "/callbackUrl").await?;
        }
        if let Some(u) = &a.spec.executor {
            check_receiver(self.sender.as_ref(), u, "/executor").await?;
        }
        Ok(())
    }

    /// Which channels a request's approvers (on every level) need: those not configured
    /// are named.
    pub(super) fn check_channels(&self, a: &Approval) -> Result<(), AppError> {
        let lists = std::iter::once(("/approvers".to_owned(), &a.spec.approvers)).chain(
            a.spec
                .escalation
                .iter()
                .enumerate()
                .map(|(i, l)| (format!("/escalation/{i}/approvers"), &l.approvers)),
        );
        let mut errors = Vec::new();
        for (at, list) in lists {
            for (i, approver) in list.iter().enumerate() {
                let configured = match approver.channel {
                    Channel::Slack => self.channels.slack.is_some(),
                    Channel::Email => self.channels.email_offered,
                    Channel::Sms => self.channels.sms_offered,
                    Channel::Web => true,
                };
                if !configured {
                    errors.push(crate::domain::FieldError::new(
                        format!("{at}/{i}/channel"),
                        format!(
                            "the {} channel is not configured on this Greenlight",
                            approver.channel.as_str()
                        ),
                    ));
                }
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(AppError::Invalid(errors))
        }
    }
}
