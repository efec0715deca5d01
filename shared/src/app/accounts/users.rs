//! Dashboard accounts: people who sign in with an email and a password, their sessions
//! (a random token in a cookie, kept hashed, with a CSRF token per session), and the
//! one-time invitations through which people join.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::Duration;
use rand::RngCore;

use super::Accounts;
use super::tenants::hash_api_key as hash_token;
use crate::app::{AppError, DEFAULT_TENANT};
use crate::domain::{Invite, Role, Session, User};
use crate::ports::{IdKind, StoreError};

/// How long a sign-in lasts.
pub const SESSION_HOURS: i64 = 12;
const INVITE_DAYS: i64 = 7;
const MIN_PASSWORD: usize = 12;
const MAX_PASSWORD: usize = 256;

/// A signed-in browser: who, and the session it holds.
#[derive(Debug, Clone)]
pub struct Account {
    pub user: User,
    pub session: Session,
}

impl Account {
    pub fn is_admin(&self) -> bool {
        self.user.role == Role::Admin
    }

    /// The tenant-scoped caller the use-cases shared with the API take, with the
    /// person's role: an approver answers as their own identity, their email, and
    /// like everyone signed in reads the tenant's requests, not its webhooks or keys.
    pub fn caller(&self) -> super::Caller {
        super::Caller::of_person(&self.user)
    }
}

/// A new session: the cookie's token (shown once) and the account it signs in.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub token: String,
    pub account: Account,
}

/// What the first start did about the first admin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FirstAdmin {
    /// Someone can already sign in.
    Exists,
    /// Made from `GREENLIGHT_ADMIN_EMAIL` and `GREENLIGHT_ADMIN_PASSWORD`.
    Created(String),
    /// A one-time link's token: whoever opens it chooses the first admin's email and
    /// password.
    Invite(String),
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn check_password(password: &str) -> Result<(), AppError> {
    let n = password.chars().count();
    if !(MIN_PASSWORD..=MAX_PASSWORD).contains(&n) {
        return Err(AppError::invalid(
            "password",
            format!("must be {MIN_PASSWORD} to {MAX_PASSWORD} characters"),
        ));
    }
    Ok(())
}

fn normalize_email(email: &str) -> Result<String, AppError> {
    let e = email.trim().to_lowercase();
    match e.split_once('@') {
        Some((local, domain)) if !local.is_empty() && domain.contains('.') && e.len() <= 254 => {
            Ok(e)
        }
        _ => Err(AppError::invalid("email", "must be an email address")),
    }
}

/// Argon2id with a fresh salt, off the async threads (it is slow on purpose).
async fn hash_password(password: &str) -> Result<String, AppError> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes(), &SaltString::generate(&mut OsRng))
            .map(|h| h.to_string())
            .map_err(|e| AppError::Store(StoreError::Corrupt(format!("hashing failed: {e}"))))
    })
    .await
    .map_err(|e| AppError::Store(StoreError::Corrupt(format!("hashing panicked: {e}"))))?
}

/// Checks `password` against `hash`, or against a hash of a password nobody knows when
/// there is no account, so both take as long.
async fn password_matches(password: &str, hash: Option<String>) -> bool {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        let hash = hash.unwrap_or_else(|| UNKNOWN_USER_HASH.clone());
        PasswordHash::new(&hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// What an unknown email's password is checked against.
static UNKNOWN_USER_HASH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    Argon2::default()
        .hash_password(random_token().as_bytes(), &SaltString::generate(&mut OsRng))
        .map(|h| h.to_string())
        .unwrap_or_default()
});

/// Compared without an early exit, so a forged CSRF token learns nothing from timing.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

