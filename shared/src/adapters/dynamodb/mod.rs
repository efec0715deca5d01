//! DynamoDB: every store port on one table (the layout is in `docs/dynamodb.md`).
//!
//! Each change that SQL makes in one transaction is one `TransactWriteItems` here, its
//! writes under conditions that stand for SQL's constraints and `WHERE` clauses. A
//! conditional write that SQL would have skipped (`ON CONFLICT DO NOTHING`, an `UPDATE`
//! matching no row) is dropped from the transaction and the rest tried again; one that
//! decides (a version, a unique key) ends it. Reads of one item, and queries of one
//! partition, are strongly consistent; queries of the indexes are not, and are used only
//! where a moment's lag is harmless (see each use).

mod approvals;
mod item;
mod jobs;
mod keys;
mod messages;
mod table;
mod tenants;
mod users;
mod webhooks;
mod workflows;

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::TransactWriteItem;

use crate::app::Stores;
use crate::ports::StoreError;
use item::Item;

/// How many times a transaction is tried while others hold its items, or while
/// writes SQL would skip are dropped from it.
const TRANSACTION_TRIES: usize = 8;
/// Items a listing of "all of a tenant's" (keys, people, endpoints, a request's events)
/// reads at most: far above what any tenant has, a bound on a runaway read.
const MAX_ITEMS: usize = 10_000;

/// Every store port on one table.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

/// Where the table is: `dynamodb://TABLE?endpoint=URL&region=REGION`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableUrl {
    pub table: String,
    pub endpoint: Option<String>,
    pub region: Option<String>,
}

impl TableUrl {
    pub fn parse(url: &str) -> Result<Self, StoreError> {
        let bad = |why: &str| StoreError::Database(format!("{url:?}: {why}").into());
        let rest = url
            .strip_prefix(super::DYNAMODB_SCHEME)
            .ok_or_else(|| bad("not a dynamodb:// URL"))?;
        let (table, query) = rest.split_once('?').unwrap_or((rest, ""));
        let valid = (3..=255).contains(&table.len())
            && table
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
        if !valid {
            return Err(bad(
                "the table name must be 3 to 255 letters, digits, `_`, `.` or `-`",
            ));
        }
        let mut parsed = TableUrl {
            table: table.to_owned(),
            endpoint: None,
            region: None,
        };
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            match k.as_ref() {
                "endpoint" => parsed.endpoint = Some(v.into_owned()),
                "region" => parsed.region = Some(v.into_owned()),
                other => return Err(bad(&format!("unknown parameter {other:?}"))),
            }
        }
        Ok(parsed)
    }
}

/// Opens the table `url` names with the usual AWS credentials, making it (with its
/// indexes, stream and TTL) if it is missing, as SQL stores run their migrations.
pub async fn connect(url: &str) -> Result<Stores, StoreError> {
    connect_with(&super::sdk::config_loader().load().await, url).await
}

/// `connect`, on an SDK configuration already loaded.
pub async fn connect_with(sdk: &aws_config::SdkConfig, url: &str) -> Result<Stores, StoreError> {
    let store = DynamoStore::at(sdk, url)?;
    store.ensure_table().await?;
    Ok(store.into_stores())
}

/// Opens a table someone else makes (on AWS, the template): no call at all, so a
/// Lambda cold start does not wait on `DescribeTable`. A missing table fails the first
/// call that needs it.
pub fn open(sdk: &aws_config::SdkConfig, url: &str) -> Result<Stores, StoreError> {
    Ok(DynamoStore::at(sdk, url)?.into_stores())
}

impl DynamoStore {
    fn at(sdk: &aws_config::SdkConfig, url: &str) -> Result<Self, StoreError> {
        let at = TableUrl::parse(url)?;
        let mut config = aws_sdk_dynamodb::config::Builder::from(sdk);
        if let Some(region) = at.region {
            config = config.region(aws_sdk_dynamodb::config::Region::new(region));
        }
        if let Some(endpoint) = at.endpoint {
            config = config.endpoint_url(endpoint);
        }
        Ok(DynamoStore {
            client: Client::from_conf(config.build()),
            table: at.table,
        })
    }

    pub fn into_stores(self) -> Stores {
        Stores::all_in(self)
    }

