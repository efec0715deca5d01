//! The dashboard's people, their signed-in sessions and their invitations.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{ColumnIndex, Encode, Executor, Type};

use super::dialect::{Column, Conn, Dialect, Row, RowsAffected, SqlStore};
use super::{corrupt, db_err};
use crate::domain::{Invite, Role, Session, User};
use crate::ports::{StoreError, UserStore};

const USER_COLUMNS: &str = "tenant_id, id, email, role, password_hash, created_at";
const SESSION_COLUMNS: &str = "token_hash, tenant_id, user_id, csrf_token, created_at, expires_at";
const INVITE_COLUMNS: &str =
    "token_hash, tenant_id, email, role, created_by, created_at, expires_at, used_at";

fn role(role: &str) -> Result<Role, StoreError> {
    Role::parse(role).ok_or_else(|| corrupt("role", role))
}

#[derive(sqlx::FromRow)]
struct UserRow<D: Dialect> {
    tenant_id: String,
    id: String,
    email: String,
    role: String,
    password_hash: String,
    created_at: D::Ts,
}

impl<D: Dialect> TryFrom<UserRow<D>> for User {
    type Error = StoreError;

    fn try_from(r: UserRow<D>) -> Result<Self, StoreError> {
        Ok(User {
            role: role(&r.role)?,
            tenant_id: r.tenant_id,
            id: r.id,
            email: r.email,
            password_hash: r.password_hash,
            created_at: D::from_ts(r.created_at),
        })
    }
}

#[derive(sqlx::FromRow)]
struct SessionRow<D: Dialect> {
    token_hash: String,
    tenant_id: String,
    user_id: String,
    csrf_token: String,
    created_at: D::Ts,
    expires_at: D::Ts,
}

impl<D: Dialect> From<SessionRow<D>> for Session {
    fn from(r: SessionRow<D>) -> Self {
        Session {
            token_hash: r.token_hash,
            tenant_id: r.tenant_id,
            user_id: r.user_id,
            csrf_token: r.csrf_token,
            created_at: D::from_ts(r.created_at),
            expires_at: D::from_ts(r.expires_at),
        }
    }
}

#[derive(sqlx::FromRow)]
struct InviteRow<D: Dialect> {
    token_hash: String,
    tenant_id: String,
    email: Option<String>,
    role: String,
    created_by: Option<String>,
    created_at: D::Ts,
    expires_at: D::Ts,
    used_at: Option<D::Ts>,
}

impl<D: Dialect> TryFrom<InviteRow<D>> for Invite {
    type Error = StoreError;

    fn try_from(r: InviteRow<D>) -> Result<Self, StoreError> {
        Ok(Invite {
            role: role(&r.role)?,
            token_hash: r.token_hash,
            tenant_id: r.tenant_id,
            email: r.email,
            created_by: r.created_by,
            created_at: D::from_ts(r.created_at),
            expires_at: D::from_ts(r.expires_at),
            used_at: r.used_at.map(D::from_ts),
        })
    }
}

#[async_trait]
impl<D: Dialect> UserStore for SqlStore<D>
where
    for<'c> &'c mut Conn<D>: Executor<'c, Database = D::Db>,
    for<'q> &'q str: Encode<'q, D::Db> + Type<D::Db> + ColumnIndex<Row<D>>,
    usize: ColumnIndex<Row<D>>,
    String: Column<D::Db>,
    Option<String>: Column<D::Db>,
    i64: Column<D::Db>,
    Option<D::Ts>: Column<D::Db>,
{
    async fn insert_user(&self, u: &User) -> Result<(), StoreError> {
        sqlx::query(&format!(
            "INSERT INTO users ({USER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"
        ))
        .bind(&u.tenant_id)
        .bind(&u.id)
        .bind(&u.email)
        .bind(u.role.as_str())
        .bind(&u.password_hash)
        .bind(D::to_ts(u.created_at))
        .execute(&self.writer)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        let row: Option<UserRow<D>> = sqlx::query_as(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE email = $1"
        ))
        .bind(email)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.map(User::try_from).transpose()
    }

    async fn user(&self, tenant_id: &str, id: &str) -> Result<Option<User>, StoreError> {
        let row: Option<UserRow<D>> = sqlx::query_as(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(tenant_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.map(User::try_from).transpose()
    }

    async fn users(&self, tenant_id: &str) -> Result<Vec<User>, StoreError> {
        let rows: Vec<UserRow<D>> = sqlx::query_as(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 ORDER BY created_at, id"
        ))
        .bind(tenant_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.into_iter().map(User::try_from).collect()
    }

    async fn count_users(&self) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)
    }

    async fn insert_session(&self, s: &Session) -> Result<(), StoreError> {
        sqlx::query(&format!(
            "INSERT INTO sessions ({SESSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"
        ))
        .bind(&s.token_hash)
        .bind(&s.tenant_id)
        .bind(&s.user_id)
        .bind(&s.csrf_token)
        .bind(D::to_ts(s.created_at))
        .bind(D::to_ts(s.expires_at))
        .execute(&self.writer)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn session(&self, token_hash: &str) -> Result<Option<Session>, StoreError> {
        let row: Option<SessionRow<D>> = sqlx::query_as(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE token_hash = $1"
        ))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(row.map(Session::from))
    }

    async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.writer)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(D::to_ts(now))
            .execute(&self.writer)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected())
    }

    async fn insert_invite(&self, i: &Invite) -> Result<(), StoreError> {
        sqlx::query(&format!(
            "INSERT INTO invites ({INVITE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        ))
        .bind(&i.token_hash)
        .bind(&i.tenant_id)
        .bind(&i.email)
        .bind(i.role.as_str())
        .bind(&i.created_by)
        .bind(D::to_ts(i.created_at))
        .bind(D::to_ts(i.expires_at))
        .bind(i.used_at.map(D::to_ts))
        .execute(&self.writer)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn invite(&self, token_hash: &str) -> Result<Option<Invite>, StoreError> {
        let row: Option<InviteRow<D>> = sqlx::query_as(&format!(
            "SELECT {INVITE_COLUMNS} FROM invites WHERE token_hash = $1"
        ))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.map(Invite::try_from).transpose()
    }

    async fn use_invite(&self, token_hash: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE invites SET used_at = $1 \
             WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1",
        )
        .bind(D::to_ts(now))
        .bind(token_hash)
        .execute(&self.writer)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }
}