impl Accounts<'_> {
    /// Makes sure someone can sign in: the configured admin, or else a one-time link.
    pub async fn ensure_first_admin(
        &self,
        email: Option<&str>,
        password: Option<&str>,
    ) -> Result<FirstAdmin, AppError> {
        if self.stores.users.count_users().await? > 0 {
            return Ok(FirstAdmin::Exists);
        }
        if let (Some(email), Some(password)) = (email, password) {
            let user = self
                .add_user(DEFAULT_TENANT, email, password, Role::Admin)
                .await?;
            return Ok(FirstAdmin::Created(user.email));
        }
        Ok(FirstAdmin::Invite(
            self.new_invite(DEFAULT_TENANT, None, Role::Admin, None)
                .await?,
        ))
    }

    async fn add_user(
        &self,
        tenant_id: &str,
        email: &str,
        password: &str,
        role: Role,
    ) -> Result<User, AppError> {
        let email = normalize_email(email)?;
        check_password(password)?;
        let user = User {
            tenant_id: tenant_id.to_owned(),
            id: self.ids.next(IdKind::User),
            email,
            role,
            password_hash: hash_password(password).await?,
            created_at: self.clock.now(),
        };
        match self.stores.users.insert_user(&user).await {
            Ok(()) => Ok(user),
            Err(StoreError::Duplicate(_)) => Err(AppError::invalid(
                "email",
                "someone already signs in with this email",
            )),
            Err(e) => Err(e.into()),
        }
    }

    async fn new_invite(
        &self,
        tenant_id: &str,
        email: Option<String>,
        role: Role,
        by: Option<&User>,
    ) -> Result<String, AppError> {
        let token = random_token();
        let now = self.clock.now();
        self.stores
            .users
            .insert_invite(&Invite {
                token_hash: hash_token(&token),
                tenant_id: tenant_id.to_owned(),
                email,
                role,
                created_by: by.map(|u| u.id.clone()),
                created_at: now,
                expires_at: now + Duration::days(INVITE_DAYS),
                used_at: None,
            })
            .await?;
        Ok(token)
    }

    async fn start_session(&self, user: User) -> Result<SignedIn, AppError> {
        let token = random_token();
        let now = self.clock.now();
        let session = Session {
            token_hash: hash_token(&token),
            tenant_id: user.tenant_id.clone(),
            user_id: user.id.clone(),
            csrf_token: random_token(),
            created_at: now,
            expires_at: now + Duration::hours(SESSION_HOURS),
        };
        self.stores.users.insert_session(&session).await?;
        Ok(SignedIn {
            token,
            account: Account { user, session },
        })
    }

    /// Signs in from `address` (the client's, where known). Attempts are limited per email
    /// and per address, so a password cannot be guessed by machine.
    pub async fn sign_in(
        &self,
        email: &str,
        password: &str,
        address: Option<&str>,
    ) -> Result<SignedIn, AppError> {
        self.admit_sign_in(email, address).await?;
        let user = match normalize_email(email) {
            Ok(e) => self.stores.users.user_by_email(&e).await?,
            Err(_) => None,
        };
        // An unknown email costs a hash too, so timing does not tell who has an account.
        let matches =
            password_matches(password, user.as_ref().map(|u| u.password_hash.clone())).await;
        match user {
            Some(user) if matches => self.start_session(user).await,
            _ => Err(AppError::Unauthorized),
        }
    }

    /// The account a session token signs in, if the session is live.
    pub async fn account(&self, token: &str) -> Result<Account, AppError> {
        let session = self
            .stores
            .users
            .session(&hash_token(token))
            .await?
            .filter(|s| s.expires_at > self.clock.now())
            .ok_or(AppError::Unauthorized)?;
        let user = self
            .stores
            .users
            .user(&session.tenant_id, &session.user_id)
            .await?
            .ok_or(AppError::Unauthorized)?;
        Ok(Account { user, session })
    }

    /// Forgets expired sessions (the sweeper's housekeeping); returns how many.
    pub async fn prune_sessions(&self) -> Result<u64, AppError> {
        Ok(self
            .stores
            .users
            .delete_expired_sessions(self.clock.now())
            .await?)
    }

    pub async fn sign_out(&self, token: &str) -> Result<(), AppError> {
        Ok(self.stores.users.delete_session(&hash_token(token)).await?)
    }

    /// Refuses a form post whose CSRF token is not the session's.
    pub fn check_csrf(&self, account: &Account, token: &str) -> Result<(), AppError> {
        if same(&account.session.csrf_token, token) {
            Ok(())
        } else {
            Err(AppError::Forbidden(
                "this form is stale or was not sent from the dashboard; reload and try again"
                    .into(),
            ))
        }
    }

    fn require_admin(&self, account: &Account) -> Result<(), AppError> {
        if account.is_admin() {
            Ok(())
        } else {
            Err(AppError::Forbidden("only admins may do this".into()))
        }
    }

    /// An admin invites someone; the token is the one-time link's.
    pub async fn invite(&self, by: &Account, email: &str, role: Role) -> Result<String, AppError> {
        self.require_admin(by)?;
        let email = normalize_email(email)?;
        if self.stores.users.user_by_email(&email).await?.is_some() {
            return Err(AppError::invalid(
                "email",
                "someone already signs in with this email",
            ));
        }
        self.new_invite(&by.user.tenant_id, Some(email), role, Some(&by.user))
            .await
    }

    /// An operator's invitation from the command line (no one may be signed in yet,
    /// as on a new deployment); the token is the one-time link's.
    pub async fn invite_from_console(
        &self,
        tenant_id: &str,
        email: Option<&str>,
        role: Role,
    ) -> Result<String, AppError> {
        if self.stores.tenants.get_tenant(tenant_id).await?.is_none() {
            return Err(AppError::NotFound("tenant"));
        }
        let email = email.map(normalize_email).transpose()?;
        self.new_invite(tenant_id, email, role, None).await
    }

    /// The invitation behind a link, if it can still be accepted.
    pub async fn open_invite(&self, token: &str) -> Result<Invite, AppError> {
        self.stores
            .users
            .invite(&hash_token(token))
            .await?
            .filter(|i| i.used_at.is_none() && i.expires_at > self.clock.now())
            .ok_or(AppError::NotFound("invitation (it may be used or expired)"))
    }

    /// Joins through an invitation: the account is made and signed in.
    pub async fn accept_invite(
        &self,
        token: &str,
        email: Option<&str>,
        password: &str,
    ) -> Result<SignedIn, AppError> {
        let invite = self.open_invite(token).await?;
        let email = match (&invite.email, email) {
            (Some(invited), _) => invited.clone(),
            (None, Some(given)) => normalize_email(given)?,
            (None, None) => return Err(AppError::invalid("email", "must be given")),
        };
        check_password(password)?;
        if self.stores.users.user_by_email(&email).await?.is_some() {
            return Err(AppError::invalid(
                "email",
                "someone already signs in with this email",
            ));
        }
        if !self
            .stores
            .users
            .use_invite(&invite.token_hash, self.clock.now())
            .await?
        {
            return Err(AppError::NotFound("invitation (it may be used or expired)"));
        }
        let user = self
            .add_user(&invite.tenant_id, &email, password, invite.role)
            .await?;
        self.start_session(user).await
    }

    pub async fn people(&self, by: &Account) -> Result<Vec<User>, AppError> {
        self.require_admin(by)?;
        Ok(self.stores.users.users(&by.user.tenant_id).await?)
    }
}
