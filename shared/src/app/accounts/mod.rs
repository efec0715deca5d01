//! Who may call: tenants and their API keys, and the dashboard's people, sessions and
//! invitations.

mod limits;
mod tenants;
mod users;

pub use tenants::{Caller, DEFAULT_TENANT, NewKey, hash_api_key};
pub use users::{Account, FirstAdmin, SESSION_HOURS, SignedIn};

crate::app::feature_view!(
    /// Tenants, keys, people and sessions: `app.accounts()`.
    Accounts
);
