//! Versions and aliases in the embedded store. Each write is one serialized transaction, so
//! numbering a version, and checking the versions an alias routes to, are atomic.

use redb::{ReadableTable, TableDefinition, WriteTransaction};

use super::{EmbeddedStore, FLOWS, backend, begin_write, decode, encode, successor};
use crate::store::{AliasRecord, FlowRecord, Page, StoreError, VersionRecord};

/// "flow/<version, 20 digits>" -> VersionRecord (JSON).
pub(super) const VERSIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("versions");
/// "flow/alias" -> AliasRecord (JSON).
pub(super) const ALIASES: TableDefinition<&str, &[u8]> = TableDefinition::new("aliases");
/// flow -> the last version number handed out (JSON): never reused while the flow exists.
pub(super) const LAST_VERSION: TableDefinition<&str, &[u8]> = TableDefinition::new("last_version");

fn version_key(flow: &str, version: u64) -> String {
    format!("{flow}/{version:020}")
}

fn alias_key(flow: &str, name: &str) -> String {
    format!("{flow}/{name}")
}

/// The end of one flow's key range: `0` is the character after `/`.
fn flow_range_end(flow: &str) -> String {
    format!("{flow}0")
}

/// Creates the tables (at open).
pub(super) fn create_tables(txn: &WriteTransaction) -> Result<(), StoreError> {
    txn.open_table(VERSIONS).map_err(backend)?;
    txn.open_table(ALIASES).map_err(backend)?;
    txn.open_table(LAST_VERSION).map_err(backend)?;
    Ok(())
}

/// Removes a flow's versions, aliases and version counter (with the flow, same transaction).
pub(super) fn remove_flow_children(txn: &WriteTransaction, flow: &str) -> Result<(), StoreError> {
    let (start, end) = (format!("{flow}/"), flow_range_end(flow));
    for table in [VERSIONS, ALIASES] {
        let mut t = txn.open_table(table).map_err(backend)?;
        t.retain_in(start.as_str()..end.as_str(), |_, _| false)
            .map_err(backend)?;
    }
    let mut last = txn.open_table(LAST_VERSION).map_err(backend)?;
    last.remove(flow).map_err(backend)?;
    Ok(())
}

/// Fails with `ConditionFailed` unless every version the alias routes to exists.
fn check_routes(txn: &WriteTransaction, alias: &AliasRecord) -> Result<(), StoreError> {
    let t = txn.open_table(VERSIONS).map_err(backend)?;
    for route in &alias.routes {
        if t.get(version_key(&alias.flow, route.version).as_str())
            .map_err(backend)?
            .is_none()
        {
            return Err(StoreError::ConditionFailed);
        }
    }
    Ok(())
}

impl EmbeddedStore {
    pub(super) async fn versions_publish(
        &self,
        flow: String,
        description: String,
        created_ms: i64,
    ) -> Result<Option<VersionRecord>, StoreError> {
        self.blocking(move |db| {
            let txn = begin_write(db)?;
            let found: Option<FlowRecord> = {
                let t = txn.open_table(FLOWS).map_err(backend)?;
                let g = t.get(flow.as_str()).map_err(backend)?;
                g.map(|g| decode(&flow, g.value())).transpose()?
            };
            let Some(found) = found else {
                return Ok(None);
            };
            let version = {
                let mut t = txn.open_table(LAST_VERSION).map_err(backend)?;
                let last: u64 = match t.get(flow.as_str()).map_err(backend)? {
                    Some(g) => decode(&flow, g.value())?,
                    None => 0,
                };
                let next = last + 1;
                t.insert(flow.as_str(), encode(&next)?.as_slice())
                    .map_err(backend)?;
                next
            };
            let record = VersionRecord {
                flow: flow.clone(),
                version,
                definition: found.definition,
                flow_type: found.flow_type,
                description,
                created_ms,
            };
            {
                let mut t = txn.open_table(VERSIONS).map_err(backend)?;
                t.insert(
                    version_key(&flow, version).as_str(),
                    encode(&record)?.as_slice(),
                )
                .map_err(backend)?;
            }
            txn.commit().map_err(backend)?;
            Ok(Some(record))
        })
        .await
    }

