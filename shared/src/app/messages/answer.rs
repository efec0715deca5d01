//! The one path from an approver's form to a decision, shared by the link page, the
//! dashboard and the Slack modal: the decision read, the `uiSchema`'s fields parsed from
//! the inputs, and the decision committed in the approver's name.

use std::collections::HashMap;

use super::Messages;
use crate::app::{Account, AppError};
use crate::domain::{Actor, Approval, Command, DecisionKind, Source, form};

/// What an approver submitted on a form.
#[derive(Debug, Clone, Default)]
pub struct FormAnswer {
    /// `approved`, `rejected` or `modified`, as the forms' buttons name them.
    pub decision: String,
    pub feedback: Option<String>,
    /// The form's inputs, by field name (read only for `modified`).
    pub fields: HashMap<String, String>,
}

impl Messages<'_> {
    /// Commits `answer` to `a` as `approver`, by `actor`. Field errors come back as
    /// `AppError::Invalid`, named `decision` or `/responseData/<field>`.
    pub(crate) async fn answer(
        &self,
        a: &Approval,
        tenant_id: &str,
        approver: &str,
        actor: &Actor,
        answer: &FormAnswer,
    ) -> Result<Approval, AppError> {
        let command = command(a, approver, answer)?;
        self.approvals()
            .run_command(tenant_id, &a.id, command, actor)
            .await
    }

    /// Refuses, with its field errors, an answer whose inputs do not parse or do not
    /// satisfy the request's `uiSchema`, without deciding anything: what a form shows
    /// by its fields before the decision is left to a job.
    pub(crate) async fn check_answer(
        &self,
        a: &Approval,
        tenant_id: &str,
        answer: &FormAnswer,
    ) -> Result<(), AppError> {
        let command = command(a, "", answer)?;
        let checked = self
            .approvals()
            .check_response(tenant_id, &a.id, &command)
            .await?;
        if let (
            Some(checked),
            Some(schema),
            Command::Decide {
                response_data: Some(data),
                ..
            },
        ) = (checked, &a.spec.ui_schema, &command)
            && let Some(Err(errors)) = checked.outcome_for(schema, data)
        {
            return Err(AppError::Invalid(errors));
        }
        Ok(())
    }

    /// Whether this person may answer the request: only when the request names them
    /// at its current level. An admin sees every request but decides none in their own
    /// name that does not name them: only a named approver decides.
    pub fn may_decide(&self, account: &Account, a: &Approval) -> bool {
        a.current_identity_of(&account.user.email).is_some()
    }

    /// A decision from the dashboard, as the signed-in person.
    pub async fn decide_as(
        &self,
        account: &Account,
        id: &str,
        answer: &FormAnswer,
    ) -> Result<Approval, AppError> {
        let tenant = &account.user.tenant_id;
        let a = self.approvals().get(tenant, id).await?;
        if !self.may_decide(account, &a) {
            return Err(AppError::Forbidden(
                "this request does not name you as an approver".into(),
            ));
        }
        let actor = Actor {
            id: format!("web:{}", account.user.email),
            source: Source::Web,
        };
        let approver = a
            .identity_of(&account.user.email)
            .unwrap_or_else(|| account.user.email.clone());
        self.answer(&a, tenant, &approver, &actor, answer).await
    }
}

/// The decision a form's answer makes, in `approver`'s name.
fn command(a: &Approval, approver: &str, answer: &FormAnswer) -> Result<Command, AppError> {
    let decision = match answer.decision.as_str() {
        "approved" => DecisionKind::Approved,
        "rejected" => DecisionKind::Rejected,
        "modified" => DecisionKind::Modified,
        _ => {
            return Err(AppError::invalid(
                "decision",
                "choose approve, reject or approve with changes",
            ));
        }
    };
    let response_data = match (&a.spec.ui_schema, decision) {
        (Some(schema), DecisionKind::Modified) => Some(
            form::parse_inputs(
                &form::fields(schema, &a.spec.action_data),
                |n| answer.fields.get(n).cloned(),
                "/responseData",
            )
            .map_err(AppError::Invalid)?,
        ),
        _ => None,
    };
    Ok(Command::Decide {
        decision,
        response_data,
        feedback: answer.feedback.clone().filter(|f| !f.trim().is_empty()),
        responded_by: Some(approver.to_owned()),
    })
}
