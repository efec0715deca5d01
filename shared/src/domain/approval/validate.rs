//! Checks a new request's body, every field at once.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{ApprovalSpec, NewApproval, normalize_time};
use crate::domain::policy::{self};
use crate::domain::{DomainError, FieldError, form, limits};

pub(super) fn check_text(errors: &mut Vec<FieldError>, field: &str, value: &str, max: usize) {
    if value.trim().is_empty() {
        errors.push(FieldError::new(field, "must not be empty"));
    } else if value.chars().count() > max {
        errors.push(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
}

pub(super) fn check_optional_text(
    errors: &mut Vec<FieldError>,
    field: &str,
    value: Option<&str>,
    max: usize,
) {
    if let Some(v) = value
        && v.chars().count() > max
    {
        errors.push(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
}

fn check_object_size(errors: &mut Vec<FieldError>, field: &str, value: &Value, max: usize) {
    if !value.is_object() {
        errors.push(FieldError::new(field, "must be a JSON object"));
    } else if value.to_string().len() > max {
        errors.push(FieldError::new(
            field,
            format!("must be at most {max} bytes as JSON"),
        ));
    }
}

impl NewApproval {
    /// Checks every field at once, so a caller learns all that is wrong in one answer.
    pub fn validate(self, now: DateTime<Utc>) -> Result<ApprovalSpec, DomainError> {
        let mut errors = Vec::new();
        check_text(&mut errors, "/name", &self.name, limits::MAX_SHORT_TEXT);
        check_text(
            &mut errors,
            "/agentId",
            &self.agent_id,
            limits::MAX_SHORT_TEXT,
        );
        check_text(
            &mut errors,
            "/actionType",
            &self.action_type,
            limits::MAX_SHORT_TEXT,
        );
        check_object_size(
            &mut errors,
            "/actionData",
            &self.action_data,
            limits::MAX_ACTION_DATA_BYTES,
        );

        if self.approvers.is_empty() {
            errors.push(FieldError::new(
                "/approvers",
                "must name at least one approver",
            ));
        } else if self.approvers.len() > limits::MAX_APPROVERS {
            errors.push(FieldError::new(
                "/approvers",
                format!("must name at most {} approvers", limits::MAX_APPROVERS),
            ));
        }
        let escalation = self.escalation.unwrap_or_default();
        let mut identities = Vec::new();
        let mut total = 0usize;
        for (at, list) in policy::approver_lists(&self.approvers, &escalation) {
            // The level that goes over the total is the one at fault.
            let before = total;
            total += list.len();
            if before <= limits::MAX_APPROVERS_TOTAL && total > limits::MAX_APPROVERS_TOTAL {
                errors.push(FieldError::new(
                    &at,
                    format!(
                        "at most {} approvers on all levels together",
                        limits::MAX_APPROVERS_TOTAL
                    ),
                ));
            }
            for (i, a) in list.iter().enumerate() {
                check_optional_text(
                    &mut errors,
                    &format!("{at}/{i}/id"),
                    a.id.as_deref(),
                    limits::MAX_SHORT_TEXT,
                );
                check_text(
                    &mut errors,
                    &format!("{at}/{i}/recipient"),
                    &a.recipient,
                    limits::MAX_SHORT_TEXT,
                );
                identities.push(policy::normalize(policy::identity(a)));
            }
        }
        identities.sort_unstable();
        identities.dedup();

        let expires_at = match (self.expires_at, self.timeout_seconds) {
            (Some(_), Some(_)) => {
                errors.push(FieldError::new(
                    "/timeoutSeconds",
                    "give either expiresAt or timeoutSeconds, not both",
                ));
                None
            }
            (Some(at), None) if at <= now => {
                errors.push(FieldError::new("/expiresAt", "must be in the future"));
                None
            }
            (Some(at), None) if at > limits::after(now, limits::MAX_TIMEOUT_SECONDS) => {
                errors.push(FieldError::new(
                    "/expiresAt",
                    "must be at most 30 days in the future",
                ));
                None
            }
            (Some(at), None) => Some(normalize_time(at)),
            (None, Some(s)) if !limits::is_timeout(s) => {
                policy::check_timeout(&mut errors, "/timeoutSeconds", s);
                None
            }
            (None, Some(s)) => Some(limits::after(now, s)),
            (None, None) => Some(now + limits::default_timeout()),
        };

        if let Some(schema) = &self.ui_schema {
            if schema.to_string().len() > limits::MAX_UI_SCHEMA_BYTES {
                errors.push(FieldError::new(
                    "/uiSchema",
                    format!(
                        "must be at most {} bytes as JSON",
                        limits::MAX_UI_SCHEMA_BYTES
                    ),
                ));
            } else if let Err(e) = form::check_schema(schema, "/uiSchema") {
                errors.push(e);
            }
        }

        for (field, url) in [
            ("/callbackUrl", &self.callback_url),
            ("/executor", &self.executor),
        ] {
            if let Some(Err(e)) = url
                .as_deref()
                .map(|u| crate::domain::webhook::check_url(u, field))
            {
                errors.push(e);
            }
        }

        let quorum = self.quorum.unwrap_or(1);
        let reject_quorum = self.reject_quorum.unwrap_or(1);
        let reminders = self.reminders.unwrap_or_default();
        policy::check_policy(
            &mut errors,
            self.timeout_action.unwrap_or_default(),
            &escalation,
            &reminders,
            quorum,
            reject_quorum,
            identities.len(),
        );
        check_optional_text(
            &mut errors,
            "/requestedBy",
            self.requested_by.as_deref(),
            limits::MAX_SHORT_TEXT,
        );

        let metadata = self
            .metadata
            .unwrap_or_else(|| Value::Object(Default::default()));
        check_object_size(
            &mut errors,
            "/metadata",
            &metadata,
            limits::MAX_METADATA_BYTES,
        );

        match expires_at {
            Some(expires_at) if errors.is_empty() => Ok(ApprovalSpec {
                name: self.name,
                agent_id: self.agent_id,
                action_type: self.action_type,
                action_data: self.action_data,
                approvers: self.approvers,
                expires_at,
                timeout_action: self.timeout_action.unwrap_or_default(),
                ui_schema: self.ui_schema,
                callback_url: self.callback_url,
                executor: self.executor,
                metadata,
                requested_by: self.requested_by,
                quorum,
                reject_quorum,
                escalation,
                reminders,
                workflow_run_id: None,
                step_key: None,
            }),
            _ => Err(DomainError::Invalid(errors)),
        }
    }
}
