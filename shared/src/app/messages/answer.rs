//! Answers from people signed in to the dashboard; the link page's form (`links`) and
//! the Slack modal (`slack`) reach the same commit with the approver their grant names.

use super::Messages;
use crate::app::{Account, AppError, DecisionInput};
use crate::domain::{Actor, Approval, Command, Source};

impl Messages<'_> {
    /// Whether this person may answer the request: admins always; others when the
    /// request names them (by email) as an approver.
    pub fn may_decide(&self, account: &Account, a: &Approval) -> bool {
        account.is_admin() || a.identity_of(&account.user.email).is_some()
    }

    /// A decision from the dashboard, as the signed-in person.
    pub async fn decide_as(
        &self,
        account: &Account,
        id: &str,
        input: DecisionInput,
    ) -> Result<Approval, AppError> {
        let tenant = &account.user.tenant_id;
        let a = self.approvals().get(tenant, id).await?;
        if !self.messages().may_decide(account, &a) {
            return Err(AppError::Forbidden(
                "this request does not name you as an approver".into(),
            ));
        }
        let actor = Actor {
            id: format!("web:{}", account.user.email),
            source: Source::Web,
        };
        let responded_by = a
            .identity_of(&account.user.email)
            .unwrap_or_else(|| account.user.email.clone());
        let command = Command::Decide {
            decision: input.decision,
            response_data: input.response_data,
            feedback: input.feedback,
            responded_by: Some(responded_by),
        };
        self.approvals()
            .run_command(tenant, id, command, &actor)
            .await
    }
}
