//! The dashboard's people in their tenant's partition (`USER#id`), each also under its
//! email (`EMAIL#email`), which keeps emails unique across tenants as SQL's unique index
//! does, with one counter of all people; sessions and invitations by their token's hash,
//! gone by TTL some time after they expire.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::item::{self, Expr, Got, Item, Put, at_then, key, up_to};
use super::{DynamoStore, MAX_ITEMS, Refused, Write, corrupt, db_err};
use crate::domain::{Invite, Role, Session, User};
use crate::ports::{StoreError, UserStore};

/// Sessions expired before are removed by `delete_expired_sessions`; TTL takes any it
/// left a day later.
const SESSION_GRACE_DAYS: i64 = 1;
/// An expired invitation is still shown as expired (not unknown) for a month.
const INVITE_GRACE_DAYS: i64 = 30;
/// Sessions removed per `delete_expired_sessions` call at most (the sweeper calls it
/// again on its next pass).
const PRUNE_BATCH: usize = 1000;

fn role(role: &str) -> Result<Role, StoreError> {
    Role::parse(role).ok_or_else(|| corrupt("role", role))
}

fn user_item(pk: String, sk: &str, u: &User) -> Item {
    Put::new(pk, sk, "user")
        .s("tenant_id", &u.tenant_id)
        .s("id", &u.id)
        .s("email", &u.email)
        .s("role", u.role.as_str())
        .s("password_hash", &u.password_hash)
        .ts("created_at", u.created_at)
        .item()
}

fn user(i: &Item) -> Result<User, StoreError> {
    let g = Got(i);
    Ok(User {
        tenant_id: g.s("tenant_id")?,
        id: g.s("id")?,
        email: g.s("email")?,
        role: role(&g.s("role")?)?,
        password_hash: g.s("password_hash")?,
        created_at: g.ts("created_at")?,
    })
}

fn user_sk(id: &str) -> String {
    key(&["USER", id])
}

fn session_key(token_hash: &str) -> Item {
    item::pk(key(&["SESSION", token_hash]), "SESSION")
}

fn invite_key(token_hash: &str) -> Item {
    item::pk(key(&["INVITE", token_hash]), "INVITE")
}

fn users_counter() -> Item {
    item::pk("USERS".into(), "COUNT")
}

#[async_trait]
impl UserStore for DynamoStore {
    async fn insert_user(&self, u: &User) -> Result<(), StoreError> {
        let mut count = Expr::default();
        count.add("n", item::n(1));
        self.transact(vec![
            Write::new(
                self.put_new_write(user_item(key(&["EMAIL", &u.email]), "EMAIL", u)),
                Refused::Duplicate("email"),
            ),
            Write::new(
                self.put_new_write(user_item(key(&["T", &u.tenant_id]), &user_sk(&u.id), u)),
                Refused::Duplicate("user"),
            ),
            Write::new(
                self.update_write(users_counter(), &count, ""),
                Refused::Skip,
            ),
        ])
        .await?;
        Ok(())
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        self.get_item(item::pk(key(&["EMAIL", email]), "EMAIL"))
            .await?
            .as_ref()
            .map(user)
            .transpose()
    }

    async fn user(&self, tenant_id: &str, id: &str) -> Result<Option<User>, StoreError> {
        self.get_item(item::pk(key(&["T", tenant_id]), &user_sk(id)))
            .await?
            .as_ref()
            .map(user)
            .transpose()
    }

    async fn users(&self, tenant_id: &str) -> Result<Vec<User>, StoreError> {
        let q = self.partition(key(&["T", tenant_id]), "USER#");
        let mut all = self
            .query_all(q, MAX_ITEMS)
            .await?
            .iter()
            .map(user)
            .collect::<Result<Vec<_>, _>>()?;
        all.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(all)
    }

    async fn count_users(&self) -> Result<i64, StoreError> {
        match self.get_item(users_counter()).await? {
            Some(i) => Got(&i).i64("n"),
            None => Ok(0),
        }
    }

