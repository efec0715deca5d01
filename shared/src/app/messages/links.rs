//! Approval links in emails and text messages. Mail scanners open links, so opening one
//! decides nothing: it shows the request and a form; only the form's POST decides, once.

use std::collections::HashMap;

use super::{FormAnswer, Messages};
use crate::app::AppError;
use crate::domain::Message;
use crate::domain::protocol::link::{self, LinkError, LinkGrant};
use crate::domain::{Actor, Approval, Channel, FieldError, Source, Status};

/// Where a link stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// It may decide.
    Open,
    /// It already decided (or its approver already answered).
    Used,
    /// Its time ran out.
    Expired,
    /// The request went on to the next level of its ladder.
    MovedOn,
    /// The request was answered, elsewhere or by someone else.
    Answered,
}

/// What a link page shows.
#[derive(Debug, Clone)]
pub struct LinkPage {
    pub approval: Approval,
    /// Who the link answers as.
    pub approver: String,
    pub state: LinkState,
    /// Why the last POST decided nothing.
    pub errors: Vec<FieldError>,
    /// What was entered, to show again with the errors.
    pub inputs: HashMap<String, String>,
}

/// A link that is not one of ours.
#[derive(Debug, thiserror::Error)]
pub enum LinkRefused {
    #[error("{0}")]
    Invalid(LinkError),
    #[error(transparent)]
    App(#[from] AppError),
}

impl Messages<'_> {
    /// The signed link of a message, valid until its level's deadline.
    pub(super) fn link_token(&self, d: &Message, a: &Approval) -> String {
        link::issue(
            &self.channels.link_secret,
            &LinkGrant {
                tenant_id: d.tenant_id.clone(),
                approval_id: d.approval_id.clone(),
                approver: d.approver.clone(),
                channel: d.channel,
                level: d.level,
                expires_at: a.due_at,
                nonce: d.id.clone(),
            },
        )
    }

    async fn open_grant(
        &self,
        token: &str,
    ) -> Result<(LinkGrant, LinkState, Message, Approval), LinkRefused> {
        let (grant, expired) = match link::open(&self.channels.link_secret, token, self.clock.now())
        {
            Ok(g) => (g, false),
            Err(LinkError::Expired(g)) => (*g, true),
            Err(e) => return Err(LinkRefused::Invalid(e)),
        };
        let d = self
            .stores
            .messages
            .message(&grant.tenant_id, &grant.nonce)
            .await
            .map_err(AppError::from)?
            .filter(|d| d.approval_id == grant.approval_id)
            .ok_or(LinkRefused::Invalid(LinkError::Forged))?;
        let a = self
            .approvals()
            .get(&grant.tenant_id, &grant.approval_id)
            .await?;
        let voted = a.votes.iter().any(|v| v.voter == grant.approver);
        let state = if d.link_used_at.is_some() || (voted && a.status == Status::Pending) {
            LinkState::Used
        } else if a.status != Status::Pending {
            LinkState::Answered
        } else if a.level != grant.level {
            LinkState::MovedOn
        } else if expired {
            LinkState::Expired
        } else {
            LinkState::Open
        };
        Ok((grant, state, d, a))
    }

    /// What `GET /a/{token}` shows. Never changes anything.
    pub async fn open_link(&self, token: &str) -> Result<LinkPage, LinkRefused> {
        let (grant, state, _, approval) = self.open_grant(token).await?;
        Ok(LinkPage {
            approval,
            approver: grant.approver,
            state,
            errors: Vec::new(),
            inputs: HashMap::new(),
        })
    }

    /// `POST /a/{token}`: decides as the link's approver, if the link is still open.
    pub async fn answer_link(
        &self,
        token: &str,
        answer: FormAnswer,
    ) -> Result<LinkPage, LinkRefused> {
        let (grant, state, d, approval) = self.open_grant(token).await?;
        let mut page = LinkPage {
            approval,
            approver: grant.approver.clone(),
            state,
            errors: Vec::new(),
            inputs: answer.fields.clone(),
        };
        if state != LinkState::Open {
            return Ok(page);
        }
        let actor = Actor {
            id: format!("{}:{}", grant.channel.as_str(), d.recipient),
            source: match grant.channel {
                Channel::Sms => Source::Sms,
                _ => Source::Email,
            },
        };
        let current = page.approval.clone();
        match self
            .answer(&current, &grant.tenant_id, &grant.approver, &actor, &answer)
            .await
        {
            Ok(after) => {
                self.stores
                    .messages
                    .use_link(&d.tenant_id, &d.id, self.clock.now())
                    .await
                    .map_err(AppError::from)?;
                page.approval = after;
                page.state = LinkState::Used;
                page.inputs.clear();
            }
            Err(AppError::Invalid(errors)) => page.errors = errors,
            Err(AppError::Forbidden(why)) => page.errors = vec![FieldError::new("decision", why)],
            Err(AppError::Conflict { current, .. }) => {
                page.state = if current.status == Status::Pending {
                    LinkState::Used
                } else {
                    LinkState::Answered
                };
                page.approval = *current;
            }
            Err(e) => return Err(e.into()),
        }
        Ok(page)
    }

    /// The full link behind an SMS's short one, if the code is known.
    pub async fn expand_short_link(&self, code: &str) -> Result<Option<String>, AppError> {
        let Some(d) = self.stores.messages.message_by_code(code).await? else {
            return Ok(None);
        };
        let a = self.approvals().get(&d.tenant_id, &d.approval_id).await?;
        Ok(Some(self.link_token(&d, &a)))
    }
}
