//! The DynamoDB store: one table, conditional writes for exactly-once naming and fencing.

mod accounts;
mod history;
mod item;
mod lost_answers;
mod schema;
mod slots;
mod spill;
mod tokens;
mod versions;

use std::fmt::Debug;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};

use self::item::{
    GSI1, GSI1_PK, GSI1_SK, Item, PK, SK, exec_from_item, exec_key, exec_to_item, flow_from_item,
    flow_key, flow_to_item, n, s,
};
use super::{
    AliasRecord, Claim, DueExecution, ExecutionFilter, ExecutionRecord, FlowRecord, HistoryRecord,
    Page, Store, StoreError, TokenRecord, VersionRecord,
};

#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

pub use lost_answers::{DEFAULT_MAX_ATTEMPTS, MAX_ATTEMPTS_ENV, retry_config};

/// Turns an SDK error into a store error by its code: a failed condition and throttling are
/// answers, not outages, and must never surface as internal errors.
fn classify<E, R>(err: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: Debug + Send + Sync + 'static,
{
    match err.code() {
        Some("ConditionalCheckFailedException") => StoreError::ConditionFailed,
        Some(
            "ProvisionedThroughputExceededException"
            | "ThrottlingException"
            | "RequestLimitExceeded",
        ) => StoreError::Throttled,
        _ => StoreError::Backend(DisplayErrorContext(err).to_string()),
    }
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> DynamoStore {
        DynamoStore {
            client,
            table: table.into(),
        }
    }

    /// Builds a client from the standard AWS configuration chain (environment, profile, role);
    /// `AWS_ENDPOINT_URL_DYNAMODB` redirects it to a local server.
    pub async fn from_env(table: impl Into<String>) -> DynamoStore {
        let config = crate::aws::sdk_config().await;
        let config = aws_sdk_dynamodb::config::Builder::from(&config)
            .retry_config(retry_config())
            .build();
        DynamoStore::new(Client::from_conf(config), table)
    }

    /// Writes `item` if `condition` holds; `:v` in the condition is bound to `expected`.
    async fn put_if(
        &self,
        item: Item,
        condition: &str,
        expected: Option<u64>,
    ) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .set_expression_attribute_values(expected.map(|v| [(":v".to_owned(), n(v))].into()))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    /// The execution's item, its checkpoint's parts written first when it is too large.
    async fn execution_item(&self, exec: &ExecutionRecord) -> Result<Item, StoreError> {
        let mut item = exec_to_item(exec);
        if let Some(spill) = self.put_checkpoint_parts(exec).await? {
            spill.mark(&mut item);
        }
        Ok(item)
    }

    async fn get(&self, key: Item) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        Ok(out.item)
    }

    /// Items of partition `pk` with sort keys in `[from, to]`, in order, leaving out the one
    /// whose sort key is `skip`; at most `limit`, and whether more follow. A response stops at
    /// 1 MB, so this reads on until one more than asked came or the range ends.
    pub(super) async fn query_sort_range(
        &self,
        pk: AttributeValue,
        from: String,
        to: String,
        skip: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<Item>, bool), StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk AND #sk BETWEEN :from AND :to")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_values(":pk", pk)
            .expression_attribute_values(":from", s(from))
            .expression_attribute_values(":to", s(to))
            .consistent_read(true);
        let mut items = Vec::new();
        let mut start = None;
        while items.len() <= limit {
            let want = limit + 1 + usize::from(skip.is_some()) - items.len();
            let out = query
                .clone()
                .limit(i32::try_from(want).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(classify)?;
            for it in out.items() {
                let skipped = skip.is_some()
                    && matches!(it.get(SK), Some(AttributeValue::S(sk)) if Some(sk.as_str()) == skip);
                if !skipped {
                    items.push(it.clone());
                }
            }
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
        let more = items.len() > limit;
        items.truncate(limit);
        Ok((items, more))
    }

    /// Lists `gsi1` partition `partition` by id after `after` (exclusive), decoding each item.
    pub(super) async fn list_partition<T>(
        &self,
        partition: String,
        limit: usize,
        after: Option<&str>,
        decode: impl Fn(&Item) -> Result<T, StoreError>,
        id: impl Fn(&T) -> String,
    ) -> Result<Page<T>, StoreError> {
        let mut items = Vec::new();
        let mut more = false;
        let from = after.map(|a| (a.to_owned(), true));
        self.query_index(partition, from, |it| {
            if items.len() == limit {
                more = true;
                return Ok(false);
            }
            items.push(decode(it)?);
            Ok(true)
        })
        .await?;
        Ok(Page::new(items, more, id))
    }

    /// Queries `gsi1` partition `partition` in name order from `from` (exclusive when
    /// `exclusive`), handing items to `accept` until it returns false or the partition ends.
    async fn query_index(
        &self,
        partition: String,
        from: Option<(String, bool)>,
        mut accept: impl FnMut(&Item) -> Result<bool, StoreError>,
    ) -> Result<(), StoreError> {
        let mut condition = "#pk = :pk".to_owned();
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(GSI1)
            .expression_attribute_names("#pk", GSI1_PK)
            .expression_attribute_values(":pk", s(partition));
        if let Some((from, exclusive)) = from {
            condition.push_str(if exclusive {
                " AND #sk > :from"
            } else {
                " AND #sk >= :from"
            });
            query = query
                .expression_attribute_names("#sk", GSI1_SK)
                .expression_attribute_values(":from", s(from));
        }
        let query = query.key_condition_expression(condition);
        let mut start = None;
        loop {
            let out = query
                .clone()
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(classify)?;
            for item in out.items() {
                if !accept(item)? {
                    return Ok(());
                }
            }
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(()),
            }
        }
    }
}

