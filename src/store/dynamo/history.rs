//! History events in DynamoDB: one item per event under the execution's partition,
//! `EVENT#<id, zero-padded>`, written with BatchWriteItem (25 a call, several calls at once).
//! An ended execution's last events may be in its own item instead (`events`, see `item.rs`);
//! `Store::execution_history` merges the two.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};

use super::item::{self, Item, event_from_item, event_sort_key, event_to_item};
use super::{DynamoStore, classify};
use crate::store::{HistoryRecord, Page, StoreError};

impl DynamoStore {
    pub(super) async fn history_put(
        &self,
        flow: &str,
        name: &str,
        events: &[HistoryRecord],
    ) -> Result<(), StoreError> {
        let items = events.iter().map(|e| event_to_item(flow, name, e));
        self.put_items(items.collect()).await
    }

    /// Puts `items` with BatchWriteItem: 25 a call, several calls at once.
    pub(super) async fn put_items(&self, items: Vec<Item>) -> Result<(), StoreError> {
        let mut items = items.into_iter().peekable();
        let mut batches = tokio::task::JoinSet::new();
        while items.peek().is_some() {
            let requests: Vec<WriteRequest> = items
                .by_ref()
                .take(BATCH_ITEMS)
                .map(|item| {
                    let put = PutRequest::builder()
                        .set_item(Some(item))
                        .build()
                        .map_err(|err| StoreError::Backend(err.to_string()))?;
                    Ok(WriteRequest::builder().put_request(put).build())
                })
                .collect::<Result<_, StoreError>>()?;
            if batches.len() >= BATCHES_IN_FLIGHT {
                join_one(&mut batches).await?;
            }
            batches.spawn(write_batch(
                self.client.clone(),
                self.table.clone(),
                requests,
            ));
        }
        while !batches.is_empty() {
            join_one(&mut batches).await?;
        }
        Ok(())
    }

    pub(super) async fn history_list(
        &self,
        flow: &str,
        name: &str,
        limit: usize,
        after: Option<u64>,
    ) -> Result<Page<HistoryRecord>, StoreError> {
        let from = event_sort_key(after.map_or(0, |a| a.saturating_add(1)));
        let pk = item::exec_pk(flow, name);
        let (items, more) = self
            .query_sort_range(pk, from, event_sort_key(u64::MAX), None, limit)
            .await?;
        let items = items
            .iter()
            .map(event_from_item)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::new(items, more, |e| e.id.to_string()))
    }
}

/// Rounds of BatchWriteItem for one chunk before giving up as throttled.
const MAX_BATCH_ROUNDS: u32 = 6;
/// BatchWriteItem's limit on items per call.
const BATCH_ITEMS: usize = 25;
/// Batches written concurrently.
const BATCHES_IN_FLIGHT: usize = 8;

async fn join_one(
    batches: &mut tokio::task::JoinSet<Result<(), StoreError>>,
) -> Result<(), StoreError> {
    match batches.join_next().await {
        Some(Ok(result)) => result,
        Some(Err(e)) => Err(StoreError::Backend(e.to_string())),
        None => Ok(()),
    }
}

/// Writes one batch, sending again what DynamoDB leaves unprocessed (with backoff).
pub(super) async fn write_batch(
    client: Client,
    table: String,
    mut pending: Vec<WriteRequest>,
) -> Result<(), StoreError> {
    for round in 0..MAX_BATCH_ROUNDS {
        let out = client
            .batch_write_item()
            .request_items(&table, pending)
            .send()
            .await
            .map_err(classify)?;
        pending = out
            .unprocessed_items
            .and_then(|mut left| left.remove(&table))
            .unwrap_or_default();
        if pending.is_empty() {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(20 << round)).await;
    }
    Err(StoreError::Throttled)
}
