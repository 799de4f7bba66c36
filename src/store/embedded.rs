//! The embedded store: one redb file on local disk. ACID write transactions are serialized,
//! so "check, then write" inside one transaction gives the same conditional-write guarantees
//! as DynamoDB. Data survives restarts (`FNF_DATA_DIR`).

mod accounts;
pub mod backup;
mod integrity;
pub mod manifest;
mod slots;
mod tokens;
mod versions;

use integrity::begin_write;
pub use integrity::remedy;

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{
    AliasRecord, Claim, DueExecution, ExecutionFilter, ExecutionRecord, FlowRecord, HistoryRecord,
    Page, Store, StoreError, TokenRecord, VersionRecord,
};

/// name -> FlowRecord (JSON)
const FLOWS: TableDefinition<&str, &[u8]> = TableDefinition::new("flows");
/// "flow/name" -> ExecutionRecord (JSON). `/` never occurs in names, so one flow's executions
/// form a contiguous, name-ordered key range.
const EXECUTIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("executions");

/// "flow/name/<id, 20 digits>" -> HistoryRecord (JSON): zero-padded ids sort numerically.
const HISTORY: TableDefinition<&str, &[u8]> = TableDefinition::new("history");

/// "<due_ms, 20 digits>/flow/name" -> version (JSON): running executions by when they are
/// due, kept in the same write transaction as the execution itself.
const DUE: TableDefinition<&str, &[u8]> = TableDefinition::new("due");

/// The file name inside the data directory.
pub const DB_FILE: &str = "fnf.redb";
/// Memory redb may keep pages in. Its own default, 1 GiB, is what a process writing history
/// fast grows to (every page written stays cached); 64 MiB holds a store of 10,000 executions
/// (about 35 MB) whole, and beyond it reads go to the OS's page cache.
pub const DEFAULT_CACHE_BYTES: usize = 64 * 1024 * 1024;
/// The setting of the cache's size, in bytes.
pub const CACHE_BYTES_ENV: &str = "FNF_STORE_CACHE_BYTES";

#[derive(Clone)]
pub struct EmbeddedStore {
    db: Arc<Database>,
    /// Held while the store is open; dropped after `db` (fields drop in order).
    _lock: Arc<manifest::DirLock>,
}

fn backend(err: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(err.to_string())
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(backend)
}

fn decode<T: DeserializeOwned>(key: &str, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt(format!("{key}: {e}")))
}

fn exec_key(flow: &str, name: &str) -> String {
    format!("{flow}/{name}")
}

fn due_key(due_ms: i64, flow: &str, name: &str) -> String {
    format!("{:020}/{flow}/{name}", due_ms.max(0))
}

/// Writes an execution and moves its entry in the due index, inside one write transaction.
fn put_execution(
    txn: &redb::WriteTransaction,
    exec: &ExecutionRecord,
    old: Option<&ExecutionRecord>,
) -> Result<(), StoreError> {
    let bytes = encode(exec)?;
    let mut due = txn.open_table(DUE).map_err(backend)?;
    if let Some(old_due) = old.and_then(|o| o.due_ms) {
        due.remove(due_key(old_due, &exec.flow, &exec.name).as_str())
            .map_err(backend)?;
    }
    if let Some(due_ms) = exec.due_ms.filter(|_| exec.sits_in_due_index()) {
        let version = encode(&exec.version)?;
        due.insert(
            due_key(due_ms, &exec.flow, &exec.name).as_str(),
            version.as_slice(),
        )
        .map_err(backend)?;
    }
    let mut t = txn.open_table(EXECUTIONS).map_err(backend)?;
    t.insert(exec_key(&exec.flow, &exec.name).as_str(), bytes.as_slice())
        .map_err(backend)?;
    Ok(())
}

fn event_key(flow: &str, name: &str, id: u64) -> String {
    format!("{flow}/{name}/{id:020}")
}