#[async_trait]
impl Store for DynamoStore {
    async fn create_flow(&self, flow: &FlowRecord) -> Result<(), StoreError> {
        match self
            .put_if(flow_to_item(flow), "attribute_not_exists(pk)", None)
            .await
        {
            Err(StoreError::ConditionFailed) if self.holds_flow(flow).await? => Ok(()),
            other => other,
        }
    }

    async fn replace_flow(
        &self,
        flow: &FlowRecord,
        expected_revision: u64,
    ) -> Result<(), StoreError> {
        self.update_flow(flow, expected_revision).await
    }

    async fn get_flow(&self, name: &str) -> Result<Option<FlowRecord>, StoreError> {
        self.get(flow_key(name))
            .await?
            .as_ref()
            .map(flow_from_item)
            .transpose()
    }

    async fn delete_flow(&self, name: &str) -> Result<bool, StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(flow_key(name)))
            .condition_expression("attribute_exists(pk)")
            .send()
            .await;
        match result.map_err(classify) {
            Ok(_) => {
                self.remove_flow_children(name).await?;
                Ok(true)
            }
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn list_flows(
        &self,
        limit: usize,
        after: Option<&str>,
    ) -> Result<Page<FlowRecord>, StoreError> {
        self.list_partition(
            item::FLOWS_PARTITION.to_owned(),
            limit,
            after,
            flow_from_item,
            |f| f.name.clone(),
        )
        .await
    }

    async fn claim_execution(&self, exec: &ExecutionRecord) -> Result<Claim, StoreError> {
        let item = self.execution_item(exec).await?;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            // The holder of the name comes back with the failure: no second round trip.
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let err = match result {
            Ok(_) => return Ok(Claim::Created),
            Err(err) => err,
        };
        if let Some(PutItemError::ConditionalCheckFailedException(failed)) = err.as_service_error()
        {
            let holder = match failed.item() {
                Some(old) => self.exec_with_checkpoint(old).await?,
                // Servers without ReturnValuesOnConditionCheckFailure: read the holder.
                None => match self.get(exec_key(&exec.flow, &exec.name)).await? {
                    Some(old) => self.exec_with_checkpoint(&old).await?,
                    None => return Err(StoreError::Backend("claimed execution vanished".into())),
                },
            };
            // A retry of this very claim, whose first try was applied and its answer lost (the
            // lease owner is new for every StartExecution, so nobody else's claim is equal).
            if holder == *exec {
                return Ok(Claim::Created);
            }
            return Ok(Claim::Existing(Box::new(holder)));
        }
        Err(classify(err))
    }

    async fn update_execution(
        &self,
        exec: &ExecutionRecord,
        expected_version: u64,
    ) -> Result<(), StoreError> {
        let item = self.execution_item(exec).await?;
        match self
            .put_if(item, "version = :v", Some(expected_version))
            .await
        {
            Err(StoreError::ConditionFailed) if self.holds_execution(exec).await? => Ok(()),
            other => other,
        }
    }

    async fn get_execution(
        &self,
        flow: &str,
        name: &str,
    ) -> Result<Option<ExecutionRecord>, StoreError> {
        match self.get(exec_key(flow, name)).await? {
            Some(item) => Ok(Some(self.exec_with_checkpoint(&item).await?)),
            None => Ok(None),
        }
    }

    async fn make_due(
        &self,
        flow: &str,
        name: &str,
        expected_version: u64,
        due_ms: i64,
    ) -> Result<(), StoreError> {
        // One UpdateItem: the item's other attributes (and a checkpoint's parts) stay as they are.
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(exec_key(flow, name)))
            .update_expression("SET #version = :next, #due = :due, #shard = :shard")
            .condition_expression("#version = :v")
            .expression_attribute_names("#version", "version")
            .expression_attribute_names("#due", item::DUE_MS)
            .expression_attribute_names("#shard", item::DUE_SHARD)
            .expression_attribute_values(":v", n(expected_version))
            .expression_attribute_values(":next", n(expected_version + 1))
            .expression_attribute_values(":due", n(due_ms))
            .expression_attribute_values(":shard", s(item::due_shard(flow, name)))
            .send()
            .await
            .map_err(classify);
        match result {
            Err(StoreError::ConditionFailed)
                if self
                    .made_due(flow, name, expected_version + 1, due_ms)
                    .await? =>
            {
                Ok(())
            }
            other => other.map(drop),
        }
    }

    async fn view_execution(
        &self,
        flow: &str,
        name: &str,
    ) -> Result<Option<ExecutionRecord>, StoreError> {
        // One read: a checkpoint kept in parts is left where it is.
        self.get(exec_key(flow, name))
            .await?
            .as_ref()
            .map(exec_from_item)
            .transpose()
    }

    async fn list_executions(
        &self,
        flow: &str,
        filter: &ExecutionFilter,
        limit: usize,
        after: Option<&str>,
    ) -> Result<Page<ExecutionRecord>, StoreError> {
        let prefix = filter.name_prefix.clone().unwrap_or_default();
        let from = match after {
            Some(a) if a >= prefix.as_str() => Some((a.to_owned(), true)),
            _ if !prefix.is_empty() => Some((prefix.clone(), false)),
            _ => None,
        };
        let mut items = Vec::new();
        let mut more = false;
        self.query_index(item::execs_partition(flow), from, |it| {
            let exec = exec_from_item(it)?;
            if !exec.name.starts_with(&prefix) {
                return Ok(false); // names are sorted: past the prefix, nothing more matches
            }
            if filter.matches(&exec) {
                if items.len() == limit {
                    more = true;
                    return Ok(false);
                }
                items.push(exec.summary());
            }
            Ok(true)
        })
        .await?;
        Ok(Page::new(items, more, |e| e.name.clone()))
    }

    async fn put_history(
        &self,
        flow: &str,
        name: &str,
        events: &[HistoryRecord],
    ) -> Result<(), StoreError> {
        self.history_put(flow, name, events).await
    }

    async fn list_history(
        &self,
        flow: &str,
        name: &str,
        limit: usize,
        after: Option<u64>,
    ) -> Result<Page<HistoryRecord>, StoreError> {
        self.history_list(flow, name, limit, after).await
    }

    async fn list_due(&self, now_ms: i64, limit: usize) -> Result<Vec<DueExecution>, StoreError> {
        let mut found = Vec::new();
        for shard in 0..item::DUE_SHARDS {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(item::GSI2)
                .key_condition_expression("#shard = :shard AND #due <= :now")
                .expression_attribute_names("#shard", item::DUE_SHARD)
                .expression_attribute_names("#due", item::DUE_MS)
                .expression_attribute_values(":shard", s(format!("DUE#{shard}")))
                .expression_attribute_values(":now", n(now_ms))
                .limit(i32::try_from(limit).unwrap_or(i32::MAX))
                .send()
                .await
                .map_err(classify)?;
            for it in out.items() {
                found.push(item::due_from_item(it)?);
            }
        }
        found.sort_by_key(|d| d.due_ms);
        found.truncate(limit);
        Ok(found)
    }

    async fn publish_version(
        &self,
        flow: &str,
        description: &str,
        created_ms: i64,
    ) -> Result<Option<VersionRecord>, StoreError> {
        self.versions_publish(flow, description, created_ms).await
    }

    async fn get_version(
        &self,
        flow: &str,
        version: u64,
    ) -> Result<Option<VersionRecord>, StoreError> {
        self.versions_get(flow, version).await
    }

    async fn list_versions(
        &self,
        flow: &str,
        limit: usize,
        after: Option<u64>,
    ) -> Result<Page<VersionRecord>, StoreError> {
        self.versions_list(flow, limit, after).await
    }

    async fn delete_version(&self, flow: &str, version: u64) -> Result<bool, StoreError> {
        self.versions_delete(flow, version).await
    }

    async fn create_alias(&self, alias: &AliasRecord) -> Result<(), StoreError> {
        self.aliases_create(alias).await
    }

    async fn replace_alias(
        &self,
        alias: &AliasRecord,
        expected_revision: u64,
    ) -> Result<(), StoreError> {
        self.aliases_replace(alias, expected_revision).await
    }

    async fn get_alias(&self, flow: &str, name: &str) -> Result<Option<AliasRecord>, StoreError> {
        self.aliases_get(flow, name).await
    }

    async fn delete_alias(&self, flow: &str, name: &str) -> Result<bool, StoreError> {
        self.aliases_delete(flow, name).await
    }

    async fn list_aliases(
        &self,
        flow: &str,
        limit: usize,
        after: Option<&str>,
    ) -> Result<Page<AliasRecord>, StoreError> {
        self.aliases_list(flow, limit, after).await
    }

    async fn put_token(&self, token: &TokenRecord) -> Result<(), StoreError> {
        self.token_put(token).await
    }

    async fn get_token(&self, token: &str) -> Result<Option<TokenRecord>, StoreError> {
        self.token_get(token).await
    }

    async fn complete_token(
        &self,
        token: &str,
        flow: &str,
        result: &str,
        completed_ms: i64,
    ) -> Result<(), StoreError> {
        self.token_complete(token, flow, result, completed_ms).await
    }
}