    /// Runs `writes` as one transaction. A write refused by its condition is handled as
    /// its `Refused` says; `Ok(Some(i))` names the first write given that reported a
    /// refusal (nothing was written), `Ok(None)` is a commit.
    async fn transact(&self, writes: Vec<Write>) -> Result<Option<usize>, StoreError> {
        let mut writes: Vec<(usize, Write)> = writes.into_iter().enumerate().collect();
        for attempt in 0..TRANSACTION_TRIES {
            if writes.is_empty() {
                return Ok(None);
            }
            if writes.len() > 100 {
                return Err(StoreError::Database(
                    "a transaction of more than 100 writes".into(),
                ));
            }
            let items = writes.iter().map(|(_, w)| w.item.clone()).collect();
            let e = match self
                .client
                .transact_write_items()
                .set_transact_items(Some(items))
                .send()
                .await
            {
                Ok(_) => return Ok(None),
                Err(e) => e,
            };
            let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
                e.as_service_error()
            else {
                return Err(db_err(e));
            };
            let mut dropped = Vec::new();
            let mut busy = false;
            for (i, reason) in cancelled.cancellation_reasons().iter().enumerate() {
                let Some((given, write)) = writes.get(i) else {
                    break;
                };
                match reason.code() {
                    Some("ConditionalCheckFailed") => match &write.refused {
                        Refused::Skip => dropped.push(i),
                        Refused::Conflict => return Err(StoreError::VersionConflict),
                        Refused::Duplicate(what) => {
                            return Err(StoreError::Duplicate((*what).to_owned()));
                        }
                        Refused::Report => return Ok(Some(*given)),
                    },
                    // Another transaction holds the item: on the request's own row that
                    // is a concurrent change, which SQL's row lock would have made a
                    // lost compare-and-set too.
                    Some("TransactionConflict") => match write.refused {
                        Refused::Conflict => return Err(StoreError::VersionConflict),
                        _ => busy = true,
                    },
                    Some("None") | None => {}
                    Some(other) => {
                        return Err(StoreError::Database(
                            format!("transaction cancelled: {other}").into(),
                        ));
                    }
                }
            }
            if dropped.is_empty() && !busy {
                return Err(db_err(e));
            }
            for i in dropped.into_iter().rev() {
                writes.remove(i);
            }
            if busy {
                tokio::time::sleep(Duration::from_millis(10 << attempt.min(5))).await;
            }
        }
        Err(StoreError::Database(
            "a transaction kept meeting concurrent ones".into(),
        ))
    }

    /// Every item of a query, page by page, at most `max`.
    async fn query_all(&self, q: QueryFluentBuilder, max: usize) -> Result<Vec<Item>, StoreError> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let page = q
                .clone()
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(db_err)?;
            out.extend(page.items.unwrap_or_default());
            start = page.last_evaluated_key;
            if start.is_none() || out.len() >= max {
                out.truncate(max);
                return Ok(out);
            }
        }
    }

    /// A query of the table's partition `pk`, its sort keys starting with `prefix` (all
    /// of them if it is empty), strongly consistent.
    fn partition(&self, pk: String, prefix: &str) -> QueryFluentBuilder {
        let q = self
            .client
            .query()
            .table_name(&self.table)
            .consistent_read(true)
            .expression_attribute_values(":pk", item::s(pk));
        // `begins_with` refuses an empty prefix.
        if prefix.is_empty() {
            q.key_condition_expression("pk = :pk")
        } else {
            q.key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":prefix", item::s(prefix))
        }
    }

    /// A query of index `gsi` (`gsi1`, `gsi2`) for the partition `pk`, its sort keys
    /// narrowed by `range` (`< :now`, `BETWEEN :a AND :b`; the caller binds the values).
    fn index(&self, gsi: &str, pk: String, range: Option<&str>) -> QueryFluentBuilder {
        let q = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(gsi)
            .expression_attribute_names("#ipk", format!("{gsi}pk"))
            .expression_attribute_values(":ipk", item::s(pk));
        // DynamoDB refuses a name the expression does not use.
        match range {
            Some(range) => q
                .expression_attribute_names("#isk", format!("{gsi}sk"))
                .key_condition_expression(format!("#ipk = :ipk AND #isk {range}")),
            None => q.key_condition_expression("#ipk = :ipk"),
        }
    }

    async fn get_item(&self, key: Item) -> Result<Option<Item>, StoreError> {
        let got = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(db_err)?;
        Ok(got.item)
    }

    /// An update of the item `key` as `expr` says, under `condition`; `false` when the
    /// condition refused it.
    async fn update(
        &self,
        key: Item,
        expr: &item::Expr,
        condition: &str,
    ) -> Result<bool, StoreError> {
        let sent = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression(expr.update())
            .condition_expression(condition)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .send()
            .await;
        conditional(sent)
    }

    /// A write of a whole item, unless one with its key exists; `false` if one did.
    async fn put_new(&self, item: Item) -> Result<bool, StoreError> {
        let sent = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        conditional(sent)
    }

    /// The transaction write of a whole item, under `condition` if any.
    fn put_write(&self, item: Item, condition: Option<(String, item::Expr)>) -> TransactWriteItem {
        let mut put = aws_sdk_dynamodb::types::Put::builder()
            .table_name(&self.table)
            .set_item(Some(item));
        if let Some((condition, expr)) = condition {
            put = put
                .condition_expression(condition)
                .set_expression_attribute_names(expr.names())
                .set_expression_attribute_values(expr.values());
        }
        TransactWriteItem::builder()
            .put(put.build().expect("table and item are set"))
            .build()
    }

    /// The transaction write of a new item (none with its key may exist).
    fn put_new_write(&self, item: Item) -> TransactWriteItem {
        self.put_write(
            item,
            Some(("attribute_not_exists(pk)".into(), item::Expr::default())),
        )
    }

    /// The transaction write of an update of `key` as `expr` says, under `condition`
    /// unless it is empty.
    fn update_write(&self, key: Item, expr: &item::Expr, condition: &str) -> TransactWriteItem {
        let update = aws_sdk_dynamodb::types::Update::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression(expr.update())
            .set_condition_expression((!condition.is_empty()).then(|| condition.to_owned()))
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .build()
            .expect("table, key and expression are set");
        TransactWriteItem::builder().update(update).build()
    }
}

