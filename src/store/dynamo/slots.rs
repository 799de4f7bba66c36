//! Running-execution slots in DynamoDB: one item per account, `SLOTS#<account>`/`SLOTS`, whose
//! `holders` is a String Set of the holders (running executions) that have a slot. No `gsi1`
//! or due attributes, so no listing or sweep ever sees it.
//!
//! Taking a slot is one conditional `ADD` to the set, releasing one an unconditional `DELETE`
//! from it. DynamoDB removes the attribute when its set becomes empty (and an `UpdateItem` on
//! a missing item creates it with its key alone): an item without `holders` has no slots
//! taken, and every call reads it so.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::item::{Item, PK, SK, n, s};
use super::{DynamoStore, classify};
use crate::store::StoreError;

const SLOTS_PREFIX: &str = "SLOTS#";
const SLOTS_SORT_KEY: &str = "SLOTS";
const HOLDERS: &str = "holders";

fn slots_key(account: &str) -> Item {
    HashMap::from([
        (PK.into(), s(format!("{SLOTS_PREFIX}{account}"))),
        (SK.into(), s(SLOTS_SORT_KEY)),
    ])
}

/// The set of one holder, as `ADD` and `DELETE` take it.
fn one_holder(holder: &str) -> AttributeValue {
    AttributeValue::Ss(vec![holder.to_owned()])
}

/// The condition of taking a slot: the holder has one already, or fewer than `limit` are
/// taken. `size()` of a missing attribute is no number (DynamoDB takes the comparison as
/// false; moto fails the request with a 500), hence `attribute_not_exists` first: moto
/// evaluates `OR` left to right and stops at the first true. With `limit` 0 only a present
/// holder passes.
fn acquire_condition(limit: u32) -> &'static str {
    if limit == 0 {
        "contains(#holders, :holder)"
    } else {
        "attribute_not_exists(#holders) OR contains(#holders, :holder) OR size(#holders) < :limit"
    }
}

impl DynamoStore {
    /// One conditional UpdateItem: `ADD` the holder to the set if it is in it already (a set
    /// holds each value once, so that changes nothing) or the set has fewer than `limit`.
    pub(super) async fn slots_acquire(
        &self,
        account: &str,
        holder: &str,
        limit: u32,
    ) -> Result<(), StoreError> {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(slots_key(account)))
            .update_expression("ADD #holders :h")
            .condition_expression(acquire_condition(limit))
            .expression_attribute_names("#holders", HOLDERS)
            .expression_attribute_values(":h", one_holder(holder))
            .expression_attribute_values(":holder", s(holder));
        // DynamoDB refuses values the expression does not use.
        if limit > 0 {
            update = update.expression_attribute_values(":limit", n(limit));
        }
        update.send().await.map_err(classify)?;
        Ok(())
    }

    /// One unconditional UpdateItem: `DELETE` the holder from the set. A holder not in it, a
    /// missing attribute or a missing item are all fine (the last leaves the key-only item).
    pub(super) async fn slots_release(
        &self,
        account: &str,
        holder: &str,
    ) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(slots_key(account)))
            .update_expression("DELETE #holders :h")
            .expression_attribute_names("#holders", HOLDERS)
            .expression_attribute_values(":h", one_holder(holder))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    /// A strongly consistent read of the set's size; 0 without an item or a set.
    pub(super) async fn slots_count(&self, account: &str) -> Result<u32, StoreError> {
        let Some(item) = self.get(slots_key(account)).await? else {
            return Ok(0);
        };
        match item.get(HOLDERS) {
            None | Some(AttributeValue::Null(_)) => Ok(0),
            Some(AttributeValue::Ss(holders)) => {
                Ok(u32::try_from(holders.len()).unwrap_or(u32::MAX))
            }
            Some(_) => Err(StoreError::Corrupt(format!(
                "slots of {account:?}: {HOLDERS} is not a string set"
            ))),
        }
    }
}
