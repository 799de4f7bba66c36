//! Versions and aliases in DynamoDB, under their flow's partition: `FLOW#<flow>` with sort keys
//! `VERSION#<n, 20 digits>` and `ALIAS#<name>` (no `gsi1` attributes: flow listings skip them).
//! The flow item carries `last_version`, bumped by one atomic `ADD`, so concurrent publishes
//! never share a number. Each version item counts the aliases routing to it (`alias_refs`),
//! moved in the same transaction as the alias, so deleting a routed version is refused by the
//! delete's own condition.

use std::collections::BTreeSet;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    Delete, DeleteRequest, Put, ReturnValue, TransactWriteItem, Update, WriteRequest,
};

use super::history::write_batch;
use super::item::{Item, PK, Reader, SK, flow_from_item, flow_key, flow_to_item, n, s};
use super::{DynamoStore, classify};
use crate::store::{AliasRecord, FlowRecord, Page, Route, StoreError, VersionRecord};

const LAST_VERSION: &str = "last_version";
const ALIAS_REFS: &str = "alias_refs";

fn version_sort_key(version: u64) -> String {
    format!("VERSION#{version:020}")
}

fn alias_sort_key(name: &str) -> String {
    format!("ALIAS#{name}")
}

fn child_key(flow: &str, sort_key: String) -> Item {
    let mut key = flow_key(flow);
    key.insert(SK.into(), s(sort_key));
    key
}

fn version_to_item(v: &VersionRecord) -> Item {
    let mut item = child_key(&v.flow, version_sort_key(v.version));
    item.extend([
        ("flow".into(), s(&v.flow)),
        ("version".into(), n(v.version)),
        ("definition".into(), s(&v.definition)),
        ("type".into(), s(&v.flow_type)),
        ("description".into(), s(&v.description)),
        ("created_ms".into(), n(v.created_ms)),
    ]);
    item
}

fn version_from_item(item: &Item) -> Result<VersionRecord, StoreError> {
    let r = Reader(item);
    Ok(VersionRecord {
        flow: r.s("flow")?,
        version: r.n("version")?,
        definition: r.s("definition")?,
        flow_type: r.s("type")?,
        description: r.s("description")?,
        created_ms: r.n("created_ms")?,
    })
}

fn alias_to_item(a: &AliasRecord) -> Result<Item, StoreError> {
    let routes =
        serde_json::to_string(&a.routes).map_err(|e| StoreError::Backend(e.to_string()))?;
    let mut item = child_key(&a.flow, alias_sort_key(&a.name));
    item.extend([
        ("flow".into(), s(&a.flow)),
        ("name".into(), s(&a.name)),
        ("description".into(), s(&a.description)),
        ("routes".into(), s(routes)),
        ("created_ms".into(), n(a.created_ms)),
        ("modified_ms".into(), n(a.modified_ms)),
        ("revision".into(), n(a.revision)),
    ]);
    Ok(item)
}

fn alias_from_item(item: &Item) -> Result<AliasRecord, StoreError> {
    let r = Reader(item);
    let routes: Vec<Route> = serde_json::from_str(&r.s("routes")?)
        .map_err(|e| StoreError::Corrupt(format!("alias routes: {e}")))?;
    Ok(AliasRecord {
        flow: r.s("flow")?,
        name: r.s("name")?,
        description: r.s("description")?,
        routes,
        created_ms: r.n("created_ms")?,
        modified_ms: r.n("modified_ms")?,
        revision: r.n("revision")?,
    })
}

fn build_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// A failed transaction: a failed condition is an answer; a conflict with another transaction
/// on the same items is for the caller to retry later.
fn classify_transaction<R>(err: SdkError<TransactWriteItemsError, R>) -> StoreError
where
    R: std::fmt::Debug + Send + Sync + 'static,
{
    if let Some(TransactWriteItemsError::TransactionCanceledException(e)) = err.as_service_error() {
        let codes: Vec<_> = e.cancellation_reasons().iter().map(|r| r.code()).collect();
        if codes.contains(&Some("ConditionalCheckFailed")) {
            return StoreError::ConditionFailed;
        }
        if codes.contains(&Some("TransactionConflict")) {
            return StoreError::Throttled;
        }
    }
    classify(err)
}

/// The change of `alias_refs` on one version, conditional on the version existing.
fn refs_update(
    table: &str,
    flow: &str,
    version: u64,
    delta: i64,
) -> Result<TransactWriteItem, StoreError> {
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(child_key(flow, version_sort_key(version))))
        .update_expression("ADD #refs :d")
        .condition_expression("attribute_exists(pk)")
        .expression_attribute_names("#refs", ALIAS_REFS)
        .expression_attribute_values(":d", n(delta))
        .build()
        .map_err(build_err)?;
    Ok(TransactWriteItem::builder().update(update).build())
}

