//! `Idempotency-Key`s of requests and of runs: one item per key, written in the
//! transaction that starts its subject under `attribute_not_exists`, and kept
//! indefinitely, as the API documents.

use chrono::{DateTime, Utc};

use super::DynamoStore;
use super::item::{self, Got, Item, Put};
use crate::ports::{IdempotencyClaim, StoreError};

/// The key's item: its claim, and the id of what it started under `subject` (the
/// attribute: `approval_id`, `run_id`).
pub(super) fn key_item(
    pk: String,
    claim: &IdempotencyClaim,
    subject: &str,
    id: &str,
    at: DateTime<Utc>,
) -> Item {
    Put::new(pk, "IDEM", "idempotency")
        .s("request_hash", &claim.request_hash)
        .s(subject, id)
        .ts("created_at", at)
        .item()
}

impl DynamoStore {
    /// The claim a key was first used with, and the id under `subject` it started.
    pub(super) async fn key_claim(
        &self,
        pk: String,
        subject: &str,
        key_text: &str,
    ) -> Result<Option<(IdempotencyClaim, String)>, StoreError> {
        let Some(i) = self.get_item(item::pk(pk, "IDEM")).await? else {
            return Ok(None);
        };
        let g = Got(&i);
        let claim = IdempotencyClaim {
            key: key_text.to_owned(),
            request_hash: g.s("request_hash")?,
        };
        Ok(Some((claim, g.s(subject)?)))
    }
}