impl EmbeddedStore {
    /// Opens (or creates) the store in `dir`. Fails if another process holds it open
    /// ([`StoreError::InUse`]), if its file fails the integrity check
    /// ([`StoreError::CorruptFile`]), or if it is not the store the directory's manifest names
    /// ([`StoreError::LostFile`]).
    pub fn open(dir: &Path) -> Result<EmbeddedStore, StoreError> {
        EmbeddedStore::open_with_cache(dir, DEFAULT_CACHE_BYTES)
    }

    /// [`EmbeddedStore::open`], with redb keeping at most `cache_bytes` of pages in memory.
    pub fn open_with_cache(dir: &Path, cache_bytes: usize) -> Result<EmbeddedStore, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| backend(format!("{}: {e}", dir.display())))?;
        let lock = manifest::DirLock::acquire(dir)?;
        let db = integrity::open_store(&lock, cache_bytes)?;
        let txn = begin_write(&db)?;
        txn.open_table(FLOWS).map_err(backend)?;
        txn.open_table(EXECUTIONS).map_err(backend)?;
        txn.open_table(HISTORY).map_err(backend)?;
        txn.open_table(DUE).map_err(backend)?;
        versions::create_tables(&txn)?;
        tokens::create_table(&txn)?;
        accounts::create_tables(&txn)?;
        slots::create_table(&txn)?;
        txn.commit().map_err(backend)?;
        Ok(EmbeddedStore {
            db: Arc::new(db),
            _lock: Arc::new(lock),
        })
    }

    /// Runs blocking database work off the async runtime's worker threads.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Database) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || work(&db))
            .await
            .map_err(backend)?
    }

    /// Writes `value` under `key` if `allowed(current)` holds, in one write transaction.
    async fn write_if(
        &self,
        table: TableDefinition<'static, &'static str, &'static [u8]>,
        key: String,
        value: Option<Vec<u8>>,
        allowed: impl FnOnce(Option<&[u8]>) -> Result<bool, StoreError> + Send + 'static,
    ) -> Result<(), StoreError> {
        self.blocking(move |db| {
            let txn = begin_write(db)?;
            {
                let mut t = txn.open_table(table).map_err(backend)?;
                let current = t.get(key.as_str()).map_err(backend)?;
                let ok = allowed(current.as_ref().map(|g| g.value()))?;
                drop(current);
                if !ok {
                    return Err(StoreError::ConditionFailed);
                }
                match &value {
                    Some(bytes) => t.insert(key.as_str(), bytes.as_slice()).map(drop),
                    None => t.remove(key.as_str()).map(drop),
                }
                .map_err(backend)?;
            }
            txn.commit().map_err(backend)
        })
        .await
    }

    async fn read<T: DeserializeOwned + Send + 'static>(
        &self,
        table: TableDefinition<'static, &'static str, &'static [u8]>,
        key: String,
    ) -> Result<Option<T>, StoreError> {
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let t = txn.open_table(table).map_err(backend)?;
            let found = t.get(key.as_str()).map_err(backend)?;
            found.map(|g| decode(&key, g.value())).transpose()
        })
        .await
    }

    /// Scans keys in `[start, end)` after `after` (exclusive), keeping those `keep` accepts,
    /// until `limit` are found; reports whether more matching items follow.
    async fn scan<T: DeserializeOwned + Send + 'static>(
        &self,
        table: TableDefinition<'static, &'static str, &'static [u8]>,
        start: String,
        end: Option<String>,
        limit: usize,
        keep: impl Fn(&T) -> bool + Send + 'static,
    ) -> Result<(Vec<T>, bool), StoreError> {
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let t = txn.open_table(table).map_err(backend)?;
            let range = match &end {
                Some(end) => t.range(start.as_str()..end.as_str()),
                None => t.range(start.as_str()..),
            }
            .map_err(backend)?;
            let mut items = Vec::new();
            for entry in range {
                let (k, v) = entry.map_err(backend)?;
                let item: T = decode(k.value(), v.value())?;
                if keep(&item) {
                    if items.len() == limit {
                        return Ok((items, true));
                    }
                    items.push(item);
                }
            }
            Ok((items, false))
        })
        .await
    }
}

