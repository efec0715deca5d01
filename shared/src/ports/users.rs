use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Sees the tenant's requests and answers those that name them.
    Approver,
    /// Also answers any request, and manages webhooks, API keys and people.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Approver => "approver",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        [Role::Approver, Role::Admin]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

/// A person who signs in to the dashboard.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub tenant_id: String,
    pub id: String,
    pub email: String,
    pub role: Role,
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub token_hash: String,
    pub tenant_id: String,
    pub user_id: String,
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Invite {
    pub token_hash: String,
    pub tenant_id: String,
    /// Who is invited; `None` lets the person give their email (the first admin).
    pub email: Option<String>,
    pub role: Role,
    pub created_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

#[async_trait]
pub trait UserStore: Send + Sync {
    /// `Duplicate` if the email is taken.
    async fn insert_user(&self, user: &User) -> Result<(), StoreError>;
    async fn user_by_email(&self, email: &str) -> Result<Option<User>, StoreError>;
    async fn user(&self, tenant_id: &str, id: &str) -> Result<Option<User>, StoreError>;
    /// A tenant's people, oldest first.
    async fn users(&self, tenant_id: &str) -> Result<Vec<User>, StoreError>;
    async fn count_users(&self) -> Result<i64, StoreError>;

    async fn insert_session(&self, session: &Session) -> Result<(), StoreError>;
    async fn session(&self, token_hash: &str) -> Result<Option<Session>, StoreError>;
    async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError>;
    /// Forgets sessions that expired before `now`; returns how many.
    async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;

    async fn insert_invite(&self, invite: &Invite) -> Result<(), StoreError>;
    async fn invite(&self, token_hash: &str) -> Result<Option<Invite>, StoreError>;
    /// Marks it used at `now` if it is unused and unexpired; `false` otherwise.
    async fn use_invite(&self, token_hash: &str, now: DateTime<Utc>) -> Result<bool, StoreError>;
}
