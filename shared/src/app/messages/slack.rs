//! Slack interactivity: button clicks on a request's message, and the "Approve with
//! changes" modal. Only the approvers of the request's current level may answer; the
//! Slack user is matched by id, or by the email Slack has for them.

use serde_json::{Value, json};

use super::render::{self, APPROVE, ButtonValue, MODIFY, MODIFY_VIEW, REJECT};
use super::{FormAnswer, Messages};
use crate::app::AppError;
use crate::domain::protocol::slack::{Action, Interaction, View};
use crate::domain::{Actor, Approval, Channel, FieldError, Source, form};

/// What to answer Slack with (always 200): nothing, or a JSON body (modal errors).
#[derive(Debug, Clone, PartialEq)]
pub enum SlackReply {
    Empty,
    Json(Value),
}

fn button_value(raw: Option<&str>, field: &str) -> Result<ButtonValue, AppError> {
    raw.and_then(|r| serde_json::from_str(r).ok())
        .ok_or_else(|| AppError::invalid(field, "does not name a Greenlight request"))
}

impl Messages<'_> {
    /// Handles one interaction whose signature was already verified.
    pub async fn slack_interaction(
        &self,
        interaction: &Interaction,
    ) -> Result<SlackReply, AppError> {
        match interaction {
            Interaction::BlockActions {
                user,
                actions,
                trigger_id,
                channel,
                container,
            } => {
                let channel = channel
                    .as_ref()
                    .map(|c| c.id.as_str())
                    .or(container.as_ref().and_then(|c| c.channel_id.as_deref()));
                let action = actions
                    .first()
                    .ok_or_else(|| AppError::invalid("/actions", "has no action"))?;
                self.slack_action(action, &user.id, channel, trigger_id.as_deref())
                    .await
            }
            Interaction::ViewSubmission { user, view } if view.callback_id == MODIFY_VIEW => {
                self.slack_modal_submitted(view, &user.id).await
            }
            Interaction::ViewSubmission { .. } => Err(AppError::invalid(
                "/view/callback_id",
                "is not a Greenlight view",
            )),
            // Closing a modal and the like need no answer.
            Interaction::Other => Ok(SlackReply::Empty),
        }
    }

    /// The identity of the current level's approver that `user` is, if any.
    async fn slack_approver(&self, a: &Approval, user: &str) -> Result<Option<String>, AppError> {
        let approvers = a.current_approvers();
        if let Some(by_id) = approvers.iter().find(|ap| {
            ap.channel == Channel::Slack && (ap.recipient == user || ap.id.as_deref() == Some(user))
        }) {
            return Ok(Some(crate::domain::policy::identity(by_id).to_owned()));
        }
        let slack = self.slack()?;
        let email = match slack.user_email(user).await {
            Ok(Some(e)) => e,
            Ok(None) => return Ok(None),
            Err(e) => {
                tracing::warn!(error = %e, "could not read the Slack user's email");
                return Ok(None);
            }
        };
        Ok(approvers
            .iter()
            .find(|ap| {
                ap.recipient.eq_ignore_ascii_case(&email)
                    || ap
                        .id
                        .as_deref()
                        .is_some_and(|id| id.eq_ignore_ascii_case(&email))
            })
            .map(|ap| crate::domain::policy::identity(ap).to_owned()))
    }

    fn slack(&self) -> Result<&std::sync::Arc<dyn crate::ports::SlackApi>, AppError> {
        self.channels
            .slack
            .as_ref()
            .ok_or(AppError::NotFound("Slack integration"))
    }

    /// Says something only `user` sees; a failure is logged, not returned.
    async fn tell(&self, channel: Option<&str>, user: &str, text: &str) {
        let (Some(channel), Ok(slack)) = (channel, self.slack()) else {
            return;
        };
        if let Err(e) = slack.post_ephemeral(channel, user, text).await {
            tracing::warn!(error = %e, "could not answer a Slack user");
        }
    }

    async fn slack_action(
        &self,
        action: &Action,
        user: &str,
        channel: Option<&str>,
        trigger: Option<&str>,
    ) -> Result<SlackReply, AppError> {
        let action_id = action.action_id.as_str();
        if ![APPROVE, REJECT, MODIFY].contains(&action_id) {
            return Err(AppError::invalid(
                "/actions/0/action_id",
                format!("{action_id:?} is not a Greenlight action"),
            ));
        }
        let value = button_value(action.value.as_deref(), "/actions/0/value")?;
        let a = self
            .approvals()
            .get(&value.tenant_id, &value.approval_id)
            .await?;
        let Some(who) = self.slack_approver(&a, user).await? else {
            self.tell(
                channel,
                user,
                "Only the approvers of this request can answer it.",
            )
            .await;
            return Ok(SlackReply::Empty);
        };
        if let Some(outcome) = render::outcome(&a) {
            self.tell(
                channel,
                user,
                &format!("This request was already answered. {outcome}."),
            )
            .await;
            return Ok(SlackReply::Empty);
        }
        if action_id == MODIFY {
            let Some(schema) = &a.spec.ui_schema else {
                return Err(AppError::invalid(
                    "/actions/0/action_id",
                    "this request has nothing to change",
                ));
            };
            let trigger = trigger.ok_or_else(|| AppError::invalid("/trigger_id", "is missing"))?;
            let fields = form::fields(schema, &a.spec.action_data);
            let view = render::slack_modal(&a, &fields, &value);
            if let Err(e) = self.slack()?.open_view(trigger, &view).await {
                tracing::warn!(error = %e, "could not open the Slack modal");
                self.tell(
                    channel,
                    user,
                    "The form could not be opened; please try again.",
                )
                .await;
            }
            return Ok(SlackReply::Empty);
        }
        let answer = FormAnswer {
            decision: if action_id == APPROVE {
                "approved"
            } else {
                "rejected"
            }
            .into(),
            ..FormAnswer::default()
        };
        match self
            .decide_from_slack(&a, &value.tenant_id, user, &who, &answer)
            .await
        {
            Ok(_) => {}
            Err(AppError::Conflict { current, .. }) => {
                let now =
                    render::outcome(&current).unwrap_or_else(|| "You already answered".into());
                self.tell(channel, user, &format!("Nothing changed: {now}."))
                    .await;
            }
            Err(AppError::Forbidden(why)) => {
                self.tell(channel, user, &format!("Nothing changed: {why}."))
                    .await;
            }
            Err(e) => return Err(e),
        }
        Ok(SlackReply::Empty)
    }

    async fn decide_from_slack(
        &self,
        a: &Approval,
        tenant_id: &str,
        user: &str,
        who: &str,
        answer: &FormAnswer,
    ) -> Result<Approval, AppError> {
        let actor = Actor {
            id: format!("slack:{user}"),
            source: Source::Slack,
        };
        self.answer(a, tenant_id, who, &actor, answer).await
    }

    async fn slack_modal_submitted(&self, view: &View, user: &str) -> Result<SlackReply, AppError> {
        let value = button_value(Some(&view.private_metadata), "/view/private_metadata")?;
        let a = self
            .approvals()
            .get(&value.tenant_id, &value.approval_id)
            .await?;
        let schema = a.spec.ui_schema.clone().unwrap_or(json!({}));
        let fields = form::fields(&schema, &a.spec.action_data);
        let first_block = fields
            .first()
            .map_or("feedback".to_owned(), |f| f.name.clone());
        let refuse = |message: String| {
            SlackReply::Json(json!({
                "response_action": "errors",
                "errors": {first_block.clone(): message},
            }))
        };
        let Some(who) = self.slack_approver(&a, user).await? else {
            return Ok(refuse(
                "Only the approvers of this request can answer it.".into(),
            ));
        };
        let input =
            |name: &str| -> Option<String> { view.state.values.get(name)?.get("value")?.text() };
        let errors_reply = |errors: Vec<FieldError>| {
            let mut by_block = serde_json::Map::new();
            for e in errors {
                let block = e
                    .field
                    .strip_prefix("/responseData/")
                    .and_then(|f| f.split('/').next())
                    .filter(|f| fields.iter().any(|x| x.name == *f))
                    .map_or(first_block.clone(), str::to_owned);
                by_block.entry(block).or_insert(Value::String(e.message));
            }
            SlackReply::Json(json!({"response_action": "errors", "errors": by_block}))
        };
        let answer = FormAnswer {
            decision: "modified".into(),
            feedback: input("feedback"),
            fields: fields
                .iter()
                .filter_map(|f| Some((f.name.clone(), input(&f.name)?)))
                .collect(),
        };
        match self
            .decide_from_slack(&a, &value.tenant_id, user, &who, &answer)
            .await
        {
            Ok(_) => Ok(SlackReply::Json(json!({"response_action": "clear"}))),
            Err(AppError::Invalid(errors)) => Ok(errors_reply(errors)),
            Err(AppError::Conflict { current, .. }) => Ok(refuse(format!(
                "Nothing changed: {}.",
                render::outcome(&current).unwrap_or_else(|| "you already answered".into())
            ))),
            Err(AppError::Forbidden(why)) => Ok(refuse(format!("Nothing changed: {why}."))),
            Err(e) => Err(e),
        }
    }
}