fn versions_of(alias: Option<&AliasRecord>) -> BTreeSet<u64> {
    alias
        .map(|a| a.routes.iter().map(|r| r.version).collect())
        .unwrap_or_default()
}

impl DynamoStore {
    /// Replaces a flow's fields if its revision is `expected_revision`.
    pub(super) async fn update_flow(
        &self,
        flow: &FlowRecord,
        expected_revision: u64,
    ) -> Result<(), StoreError> {
        // An update, not a put: the flow item also carries `last_version`, which a put of
        // the record would wipe.
        let mut item = flow_to_item(flow);
        let key = flow_key(&flow.name);
        item.retain(|k, _| !key.contains_key(k));
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .condition_expression("#revision = :v")
            .expression_attribute_names("#revision", "revision")
            .expression_attribute_values(":v", n(expected_revision));
        let mut sets = Vec::with_capacity(item.len());
        for (i, (name, value)) in item.into_iter().enumerate() {
            sets.push(format!("#a{i} = :a{i}"));
            update = update
                .expression_attribute_names(format!("#a{i}"), name)
                .expression_attribute_values(format!(":a{i}"), value);
        }
        update
            .update_expression(format!("SET {}", sets.join(", ")))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }
    async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<(), StoreError> {
        self.client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map_err(classify_transaction)?;
        Ok(())
    }

    /// The reference-count moves from `old`'s routes to `new`'s, for one transaction.
    fn refs_moves(
        &self,
        flow: &str,
        old: Option<&AliasRecord>,
        new: Option<&AliasRecord>,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let (before, after) = (versions_of(old), versions_of(new));
        let added = after.difference(&before).map(|v| (*v, 1));
        let removed = before.difference(&after).map(|v| (*v, -1));
        added
            .chain(removed)
            .map(|(v, d)| refs_update(&self.table, flow, v, d))
            .collect()
    }

    /// Items of partition `FLOW#<flow>` with sort keys in `[from, to]`, skipping `skip`,
    /// at most `limit`; tells whether more follow.
    async fn query_children(
        &self,
        flow: &str,
        from: String,
        to: String,
        skip: Option<String>,
        limit: usize,
    ) -> Result<(Vec<Item>, bool), StoreError> {
        let pk = flow_key(flow)
            .remove(PK)
            .ok_or_else(|| build_err("no key"))?;
        self.query_sort_range(pk, from, to, skip.as_deref(), limit)
            .await
    }

    /// Deletes every version and alias of a flow (after the flow item itself).
    pub(super) async fn remove_flow_children(&self, flow: &str) -> Result<(), StoreError> {
        loop {
            let (items, more) = self
                .query_children(flow, "A".into(), "Z".into(), Some("FLOW".into()), 25)
                .await?;
            let requests = items
                .iter()
                .map(|it| {
                    let key = [PK, SK]
                        .iter()
                        .filter_map(|k| Some(((*k).to_owned(), it.get(*k)?.clone())))
                        .collect();
                    let delete = DeleteRequest::builder()
                        .set_key(Some(key))
                        .build()
                        .map_err(build_err)?;
                    Ok(WriteRequest::builder().delete_request(delete).build())
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            if !requests.is_empty() {
                write_batch(self.client.clone(), self.table.clone(), requests).await?;
            }
            if !more {
                return Ok(());
            }
        }
    }

    pub(super) async fn versions_publish(
        &self,
        flow: &str,
        description: &str,
        created_ms: i64,
    ) -> Result<Option<VersionRecord>, StoreError> {
        // The bump answers the flow as it is at that instant: the definition frozen is the one
        // current when the number was taken.
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(flow_key(flow)))
            .update_expression("ADD #last :one")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#last", LAST_VERSION)
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(classify);
        let out = match result {
            Ok(out) => out,
            Err(StoreError::ConditionFailed) => return Ok(None),
            Err(e) => return Err(e),
        };
        let item = out.attributes.unwrap_or_default();
        let found = flow_from_item(&item)?;
        let record = VersionRecord {
            flow: flow.to_owned(),
            version: Reader(&item).n(LAST_VERSION)?,
            definition: found.definition,
            flow_type: found.flow_type,
            description: description.to_owned(),
            created_ms,
        };
        // The number is this call's alone; an item already there can only be left over from
        // an earlier flow of the same name, and is replaced.
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(version_to_item(&record)))
            .send()
            .await
            .map_err(classify)?;
        Ok(Some(record))
    }

