//! The table itself, made when missing: keys `pk`/`sk`, indexes `gsi1` and `gsi2`,
//! on-demand billing, a stream of new images (the outbox relay on AWS), TTL on `ttl`.

use std::time::Duration;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType, TableStatus,
    TimeToLiveSpecification,
};

use super::{DynamoStore, db_err};
use crate::ports::StoreError;

/// How long a new table may take to become active.
const CREATE_WAIT: Duration = Duration::from_secs(120);

fn key(name: &str, kind: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .expect("name and type are set")
}

fn text(name: &str) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .expect("name and type are set")
}

fn index(name: &str) -> GlobalSecondaryIndex {
    GlobalSecondaryIndex::builder()
        .index_name(name)
        .key_schema(key(&format!("{name}pk"), KeyType::Hash))
        .key_schema(key(&format!("{name}sk"), KeyType::Range))
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .build()
        .expect("name, keys and projection are set")
}

impl DynamoStore {
    /// Makes the table unless it exists, and waits until it is active. Its maker turns
    /// TTL on once it is (DynamoDB refuses that while the table is being made).
    pub(super) async fn ensure_table(&self) -> Result<(), StoreError> {
        let made = match self.table_status().await? {
            Some(TableStatus::Active) => return Ok(()),
            Some(_) => false,
            None => self.create_table().await?,
        };
        let start = std::time::Instant::now();
        while self.table_status().await? != Some(TableStatus::Active) {
            if start.elapsed() > CREATE_WAIT {
                return Err(StoreError::Database(
                    format!("table {} did not become active", self.table).into(),
                ));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        if made {
            self.enable_ttl().await?;
        }
        Ok(())
    }

    async fn table_status(&self) -> Result<Option<TableStatus>, StoreError> {
        match self
            .client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
        {
            Ok(d) => Ok(d.table.and_then(|t| t.table_status)),
            Err(e) if e.code() == Some("ResourceNotFoundException") => Ok(None),
            Err(e) => Err(db_err(e)),
        }
    }

    /// `true` if this call made it, `false` if another process did first.
    async fn create_table(&self) -> Result<bool, StoreError> {
        let created = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key("pk", KeyType::Hash))
            .key_schema(key("sk", KeyType::Range))
            .set_attribute_definitions(Some(
                ["pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk"]
                    .map(text)
                    .to_vec(),
            ))
            .global_secondary_indexes(index("gsi1"))
            .global_secondary_indexes(index("gsi2"))
            .stream_specification(
                StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(StreamViewType::NewImage)
                    .build()
                    .expect("enabled is set"),
            )
            .send()
            .await;
        match created {
            Ok(_) => Ok(true),
            Err(e) if e.code() == Some("ResourceInUseException") => Ok(false),
            Err(e) => Err(db_err(e)),
        }
    }

    async fn enable_ttl(&self) -> Result<(), StoreError> {
        self.client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .enabled(true)
                    .attribute_name("ttl")
                    .build()
                    .expect("enabled and name are set"),
            )
            .send()
            .await
            .map_err(db_err)?;
        Ok(())
    }
}
