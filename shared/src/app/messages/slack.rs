//! Slack interactivity: button clicks on a request's message, and the "Approve with
//! changes" modal. Slack wants its answer within three seconds, so a call from Slack
//! does no Slack call of its own but the one Slack wants then (opening the modal, whose
//! trigger expires in three seconds): it checks what it can from the store, writes the
//! answer as a job (`Task::AnswerSlack`), and acknowledges. The job finds out who the
//! Slack user is (by id, or by the email Slack has for them; only the approvers of the
//! request's current level may answer), decides, and tells them alone what went wrong.

use serde_json::{Value, json};

use super::render::{self, APPROVE, ButtonValue, MODIFY, MODIFY_VIEW, REJECT};
use super::{FormAnswer, Messages};
use crate::app::AppError;
use crate::domain::protocol::slack::{Action, Interaction, View};
use crate::domain::{
    Actor, Approval, Channel, FieldError, Outcome, SlackAnswer, Source, Task, form,
};
use crate::ports::{ChannelError, IdKind, NewJob};

/// What to answer Slack with (always 200): nothing, or a JSON body (modal errors).
#[derive(Debug, Clone, PartialEq)]
pub enum SlackReply {
    Empty,
    Json(Value),
}

/// Attempts at an answer: Slack's API, or the store, may be down for a while.
const ANSWER_ATTEMPTS: i32 = 10;

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

    /// Decides what an approver answered on Slack: the job `slack_interaction` wrote.
    pub async fn answer_slack(&self, s: &SlackAnswer) -> Result<Outcome, AppError> {
        let a = self.approvals().get(&s.tenant_id, &s.approval_id).await?;
        let channel = match &s.channel {
            Some(c) => Some(c.clone()),
            None => self
                .stores
                .messages
                .message(&s.tenant_id, &s.delivery_id)
                .await?
                .and_then(|m| m.slack_channel),
        };
        let channel = channel.as_deref();
        let who = match self.slack_approver(&a, &s.user).await {
            Ok(Some(who)) => who,
            Ok(None) => {
                self.tell(
                    channel,
                    &s.user,
                    "Only the approvers of this request can answer it.",
                )
                .await;
                return Ok(Outcome::Done);
            }
            Err(why) => return Ok(Outcome::Retry(why)),
        };
        if let Some(outcome) = render::outcome(&a) {
            self.tell(
                channel,
                &s.user,
                &format!("This request was already answered. {outcome}."),
            )
            .await;
            return Ok(Outcome::Done);
        }
        let answer = FormAnswer {
            decision: s.decision.clone(),
            feedback: s.feedback.clone(),
            fields: s.fields.clone().into_iter().collect(),
        };
        let actor = Actor {
            id: format!("slack:{}", s.user),
            source: Source::Slack,
        };
        let refused = match self.answer(&a, &s.tenant_id, &who, &actor, &answer).await {
            Ok(_) => return Ok(Outcome::Done),
            Err(AppError::Conflict { current, .. }) => {
                render::outcome(&current).unwrap_or_else(|| "You already answered".into())
            }
            Err(AppError::Forbidden(why)) => why,
            // The form was checked before the job was written; a uiSchema cannot change.
            Err(AppError::Invalid(errors)) => errors
                .iter()
                .map(|e| e.message.as_str())
                .collect::<Vec<_>>()
                .join("; "),
            Err(e) => return Err(e),
        };
        self.tell(channel, &s.user, &format!("Nothing changed: {refused}."))
            .await;
        Ok(Outcome::Done)
    }

    /// The identity of the current level's approver that `user` is, if any; `Err` when
    /// Slack could not say (a later attempt may).
    async fn slack_approver(&self, a: &Approval, user: &str) -> Result<Option<String>, String> {
        let approvers = a.current_approvers();
        if let Some(by_id) = approvers.iter().find(|ap| {
            ap.channel == Channel::Slack && (ap.recipient == user || ap.id.as_deref() == Some(user))
        }) {
            return Ok(Some(crate::domain::policy::identity(by_id).to_owned()));
        }
        let Ok(slack) = self.slack() else {
            return Ok(None);
        };
        let email = match slack.user_email(user).await {
            Ok(Some(e)) => e,
            Ok(None) => return Ok(None),
            // Slack will not say (no such user, a scope the app lacks): not an approver.
            Err(e @ ChannelError::Refused(_)) => {
                tracing::warn!(error = %e, "could not read the Slack user's email");
                return Ok(None);
            }
            Err(e) => return Err(format!("could not read the Slack user's email: {e}")),
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

    /// Writes the job that decides an answer.
    async fn queue_answer(&self, answer: SlackAnswer) -> Result<(), AppError> {
        let job = NewJob {
            id: self.ids.next(IdKind::Job),
            tenant_id: answer.tenant_id.clone(),
            approval_id: Some(answer.approval_id.clone()),
            run_at: self.clock.now(),
            max_attempts: ANSWER_ATTEMPTS,
            task: Task::AnswerSlack(answer),
        };
        // Locally a worker finds it within its idle poll (half a second); on AWS the
        // callback function relays it to the delivery queue before it answers.
        Ok(self.stores.jobs.enqueue(vec![job]).await?)
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
        if action_id == MODIFY {
            let a = self
                .approvals()
                .get(&value.tenant_id, &value.approval_id)
                .await?;
            let Some(schema) = &a.spec.ui_schema else {
                return Err(AppError::invalid(
                    "/actions/0/action_id",
                    "this request has nothing to change",
                ));
            };
            let trigger = trigger.ok_or_else(|| AppError::invalid("/trigger_id", "is missing"))?;
            // Whether the Slack user may answer is the submission's question (the
            // job's): asking Slack here would add a call before the modal opens.
            let view = match render::outcome(&a) {
                Some(outcome) => {
                    render::slack_notice(&format!("This request was already answered. {outcome}."))
                }
                None => render::slack_modal(&a, &form::fields(schema, &a.spec.action_data), &value),
            };
            if let Err(e) = self.slack()?.open_view(trigger, &view).await {
                tracing::warn!(error = %e, "could not open the Slack modal");
            }
            return Ok(SlackReply::Empty);
        }
        self.queue_answer(SlackAnswer {
            tenant_id: value.tenant_id,
            approval_id: value.approval_id,
            delivery_id: value.delivery_id,
            user: user.to_owned(),
            channel: channel.map(str::to_owned),
            decision: if action_id == APPROVE {
                "approved"
            } else {
                "rejected"
            }
            .into(),
            feedback: None,
            fields: Default::default(),
        })
        .await?;
        Ok(SlackReply::Empty)
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
        if let Some(outcome) = render::outcome(&a) {
            return Ok(SlackReply::Json(json!({
                "response_action": "errors",
                "errors": {first_block: format!("Nothing changed: {outcome}.")},
            })));
        }
        let input =
            |name: &str| -> Option<String> { view.state.values.get(name)?.get("value")?.text() };
        let answer = FormAnswer {
            decision: "modified".into(),
            feedback: input("feedback"),
            fields: fields
                .iter()
                .filter_map(|f| Some((f.name.clone(), input(&f.name)?)))
                .collect(),
        };
        // Errors belong by their inputs, in the form still open: the inputs are checked
        // here (the store and the CPU, no outside call).
        match self.check_answer(&a, &value.tenant_id, &answer).await {
            Ok(()) => {}
            Err(AppError::Invalid(errors)) => {
                return Ok(errors_reply(errors, &fields, &first_block));
            }
            Err(e) => return Err(e),
        }
        self.queue_answer(SlackAnswer {
            tenant_id: value.tenant_id,
            approval_id: value.approval_id,
            delivery_id: value.delivery_id,
            user: user.to_owned(),
            channel: None,
            decision: answer.decision,
            feedback: answer.feedback,
            fields: answer.fields.into_iter().collect(),
        })
        .await?;
        Ok(SlackReply::Json(json!({"response_action": "clear"})))
    }
}

/// Field errors as the modal shows them: each by its input's block, the rest by the
/// first.
fn errors_reply(
    errors: Vec<FieldError>,
    fields: &[form::FormField],
    first_block: &str,
) -> SlackReply {
    let mut by_block = serde_json::Map::new();
    for e in errors {
        let block = e
            .field
            .strip_prefix("/responseData/")
            .and_then(|f| f.split('/').next())
            .filter(|f| fields.iter().any(|x| x.name == *f))
            .map_or(first_block.to_owned(), str::to_owned);
        by_block.entry(block).or_insert(Value::String(e.message));
    }
    SlackReply::Json(json!({"response_action": "errors", "errors": by_block}))
}
