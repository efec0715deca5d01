use serde::Serialize;
use utoipa::ToSchema;

use super::{Status, Transition};

/// One problem with one input field, named by a JSON Pointer into the request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// JSON Pointer (RFC 6901) to the field at fault, e.g. `/approvers/0/channel`.
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DomainError {
    #[error("cannot {transition} a request that is {from}")]
    IllegalTransition {
        from: Status,
        transition: Transition,
    },
    #[error("the request expired at {expires_at}; it can no longer be decided")]
    Expired {
        expires_at: chrono::DateTime<chrono::Utc>,
    },
    #[error("not due before {due_at}")]
    NotDue {
        due_at: chrono::DateTime<chrono::Utc>,
    },
    #[error("{0}")]
    Forbidden(String),
    #[error("{voter} has already voted on this request")]
    AlreadyVoted { voter: String },
    #[error("the timer was set for level {set_for}; the request is at level {level}")]
    StaleTimer { set_for: u32, level: u32 },
    #[error("reminder {index} of level {level} was already sent")]
    AlreadyReminded { level: u32, index: u32 },
    #[error("a request is created once, by its first event")]
    AlreadyCreated,
    #[error("invalid input: {}", .0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldError>),
}

impl DomainError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        DomainError::Invalid(vec![FieldError::new(field, message)])
    }
}
