//! History events in DynamoDB: one item per event under the execution's partition,
//! `EVENT#<id, zero-padded>`, written with BatchWriteItem (25 a call, several calls at once).
//! An ended execution's last events may be in its own item instead (`events`, see `item.rs`);
//! `Store::execution_history` merges the two.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};

use super::item::{self, PK, event_from_item, event_sort_key, event_to_item};
use super::{DynamoStore, classify};
use crate::store::{HistoryRecord, Page, StoreError};

impl DynamoStore {
    pub(super) async fn history_put(
        &self,
        flow: &str,
        name: &str,
        events: &[HistoryRecord],
    ) -> Result<(), StoreError> {
        // BatchWriteItem takes 25 items at a time; several batches fly at once.
        let mut batches = tokio::task::JoinSet::new();
        for chunk in events.chunks(25) {
            let requests: Vec<WriteRequest> = chunk
                .iter()
                .map(|e| {
                    let put = PutRequest::builder()
                        .set_item(Some(event_to_item(flow, name, e)))
                        .build()
                        .map_err(|err| StoreError::Backend(err.to_string()))?;
                    Ok(WriteRequest::builder().put_request(put).build())
                })
                .collect::<Result<_, StoreError>>()?;
            if batches.len() >= HISTORY_BATCHES_IN_FLIGHT {
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
        let key = item::exec_key(flow, name);
        let pk = key
            .get(PK)
            .cloned()
            .ok_or_else(|| StoreError::Backend("no key".into()))?;
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
/// History batches written concurrently.
const HISTORY_BATCHES_IN_FLIGHT: usize = 8;

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