    pub(super) async fn versions_get(
        &self,
        flow: &str,
        version: u64,
    ) -> Result<Option<VersionRecord>, StoreError> {
        self.read(VERSIONS, version_key(flow, version)).await
    }

    pub(super) async fn versions_list(
        &self,
        flow: &str,
        limit: usize,
        after: Option<u64>,
    ) -> Result<Page<VersionRecord>, StoreError> {
        let start = version_key(flow, after.map_or(0, |a| a.saturating_add(1)));
        let end = flow_range_end(flow);
        let (items, more) = self
            .scan(VERSIONS, start, Some(end), limit, |_: &VersionRecord| true)
            .await?;
        Ok(Page::new(items, more, |v| v.version.to_string()))
    }

    pub(super) async fn versions_delete(
        &self,
        flow: String,
        version: u64,
    ) -> Result<bool, StoreError> {
        self.blocking(move |db| {
            let txn = begin_write(db)?;
            {
                let aliases = txn.open_table(ALIASES).map_err(backend)?;
                let (start, end) = (format!("{flow}/"), flow_range_end(&flow));
                for entry in aliases
                    .range(start.as_str()..end.as_str())
                    .map_err(backend)?
                {
                    let (k, v) = entry.map_err(backend)?;
                    let alias: AliasRecord = decode(k.value(), v.value())?;
                    if alias.routes_to(version) {
                        return Err(StoreError::ConditionFailed);
                    }
                }
            }
            let removed = {
                let mut t = txn.open_table(VERSIONS).map_err(backend)?;
                t.remove(version_key(&flow, version).as_str())
                    .map_err(backend)?
                    .is_some()
            };
            txn.commit().map_err(backend)?;
            Ok(removed)
        })
        .await
    }

    /// Writes an alias if the stored one passes `allowed` and its versions exist.
    async fn aliases_write_if(
        &self,
        alias: AliasRecord,
        allowed: impl FnOnce(Option<AliasRecord>) -> bool + Send + 'static,
    ) -> Result<(), StoreError> {
        self.blocking(move |db| {
            let txn = begin_write(db)?;
            let key = alias_key(&alias.flow, &alias.name);
            {
                let mut t = txn.open_table(ALIASES).map_err(backend)?;
                let current: Option<AliasRecord> = {
                    let g = t.get(key.as_str()).map_err(backend)?;
                    g.map(|g| decode(&key, g.value())).transpose()?
                };
                if !allowed(current) {
                    return Err(StoreError::ConditionFailed);
                }
                check_routes(&txn, &alias)?;
                t.insert(key.as_str(), encode(&alias)?.as_slice())
                    .map_err(backend)?;
            }
            txn.commit().map_err(backend)
        })
        .await
    }

    pub(super) async fn aliases_create(&self, alias: AliasRecord) -> Result<(), StoreError> {
        self.aliases_write_if(alias, |cur| cur.is_none()).await
    }

    pub(super) async fn aliases_replace(
        &self,
        alias: AliasRecord,
        expected_revision: u64,
    ) -> Result<(), StoreError> {
        self.aliases_write_if(alias, move |cur| {
            cur.is_some_and(|c| c.revision == expected_revision)
        })
        .await
    }

    pub(super) async fn aliases_get(
        &self,
        flow: &str,
        name: &str,
    ) -> Result<Option<AliasRecord>, StoreError> {
        self.read(ALIASES, alias_key(flow, name)).await
    }

    pub(super) async fn aliases_delete(&self, flow: &str, name: &str) -> Result<bool, StoreError> {
        match self
            .write_if(
                ALIASES,
                alias_key(flow, name),
                None,
                |cur| Ok(cur.is_some()),
            )
            .await
        {
            Ok(()) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(e) => Err(e),
        }
    }

    pub(super) async fn aliases_list(
        &self,
        flow: &str,
        limit: usize,
        after: Option<&str>,
    ) -> Result<Page<AliasRecord>, StoreError> {
        let start = match after {
            Some(a) => successor(&alias_key(flow, a)),
            None => format!("{flow}/"),
        };
        let end = flow_range_end(flow);
        let (items, more) = self
            .scan(ALIASES, start, Some(end), limit, |_: &AliasRecord| true)
            .await?;
        Ok(Page::new(items, more, |a| a.name.clone()))
    }
}
