//! The table's layout, as `template.yaml` deploys it: created here for local servers (moto)
//! and tests, so both describe one schema.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};

use super::item::{self, GSI1, GSI1_PK, GSI1_PROJECTED, GSI1_SK, PK, SK};
use super::{DynamoStore, classify};
use crate::store::StoreError;

impl DynamoStore {
    /// Creates the table with the layout `template.yaml` deploys (for local servers and tests).
    pub async fn create_table(&self) -> Result<(), StoreError> {
        let attr = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(|e| StoreError::Backend(e.to_string()))
        };
        let key = |name: &str, kind| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .map_err(|e| StoreError::Backend(e.to_string()))
        };
        let projection = Projection::builder()
            .projection_type(ProjectionType::Include)
            .set_non_key_attributes(Some(GSI1_PROJECTED.iter().map(|a| a.to_string()).collect()))
            .build();
        let gsi = GlobalSecondaryIndex::builder()
            .index_name(GSI1)
            .key_schema(key(GSI1_PK, KeyType::Hash)?)
            .key_schema(key(GSI1_SK, KeyType::Range)?)
            .projection(projection)
            .build()
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        let due_projection = Projection::builder()
            .projection_type(ProjectionType::Include)
            .set_non_key_attributes(Some(
                item::GSI2_PROJECTED.iter().map(|a| a.to_string()).collect(),
            ))
            .build();
        let due_index = GlobalSecondaryIndex::builder()
            .index_name(item::GSI2)
            .key_schema(key(item::DUE_SHARD, KeyType::Hash)?)
            .key_schema(key(item::DUE_MS, KeyType::Range)?)
            .projection(due_projection)
            .build()
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        self.client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attr(PK)?)
            .attribute_definitions(attr(SK)?)
            .attribute_definitions(attr(GSI1_PK)?)
            .attribute_definitions(attr(GSI1_SK)?)
            .attribute_definitions(attr(item::DUE_SHARD)?)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(item::DUE_MS)
                    .attribute_type(ScalarAttributeType::N)
                    .build()
                    .map_err(|e| StoreError::Backend(e.to_string()))?,
            )
            .key_schema(key(PK, KeyType::Hash)?)
            .key_schema(key(SK, KeyType::Range)?)
            .global_secondary_indexes(gsi)
            .global_secondary_indexes(due_index)
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }
}