    async fn insert_session(&self, s: &Session) -> Result<(), StoreError> {
        let item = Put::new(key(&["SESSION", &s.token_hash]), "SESSION", "session")
            .s("token_hash", &s.token_hash)
            .s("tenant_id", &s.tenant_id)
            .s("user_id", &s.user_id)
            .s("csrf_token", &s.csrf_token)
            .ts("created_at", s.created_at)
            .ts("expires_at", s.expires_at)
            .s("gsi1pk", "SESSIONS")
            .s("gsi1sk", at_then(s.expires_at, &s.token_hash))
            .set(
                "ttl",
                item::epoch(s.expires_at + chrono::Duration::days(SESSION_GRACE_DAYS)),
            )
            .item();
        if self.put_new(item).await? {
            Ok(())
        } else {
            Err(StoreError::Duplicate("session".into()))
        }
    }

    async fn session(&self, token_hash: &str) -> Result<Option<Session>, StoreError> {
        let Some(i) = self.get_item(session_key(token_hash)).await? else {
            return Ok(None);
        };
        let g = Got(&i);
        Ok(Some(Session {
            token_hash: g.s("token_hash")?,
            tenant_id: g.s("tenant_id")?,
            user_id: g.s("user_id")?,
            csrf_token: g.s("csrf_token")?,
            created_at: g.ts("created_at")?,
            expires_at: g.ts("expires_at")?,
        }))
    }

    async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(session_key(token_hash)))
            .send()
            .await
            .map_err(db_err)?;
        Ok(())
    }

    /// Up to a batch per call, found on `gsi1` by expiry.
    async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let q = self
            .index("gsi1", "SESSIONS".into(), Some("< :now"))
            .expression_attribute_values(":now", item::s(up_to(now)));
        let mut deleted = 0;
        for i in self.query_all(q, PRUNE_BATCH).await? {
            self.delete_session(&Got(&i).s("token_hash")?).await?;
            deleted += 1;
        }
        Ok(deleted)
    }

    async fn insert_invite(&self, i: &Invite) -> Result<(), StoreError> {
        let item = Put::new(key(&["INVITE", &i.token_hash]), "INVITE", "invite")
            .s("token_hash", &i.token_hash)
            .s("tenant_id", &i.tenant_id)
            .opt_s("email", i.email.as_deref())
            .s("role", i.role.as_str())
            .opt_s("created_by", i.created_by.as_deref())
            .ts("created_at", i.created_at)
            .ts("expires_at", i.expires_at)
            .opt_ts("used_at", i.used_at)
            .set(
                "ttl",
                item::epoch(i.expires_at + chrono::Duration::days(INVITE_GRACE_DAYS)),
            )
            .item();
        if self.put_new(item).await? {
            Ok(())
        } else {
            Err(StoreError::Duplicate("invite".into()))
        }
    }

    async fn invite(&self, token_hash: &str) -> Result<Option<Invite>, StoreError> {
        let Some(i) = self.get_item(invite_key(token_hash)).await? else {
            return Ok(None);
        };
        let g = Got(&i);
        Ok(Some(Invite {
            token_hash: g.s("token_hash")?,
            tenant_id: g.s("tenant_id")?,
            email: g.opt_s("email")?,
            role: role(&g.s("role")?)?,
            created_by: g.opt_s("created_by")?,
            created_at: g.ts("created_at")?,
            expires_at: g.ts("expires_at")?,
            used_at: g.opt_ts("used_at")?,
        }))
    }

    async fn use_invite(&self, token_hash: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let mut e = Expr::default();
        e.set("used_at", item::s(item::ts(now)));
        let condition = format!(
            "{} AND {} AND {} > {}",
            e.exists("pk"),
            e.missing("used_at"),
            e.name("expires_at"),
            e.value(item::s(item::ts(now)))
        );
        self.update(invite_key(token_hash), &e, &condition).await
    }
}
