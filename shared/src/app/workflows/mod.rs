//! Workflows: definitions with their versions (`definitions`), runs (`runs`), the one
//! commit path of every change to a run (`commit`), and the tasks that drive runs:
//! step attempts, compensations, resumes after a decision (`execute`), with the
//! executors of the kinds that do I/O registered in `steps`.
//!
//! A run reaches approvals only through `approvals::create_for_step` and
//! `approvals::run_command`, and approvals reach runs only through the `ResumeRun`
//! task `approvals::work` writes with the change that ends a step's request.

mod commit;
mod definitions;
mod execute;
mod runs;
pub mod steps;

pub(crate) use commit::CompiledVersions;
pub use definitions::{NewVersion, NewWorkflow, WorkflowDetail, WorkflowPage, WorkflowPatch};
pub use runs::{NewRun, RunPage, RunPageRequest, RunVerification};

crate::app::feature_view!(
    /// Workflows and their runs: `app.workflows()`.
    Workflows
);