/// The first key strictly after `key` in byte order.
fn successor(key: &str) -> String {
    format!("{key}\u{0}")
}

#[async_trait]
impl Store for EmbeddedStore {
    async fn create_flow(&self, flow: &FlowRecord) -> Result<(), StoreError> {
        let bytes = encode(flow)?;
        self.write_if(FLOWS, flow.name.clone(), Some(bytes), |cur| {
            Ok(cur.is_none())
        })
        .await
    }

    async fn replace_flow(
        &self,
        flow: &FlowRecord,
        expected_revision: u64,
    ) -> Result<(), StoreError> {
        let bytes = encode(flow)?;
        let key = flow.name.clone();
        self.write_if(FLOWS, key.clone(), Some(bytes), move |cur| match cur {
            Some(b) => Ok(decode::<FlowRecord>(&key, b)?.revision == expected_revision),
            None => Ok(false),
        })
        .await
    }

    async fn get_flow(&self, name: &str) -> Result<Option<FlowRecord>, StoreError> {
        self.read(FLOWS, name.to_owned()).await
    }

    async fn delete_flow(&self, name: &str) -> Result<bool, StoreError> {
        let name = name.to_owned();
        self.blocking(move |db| {
            let txn = begin_write(db)?;
            let removed = {
                let mut t = txn.open_table(FLOWS).map_err(backend)?;
                t.remove(name.as_str()).map_err(backend)?.is_some()
            };
            if !removed {
                return Ok(false);
            }
            versions::remove_flow_children(&txn, &name)?;
            txn.commit().map_err(backend).map(|()| true)
        })
        .await
    }

    async fn list_flows(
        &self,
        limit: usize,
        after: Option<&str>,
    ) -> Result<Page<FlowRecord>, StoreError> {
        let start = after.map(successor).unwrap_or_default();
        let (items, more) = self
            .scan(FLOWS, start, None, limit, |_: &FlowRecord| true)
            .await?;
        Ok(Page::new(items, more, |f| f.name.clone()))
    }

    async fn claim_execution(&self, exec: &ExecutionRecord) -> Result<Claim, StoreError> {
        let exec = exec.clone();
        self.blocking(move |db| {
            let txn = begin_write(db)?;
            let key = exec_key(&exec.flow, &exec.name);
            let existing = {
                let t = txn.open_table(EXECUTIONS).map_err(backend)?;
                let current = t.get(key.as_str()).map_err(backend)?;
                current
                    .map(|g| decode::<ExecutionRecord>(&key, g.value()))
                    .transpose()?
            };
            match existing {
                Some(found) => Ok(Claim::Existing(Box::new(found))),
                None => {
                    put_execution(&txn, &exec, None)?;
                    txn.commit().map_err(backend).map(|()| Claim::Created)
                }
            }
        })
        .await
    }

    async fn update_execution(
        &self,
        exec: &ExecutionRecord,
        expected_version: u64,
    ) -> Result<(), StoreError> {
        let exec = exec.clone();
        self.blocking(move |db| {
            let txn = begin_write(db)?;
            let key = exec_key(&exec.flow, &exec.name);
            let current = {
                let t = txn.open_table(EXECUTIONS).map_err(backend)?;
                let found = t.get(key.as_str()).map_err(backend)?;
                found
                    .map(|g| decode::<ExecutionRecord>(&key, g.value()))
                    .transpose()?
            };
            match current {
                Some(old) if old.version == expected_version => {
                    put_execution(&txn, &exec, Some(&old))?;
                    txn.commit().map_err(backend)
                }
                // This very write, repeated: done already (as DynamoDB's store finds a write
                // whose answer was lost, `store/dynamo/lost_answers.rs`).
                Some(old) if old == exec => Ok(()),
                _ => Err(StoreError::ConditionFailed),
            }
        })
        .await
    }

    async fn get_execution(
        &self,
        flow: &str,
        name: &str,
    ) -> Result<Option<ExecutionRecord>, StoreError> {
        self.read(EXECUTIONS, exec_key(flow, name)).await
    }