    pub(super) async fn versions_get(
        &self,
        flow: &str,
        version: u64,
    ) -> Result<Option<VersionRecord>, StoreError> {
        self.get(child_key(flow, version_sort_key(version)))
            .await?
            .as_ref()
            .map(version_from_item)
            .transpose()
    }

    pub(super) async fn versions_list(
        &self,
        flow: &str,
        limit: usize,
        after: Option<u64>,
    ) -> Result<Page<VersionRecord>, StoreError> {
        let from = version_sort_key(after.map_or(0, |a| a.saturating_add(1)));
        let (items, more) = self
            .query_children(flow, from, version_sort_key(u64::MAX), None, limit)
            .await?;
        let items = items
            .iter()
            .map(version_from_item)
            .collect::<Result<_, _>>()?;
        Ok(Page::new(items, more, |v| v.version.to_string()))
    }

    pub(super) async fn versions_delete(
        &self,
        flow: &str,
        version: u64,
    ) -> Result<bool, StoreError> {
        let key = child_key(flow, version_sort_key(version));
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key.clone()))
            .condition_expression(
                "attribute_exists(pk) AND (attribute_not_exists(#refs) OR #refs <= :zero)",
            )
            .expression_attribute_names("#refs", ALIAS_REFS)
            .expression_attribute_values(":zero", n(0))
            .send()
            .await
            .map_err(classify);
        match result {
            Ok(_) => Ok(true),
            // Missing, or an alias routes to it: which one, a read tells.
            Err(StoreError::ConditionFailed) => match self.get(key).await? {
                Some(_) => Err(StoreError::ConditionFailed),
                None => Ok(false),
            },
            Err(e) => Err(e),
        }
    }

    pub(super) async fn aliases_create(&self, alias: &AliasRecord) -> Result<(), StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(alias_to_item(alias)?))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(build_err)?;
        let mut items = vec![TransactWriteItem::builder().put(put).build()];
        items.extend(self.refs_moves(&alias.flow, None, Some(alias))?);
        self.transact(items).await
    }

    pub(super) async fn aliases_replace(
        &self,
        alias: &AliasRecord,
        expected_revision: u64,
    ) -> Result<(), StoreError> {
        let old = self
            .aliases_get(&alias.flow, &alias.name)
            .await?
            .filter(|old| old.revision == expected_revision)
            .ok_or(StoreError::ConditionFailed)?;
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(alias_to_item(alias)?))
            .condition_expression("revision = :v")
            .expression_attribute_values(":v", n(expected_revision))
            .build()
            .map_err(build_err)?;
        let mut items = vec![TransactWriteItem::builder().put(put).build()];
        items.extend(self.refs_moves(&alias.flow, Some(&old), Some(alias))?);
        self.transact(items).await
    }

    pub(super) async fn aliases_get(
        &self,
        flow: &str,
        name: &str,
    ) -> Result<Option<AliasRecord>, StoreError> {
        self.get(child_key(flow, alias_sort_key(name)))
            .await?
            .as_ref()
            .map(alias_from_item)
            .transpose()
    }

    pub(super) async fn aliases_delete(&self, flow: &str, name: &str) -> Result<bool, StoreError> {
        // Conditional on the revision read, so the counts moved are the routes deleted;
        // a concurrent update makes us read again.
        for _ in 0..5 {
            let Some(old) = self.aliases_get(flow, name).await? else {
                return Ok(false);
            };
            let delete = Delete::builder()
                .table_name(&self.table)
                .set_key(Some(child_key(flow, alias_sort_key(name))))
                .condition_expression("revision = :v")
                .expression_attribute_values(":v", n(old.revision))
                .build()
                .map_err(build_err)?;
            let mut items = vec![TransactWriteItem::builder().delete(delete).build()];
            items.extend(self.refs_moves(flow, Some(&old), None)?);
            match self.transact(items).await {
                Ok(()) => return Ok(true),
                Err(StoreError::ConditionFailed) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Throttled)
    }

    pub(super) async fn aliases_list(
        &self,
        flow: &str,
        limit: usize,
        after: Option<&str>,
    ) -> Result<Page<AliasRecord>, StoreError> {
        // `$` follows `#`: the end of the alias range. The start is inclusive, so the item
        // of `after` itself is skipped.
        let from = alias_sort_key(after.unwrap_or(""));
        let skip = after.map(alias_sort_key);
        let (items, more) = self
            .query_children(flow, from, "ALIAS$".into(), skip, limit)
            .await?;
        let items = items
            .iter()
            .map(alias_from_item)
            .collect::<Result<_, _>>()?;
        Ok(Page::new(items, more, |a| a.name.clone()))
    }
}
