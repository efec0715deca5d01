use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use crate::domain::{Invite, Session, User};

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