    async fn list_executions(
        &self,
        flow: &str,
        filter: &ExecutionFilter,
        limit: usize,
        after: Option<&str>,
    ) -> Result<Page<ExecutionRecord>, StoreError> {
        let prefix = format!("{flow}/");
        let from_prefix = exec_key(flow, filter.name_prefix.as_deref().unwrap_or(""));
        let start = match after {
            Some(a) => successor(&exec_key(flow, a)).max(from_prefix),
            None => from_prefix,
        };
        // `0` is the character after `/`: the end of this flow's key range.
        let end = format!("{flow}0");
        debug_assert!(start.starts_with(&prefix));
        let filter = filter.clone();
        let (items, more) = self
            .scan(
                EXECUTIONS,
                start,
                Some(end),
                limit,
                move |e: &ExecutionRecord| filter.matches(e),
            )
            .await?;
        let items = items.iter().map(ExecutionRecord::summary).collect();
        Ok(Page::new(items, more, |e| e.name.clone()))
    }

    async fn put_history(
        &self,
        flow: &str,
        name: &str,
        events: &[HistoryRecord],
    ) -> Result<(), StoreError> {
        let rows = events
            .iter()
            .map(|e| Ok((event_key(flow, name, e.id), encode(e)?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        self.blocking(move |db| {
            let txn = begin_write(db)?;
            {
                let mut t = txn.open_table(HISTORY).map_err(backend)?;
                for (key, bytes) in &rows {
                    t.insert(key.as_str(), bytes.as_slice()).map_err(backend)?;
                }
            }
            txn.commit().map_err(backend)
        })
        .await
    }

    async fn list_history(
        &self,
        flow: &str,
        name: &str,
        limit: usize,
        after: Option<u64>,
    ) -> Result<Page<HistoryRecord>, StoreError> {
        let start = event_key(flow, name, after.map_or(0, |a| a.saturating_add(1)));
        // `0` follows `/`: the end of this execution's event range.
        let end = format!("{flow}/{name}0");
        let (items, more) = self
            .scan(HISTORY, start, Some(end), limit, |_: &HistoryRecord| true)
            .await?;
        Ok(Page::new(items, more, |e| e.id.to_string()))
    }

    async fn list_due(&self, now_ms: i64, limit: usize) -> Result<Vec<DueExecution>, StoreError> {
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let t = txn.open_table(DUE).map_err(backend)?;
            // Keys sort by due time; everything up to `now_ms` inclusive.
            let end = format!("{:020}0", now_ms.max(0));
            let mut found = Vec::new();
            for entry in t.range(..end.as_str()).map_err(backend)? {
                let (k, v) = entry.map_err(backend)?;
                let key = k.value();
                // "<due>/<flow>/<name>": no name holds a '/' (an account's prefix is `acme:`).
                let parsed = key
                    .split_once('/')
                    .and_then(|(due, rest)| Some((due, rest.rsplit_once('/')?)));
                let Some((due, (flow, name))) = parsed else {
                    return Err(StoreError::Corrupt(format!("due key {key:?}")));
                };
                found.push(DueExecution {
                    flow: flow.to_owned(),
                    name: name.to_owned(),
                    version: decode(key, v.value())?,
                    due_ms: due
                        .parse()
                        .map_err(|_| StoreError::Corrupt(format!("due key {key:?}")))?,
                });
                if found.len() == limit {
                    break;
                }
            }
            Ok(found)
        })
        .await
    }

    async fn publish_version(
        &self,
        flow: &str,
        description: &str,
        created_ms: i64,
    ) -> Result<Option<VersionRecord>, StoreError> {
        self.versions_publish(flow.to_owned(), description.to_owned(), created_ms)
            .await
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
        self.versions_delete(flow.to_owned(), version).await
    }

    async fn create_alias(&self, alias: &AliasRecord) -> Result<(), StoreError> {
        self.aliases_create(alias.clone()).await
    }

    async fn replace_alias(
        &self,
        alias: &AliasRecord,
        expected_revision: u64,
    ) -> Result<(), StoreError> {
        self.aliases_replace(alias.clone(), expected_revision).await
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
