//! Who uses Greenlight: tenants, their API keys, and the dashboard's people, sessions and
//! invitations. Secrets are kept only as hashes.

use chrono::{DateTime, Utc};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub id: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// An API key as stored: only the SHA-256 of the secret, and its first characters so
/// that people can tell keys apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub prefix: String,
    pub key_hash: String,
    pub role: KeyRole,
    /// The approver identity an `approver` key acts as (normalised); none for others.
    pub approver: Option<String>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// What an API key may do. Agents ask; approvers answer, as one identity; admins do
/// everything, and decide only in a named approver's name.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum KeyRole {
    /// Creates, reads and cancels requests, reports execution, manages its webhooks and
    /// stream; never decides.
    Agent,
    /// Reads the requests that name its identity and decides them, as that identity.
    Approver,
    /// Everything, keys included.
    Admin,
}

text_enum!(KeyRole {
    Agent = "agent",
    Approver = "approver",
    Admin = "admin",
});

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Sees the tenant's requests and answers those that name them.
    Approver,
    /// Also answers any request, and manages webhooks, API keys and people.
    Admin,
}

text_enum!(Role {
    Approver = "approver",
    Admin = "admin",
});

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
