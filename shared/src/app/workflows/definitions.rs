//! Workflow definitions: create, read, change, delete, and their immutable versions.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Workflows;
use crate::app::approvals::{DEFAULT_PAGE, cursor_at, decode_cursor};
use crate::app::{AppError, Caller, MAX_PAGE};
use crate::domain::FieldError;
use crate::domain::limits::{MAX_LONG_TEXT, MAX_SHORT_TEXT};
use crate::domain::workflow::{Compiled, Definition, Workflow, WorkflowVersion};
use crate::ports::{IdKind, StoreError};

const MAX_TAGS: usize = 20;
/// How often a write that lost to a concurrent one is tried again.
const TRIES: u32 = 8;

/// The body of `POST /v1/workflows`.
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewWorkflow {
    #[schema(min_length = 1, max_length = 256)]
    pub name: String,
    #[serde(default)]
    #[schema(max_length = 4096)]
    pub description: Option<String>,
    #[serde(default)]
    #[schema(min_length = 1, max_length = 256)]
    pub category: Option<String>,
    #[serde(default)]
    #[schema(max_items = 20)]
    pub tags: Option<Vec<String>>,
    pub definition: Definition,
}

/// The body of `PATCH /v1/workflows/{id}`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WorkflowPatch {
    #[serde(default)]
    #[schema(min_length = 1, max_length = 256)]
    pub name: Option<String>,
    #[serde(default)]
    #[schema(max_length = 4096)]
    pub description: Option<String>,
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Roll back (or forward) to a version that exists.
    #[serde(default)]
    #[schema(minimum = 1)]
    pub active_version: Option<u32>,
}

/// The body of `POST /v1/workflows/{id}/versions`.
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewVersion {
    pub definition: Definition,
    /// Make it the version new runs start on (default true).
    #[serde(default)]
    pub activate: Option<bool>,
}

