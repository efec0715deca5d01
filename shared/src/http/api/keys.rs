//! `/v1/keys`: a tenant's API keys, managed with an admin key. A secret is answered once,
//! when the key is made; only its first characters are kept to tell keys apart.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::{App, NewKey};
use crate::domain::{ApiKey, KeyRole};
use crate::http::Problem;
use crate::http::extract::{Authed, JsonBody};
use crate::http::problem::{ApiCall, BadBody, NotFound, RoleForbidden};

/// The body of `POST /v1/keys`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewKeyInput {
    /// What the key is for, to tell keys apart (1 to 100 characters).
    pub name: String,
    pub role: KeyRole,
    /// Only for an `approver` key, and required there: the approver identity (an
    /// approver's `id` or recipient, such as an email) the key decides as.
    #[serde(default)]
    pub approver: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyView {
    pub id: String,
    pub name: String,
    /// The secret's first characters.
    pub prefix: String,
    pub role: KeyRole,
    pub approver: Option<String>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<ApiKey> for KeyView {
    fn from(k: ApiKey) -> Self {
        Self {
            id: k.id,
            name: k.name,
            prefix: k.prefix,
            role: k.role,
            approver: k.approver,
            created_at: k.created_at,
            revoked_at: k.revoked_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyWithSecret {
    #[serde(flatten)]
    pub key: KeyView,
    /// Send as `Authorization: Bearer <secret>`. Shown only in this answer.
    pub secret: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyList {
    pub items: Vec<KeyView>,
}

#[utoipa::path(post, path = "/v1/keys", tag = "keys", request_body = NewKeyInput,
    responses((status = 201, description = "Made; the secret is in this answer only", body = KeyWithSecret),
        BadBody, RoleForbidden, ApiCall),
    security(("bearer" = [])))]
pub async fn create(
    State(app): State<App>,
    Authed(caller): Authed,
    JsonBody(input): JsonBody<NewKeyInput>,
) -> Result<(StatusCode, Json<KeyWithSecret>), Problem> {
    let new = NewKey {
        name: &input.name,
        role: input.role,
        approver: input.approver.as_deref(),
    };
    let (key, secret) = app.accounts().new_key(&caller, new).await?;
    Ok((
        StatusCode::CREATED,
        Json(KeyWithSecret {
            key: key.into(),
            secret,
        }),
    ))
}

#[utoipa::path(get, path = "/v1/keys", tag = "keys",
    responses((status = 200, description = "Oldest first, revoked ones included", body = KeyList),
        RoleForbidden, ApiCall),
    security(("bearer" = [])))]
pub async fn list(
    State(app): State<App>,
    Authed(caller): Authed,
) -> Result<Json<KeyList>, Problem> {
    let keys = app.accounts().keys(&caller).await?;
    Ok(Json(KeyList {
        items: keys.into_iter().map(KeyView::from).collect(),
    }))
}

#[utoipa::path(delete, path = "/v1/keys/{id}", tag = "keys", params(("id" = String, Path)),
    responses((status = 204, description = "Revoked: calls with it are refused from now on"),
        RoleForbidden, NotFound, ApiCall),
    security(("bearer" = [])))]
pub async fn revoke(
    State(app): State<App>,
    Authed(caller): Authed,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    app.accounts().revoke_key(&caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