/// One write of a transaction, and what its condition's refusal means.
pub(super) struct Write {
    item: TransactWriteItem,
    refused: Refused,
}

impl Write {
    fn new(item: TransactWriteItem, refused: Refused) -> Self {
        Write { item, refused }
    }
}

pub(super) enum Refused {
    /// As SQL's `ON CONFLICT DO NOTHING` or an `UPDATE` of no row: the rest goes on.
    Skip,
    /// A compare-and-set lost.
    Conflict,
    /// A unique key is taken.
    Duplicate(&'static str),
    /// The caller decides: nothing is written, and `transact` says which.
    Report,
}

/// The outcome of a conditional single-item write; `false` when its condition refused it.
fn conditional<T, E, R>(sent: Result<T, SdkError<E, R>>) -> Result<bool, StoreError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match sent {
        Ok(_) => Ok(true),
        Err(e) if e.code() == Some("ConditionalCheckFailedException") => Ok(false),
        Err(e) => Err(db_err(e)),
    }
}

fn db_err(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Database(Box::new(e))
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_table_endpoint_and_region_from_the_url() {
        assert_eq!(
            TableUrl::parse(
                "dynamodb://greenlight?endpoint=http://127.0.0.1:5000&region=us-east-1"
            )
            .unwrap(),
            TableUrl {
                table: "greenlight".into(),
                endpoint: Some("http://127.0.0.1:5000".into()),
                region: Some("us-east-1".into()),
            }
        );
        assert_eq!(
            TableUrl::parse("dynamodb://Greenlight-prod.1")
                .unwrap()
                .table,
            "Greenlight-prod.1"
        );
        for bad in [
            "dynamodb://",
            "dynamodb://ab",
            "dynamodb://a/b",
            "dynamodb://table?port=1",
            "postgres://x",
        ] {
            assert!(TableUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn keys_of_different_parts_never_meet() {
        assert_ne!(item::key(&["A", "t#1", "x"]), item::key(&["A", "t", "1#x"]));
        assert_ne!(item::key(&["A", "t%231"]), item::key(&["A", "t#1"]));
    }

    #[test]
    fn timestamps_sort_as_text_in_time_order() {
        let a: chrono::DateTime<chrono::Utc> = "2026-01-01T12:00:00Z".parse().unwrap();
        let b = a + chrono::Duration::nanoseconds(1);
        let c = a + chrono::Duration::days(400);
        assert!(item::ts(a) < item::ts(b) && item::ts(b) < item::ts(c));
        assert!(item::at_then(a, "z") < item::up_to(a));
        assert!(item::up_to(a) < item::at_then(b, "a"));
    }
}