/// A workflow with its active definition.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowDetail {
    #[serde(flatten)]
    pub workflow: Workflow,
    pub definition: Definition,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkflowPage {
    pub items: Vec<Workflow>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

fn text(field: &str, v: &str, min: usize, max: usize, errors: &mut Vec<FieldError>) {
    let n = v.chars().count();
    if n < min || n > max || (min > 0 && v.trim().is_empty()) {
        errors.push(FieldError::new(field, format!("{min} to {max} characters")));
    }
}

/// A definition checked, with its problems named under `/definition`.
fn check(def: &Definition) -> Result<Compiled, AppError> {
    Compiled::new(def).map_err(AppError::Invalid)
}

impl Workflows<'_> {
    pub async fn create(
        &self,
        caller: &Caller,
        input: NewWorkflow,
    ) -> Result<WorkflowDetail, AppError> {
        caller.require_agent_side("create workflows")?;
        let mut errors = Vec::new();
        text("/name", &input.name, 1, MAX_SHORT_TEXT, &mut errors);
        if let Some(d) = &input.description {
            text("/description", d, 0, MAX_LONG_TEXT, &mut errors);
        }
        if let Some(c) = &input.category {
            text("/category", c, 1, MAX_SHORT_TEXT, &mut errors);
        }
        let tags = input.tags.clone().unwrap_or_default();
        if tags.len() > MAX_TAGS {
            errors.push(FieldError::new("/tags", format!("at most {MAX_TAGS} tags")));
        }
        for (i, t) in tags.iter().enumerate() {
            text(&format!("/tags/{i}"), t, 1, 64, &mut errors);
        }
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        check(&input.definition)?;
        let now = self.clock.now();
        let workflow = Workflow {
            id: self.ids.next(IdKind::Workflow),
            name: input.name.trim().to_owned(),
            description: input.description,
            category: input.category,
            tags,
            active_version: 1,
            latest_version: 1,
            enabled: true,
            deleted: false,
            created_at: now,
            updated_at: now,
        };
        let first = WorkflowVersion {
            workflow_id: workflow.id.clone(),
            version: 1,
            definition: input.definition,
            created_at: now,
        };
        self.stores
            .workflows
            .create_workflow(&caller.tenant_id, &workflow, &first)
            .await?;
        Ok(WorkflowDetail {
            workflow,
            definition: first.definition,
        })
    }

    /// The workflow, deleted ones included (their runs stay readable).
    pub(crate) async fn workflow_any(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<Workflow, AppError> {
        self.stores
            .workflows
            .workflow(tenant_id, id)
            .await?
            .ok_or(AppError::NotFound("workflow"))
    }

    /// A workflow that is not deleted.
    async fn live(&self, caller: &Caller, id: &str) -> Result<Workflow, AppError> {
        caller.require_agent_side("read workflows")?;
        let w = self.workflow_any(&caller.tenant_id, id).await?;
        if w.deleted {
            return Err(AppError::NotFound("workflow"));
        }
        Ok(w)
    }

    /// Refuses unless the workflow exists for the caller (deleted ones too: their runs
    /// stay readable).
    pub async fn exists(&self, caller: &Caller, id: &str) -> Result<(), AppError> {
        caller.require_agent_side("read workflows")?;
        self.workflow_any(&caller.tenant_id, id).await.map(|_| ())
    }

    pub async fn get(&self, caller: &Caller, id: &str) -> Result<WorkflowDetail, AppError> {
        let workflow = self.live(caller, id).await?;
        let v = self
            .version_of(&caller.tenant_id, id, workflow.active_version)
            .await?;
        Ok(WorkflowDetail {
            workflow,
            definition: v.definition,
        })
    }

    pub async fn list(
        &self,
        caller: &Caller,
        cursor: Option<&str>,
        limit: Option<u32>,
    ) -> Result<WorkflowPage, AppError> {
        caller.require_agent_side("read workflows")?;
        let limit = limit.unwrap_or(DEFAULT_PAGE);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(AppError::invalid(
                "limit",
                format!("must be between 1 and {MAX_PAGE}"),
            ));
        }
        let after = cursor.map(decode_cursor).transpose()?;
        let mut items = self
            .stores
            .workflows
            .workflows(&caller.tenant_id, after, limit + 1)
            .await?;
        let next_cursor = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|w| cursor_at(w.created_at, &w.id))
        } else {
            None
        };
        Ok(WorkflowPage { items, next_cursor })
    }

    pub(crate) async fn version_of(
        &self,
        tenant_id: &str,
        id: &str,
        version: u32,
    ) -> Result<WorkflowVersion, AppError> {
        self.stores
            .workflows
            .version(tenant_id, id, version)
            .await?
            .ok_or(AppError::NotFound("workflow version"))
    }

    pub async fn version(
        &self,
        caller: &Caller,
        id: &str,
        version: u32,
    ) -> Result<WorkflowVersion, AppError> {
        caller.require_agent_side("read workflows")?;
        // A deleted workflow's versions stay readable, as its runs do.
        self.workflow_any(&caller.tenant_id, id).await?;
        self.version_of(&caller.tenant_id, id, version).await
    }

    /// Writes `change` of the workflow as it is now, again on a concurrent change.
    async fn change(
        &self,
        caller: &Caller,
        id: &str,
        change: impl Fn(&mut Workflow, DateTime<Utc>) -> Result<(), AppError>,
    ) -> Result<Workflow, AppError> {
        for _ in 0..TRIES {
            let mut w = self.live(caller, id).await?;
            let before = w.updated_at;
            let now = self
                .clock
                .now()
                .max(before + chrono::Duration::microseconds(1));
            change(&mut w, now)?;
            w.updated_at = now;
            match self
                .stores
                .workflows
                .update_workflow(&caller.tenant_id, &w, before)
                .await
            {
                Ok(()) => return Ok(w),
                Err(StoreError::VersionConflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(AppError::RunConflict(
            "the workflow kept changing under this write; try again".into(),
        ))
    }

    pub async fn update(
        &self,
        caller: &Caller,
        id: &str,
        patch: WorkflowPatch,
    ) -> Result<WorkflowDetail, AppError> {
        caller.require_agent_side("change workflows")?;
        let mut errors = Vec::new();
        if let Some(n) = &patch.name {
            text("/name", n, 1, MAX_SHORT_TEXT, &mut errors);
        }
        if let Some(d) = &patch.description {
            text("/description", d, 0, MAX_LONG_TEXT, &mut errors);
        }
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        let w = self
            .change(caller, id, |w, _| {
                if let Some(v) = patch.active_version {
                    if v == 0 || v > w.latest_version {
                        return Err(AppError::invalid(
                            "/activeVersion",
                            format!(
                                "version {v} does not exist; the latest is {}",
                                w.latest_version
                            ),
                        ));
                    }
                    w.active_version = v;
                }
                if let Some(n) = &patch.name {
                    w.name = n.trim().to_owned();
                }
                if let Some(d) = &patch.description {
                    w.description = Some(d.clone());
                }
                if let Some(e) = patch.enabled {
                    w.enabled = e;
                }
                Ok(())
            })
            .await?;
        let v = self
            .version_of(&caller.tenant_id, id, w.active_version)
            .await?;
        Ok(WorkflowDetail {
            workflow: w,
            definition: v.definition,
        })
    }

    /// Disables and hides the workflow; its runs stay readable and finish.
    pub async fn delete(&self, caller: &Caller, id: &str) -> Result<(), AppError> {
        caller.require_agent_side("delete workflows")?;
        self.change(caller, id, |w, _| {
            w.enabled = false;
            w.deleted = true;
            Ok(())
        })
        .await
        .map(|_| ())
    }

    pub async fn add_version(
        &self,
        caller: &Caller,
        id: &str,
        input: NewVersion,
    ) -> Result<WorkflowVersion, AppError> {
        caller.require_agent_side("change workflows")?;
        check(&input.definition)?;
        for _ in 0..TRIES {
            let mut w = self.live(caller, id).await?;
            let now = self.clock.now();
            w.latest_version += 1;
            if input.activate.unwrap_or(true) {
                w.active_version = w.latest_version;
            }
            w.updated_at = now.max(w.updated_at + chrono::Duration::microseconds(1));
            let v = WorkflowVersion {
                workflow_id: w.id.clone(),
                version: w.latest_version,
                definition: input.definition.clone(),
                created_at: now,
            };
            match self
                .stores
                .workflows
                .add_version(&caller.tenant_id, &w, &v)
                .await
            {
                Ok(()) => return Ok(v),
                Err(StoreError::VersionConflict | StoreError::Duplicate(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(AppError::RunConflict(
            "other versions kept being added; try again".into(),
        ))
    }
}
