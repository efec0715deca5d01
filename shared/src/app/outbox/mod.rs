//! The outbox: the follow-up work each change wrote in its own transaction, run by a
//! worker (locally) or handed to a queue by the relay (on AWS), with the one retry
//! schedule.

mod relay;
mod runner;
mod tasks;

pub use relay::{OutboxRelay, RELAY_LEASE};
pub use runner::{JobRunner, RunnerConfig};
pub use tasks::Tasks;

use super::{Account, App, AppError};
use crate::ports::Job;

impl App {
    /// The tenant's buried jobs, newest first: work that failed for good or ran out of
    /// attempts, for an admin to look into. Admins only.
    pub async fn buried_jobs(&self, account: &Account, limit: u32) -> Result<Vec<Job>, AppError> {
        if !account.is_admin() {
            return Err(AppError::Forbidden(
                "only admins may see buried jobs".into(),
            ));
        }
        Ok(self
            .stores
            .jobs
            .buried(&account.user.tenant_id, limit)
            .await?)
    }
}
