// The dashboard's people, sessions and invitations, shared by both SQL backends;
// included after `store_body.rs`.

use crate::ports::{UserStore};
use crate::domain::{Invite, Role, Session, User};

const USER_COLUMNS: &str = "tenant_id, id, email, role, password_hash, created_at";
const SESSION_COLUMNS: &str = "token_hash, tenant_id, user_id, csrf_token, created_at, expires_at";
const INVITE_COLUMNS: &str =
    "token_hash, tenant_id, email, role, created_by, created_at, expires_at, used_at";

fn decode_role(row: &<Db as sqlx::Database>::Row) -> Result<Role, StoreError> {
    let role: String = row.try_get("role").map_err(db_err)?;
    Role::parse(&role).ok_or_else(|| corrupt("role", &role))
}

fn decode_user(row: &<Db as sqlx::Database>::Row) -> Result<User, StoreError> {
    Ok(User {
        tenant_id: row.try_get("tenant_id").map_err(db_err)?,
        id: row.try_get("id").map_err(db_err)?,
        email: row.try_get("email").map_err(db_err)?,
        role: decode_role(row)?,
        password_hash: row.try_get("password_hash").map_err(db_err)?,
        created_at: from_ts(row.try_get("created_at").map_err(db_err)?),
    })
}

fn decode_session(row: &<Db as sqlx::Database>::Row) -> Result<Session, StoreError> {
    Ok(Session {
        token_hash: row.try_get("token_hash").map_err(db_err)?,
        tenant_id: row.try_get("tenant_id").map_err(db_err)?,
        user_id: row.try_get("user_id").map_err(db_err)?,
        csrf_token: row.try_get("csrf_token").map_err(db_err)?,
        created_at: from_ts(row.try_get("created_at").map_err(db_err)?),
        expires_at: from_ts(row.try_get("expires_at").map_err(db_err)?),
    })
}

fn decode_invite(row: &<Db as sqlx::Database>::Row) -> Result<Invite, StoreError> {
    let used: Option<Ts> = row.try_get("used_at").map_err(db_err)?;
    Ok(Invite {
        token_hash: row.try_get("token_hash").map_err(db_err)?,
        tenant_id: row.try_get("tenant_id").map_err(db_err)?,
        email: row.try_get("email").map_err(db_err)?,
        role: decode_role(row)?,
        created_by: row.try_get("created_by").map_err(db_err)?,
        created_at: from_ts(row.try_get("created_at").map_err(db_err)?),
        expires_at: from_ts(row.try_get("expires_at").map_err(db_err)?),
        used_at: used.map(from_ts),
    })
}

#[async_trait]
impl UserStore for Store {
    async fn insert_user(&self, u: &User) -> Result<(), StoreError> {
        sqlx::query(&format!(
            "INSERT INTO users ({USER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"
        ))
        .bind(&u.tenant_id)
        .bind(&u.id)
        .bind(&u.email)
        .bind(u.role.as_str())
        .bind(&u.password_hash)
        .bind(to_ts(u.created_at))
        .execute(&self.writer)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1"))
            .bind(email)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .as_ref()
            .map(decode_user)
            .transpose()
    }

    async fn user(&self, tenant_id: &str, id: &str) -> Result<Option<User>, StoreError> {
        sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND id = $2"
        ))
        .bind(tenant_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?
        .as_ref()
        .map(decode_user)
        .transpose()
    }

    async fn users(&self, tenant_id: &str) -> Result<Vec<User>, StoreError> {
        sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 ORDER BY created_at, id"
        ))
        .bind(tenant_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?
        .iter()
        .map(decode_user)
        .collect()
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
        .bind(to_ts(s.created_at))
        .bind(to_ts(s.expires_at))
        .execute(&self.writer)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn session(&self, token_hash: &str) -> Result<Option<Session>, StoreError> {
        sqlx::query(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE token_hash = $1"
        ))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?
        .as_ref()
        .map(decode_session)
        .transpose()
    }

    async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.writer)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn delete_expired_sessions(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(to_ts(now))
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
        .bind(to_ts(i.created_at))
        .bind(to_ts(i.expires_at))
        .bind(i.used_at.map(to_ts))
        .execute(&self.writer)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn invite(&self, token_hash: &str) -> Result<Option<Invite>, StoreError> {
        sqlx::query(&format!(
            "SELECT {INVITE_COLUMNS} FROM invites WHERE token_hash = $1"
        ))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?
        .as_ref()
        .map(decode_invite)
        .transpose()
    }

    async fn use_invite(
        &self,
        token_hash: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE invites SET used_at = $1 \
             WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1",
        )
        .bind(to_ts(now))
        .bind(token_hash)
        .execute(&self.writer)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }
}
