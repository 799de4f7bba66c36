//! The storage port: what the service needs from a store, and the records it keeps.
//! Two adapters implement it: [`dynamo::DynamoStore`] (AWS) and [`embedded::EmbeddedStore`]
//! (local, on disk). Both must pass the same contract tests (`tests/store_contract.rs`).

mod accounts;
pub mod dynamo;
pub mod embedded;
mod history;
mod records;
pub mod scoped;
pub mod unavailable;

pub use accounts::{AccessKeyRecord, AccountRecord, AccountStore};

pub use records::{
    AliasRecord, DueExecution, ExecutionRecord, ExecutionStatus, FlowRecord, HistoryRecord, Route,
    TokenRecord, VersionRecord,
};

use async_trait::async_trait;

/// Why a store call did not do what was asked.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// A conditional write found the item not in the expected state (exists, missing, or moved
    /// on to another version). Expected under concurrency; never an outage.
    #[error("the item is not in the expected state")]
    ConditionFailed,
    /// The backend asks us to slow down.
    #[error("the store is throttling requests")]
    Throttled,
    /// The backend failed or could not be reached; the text is for logs only.
    #[error("the store failed: {0}")]
    Backend(String),
    /// A stored item could not be decoded; the text names the item.
    #[error("a stored item is corrupt: {0}")]
    Corrupt(String),
    /// The embedded store's file failed its integrity check when opened: nothing is read from
    /// it, since a damaged page can panic inside the store library (an abort in release).
    #[error(
        "the store file {path} is corrupted ({detail}): it was changed outside fnf-lambda or \
         the disk failed. {}",
        embedded::remedy(path)
    )]
    CorruptFile { path: String, detail: String },
    /// The embedded store's directory says a store lives there (its manifest), but the file is
    /// empty, missing or another store's: opening it would start empty and lose every record.
    #[error(
        "the store file {path} {detail}: it was truncated, deleted or replaced outside \
         fnf-lambda. {}",
        embedded::remedy(path)
    )]
    LostFile { path: String, detail: String },
    /// The embedded store's manifest cannot be read, so the file cannot be checked against it.
    #[error(
        "the store manifest {path} is damaged ({detail}): if the store file beside it is intact, \
         delete the manifest and the next start writes it again from the file; otherwise \
         restore the store from a backup"
    )]
    BadManifest { path: String, detail: String },
    /// Another process has the embedded store's directory open (redb's lock is exclusive).
    #[error(
        "another fnf-lambda process{holder} already uses {dir}: stop it first, or use another data directory"
    )]
    InUse { dir: String, holder: String },
}

/// One page of a listing, in ascending name order.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Set when more items follow; pass it back as `after` to continue.
    pub next_after: Option<String>,
}

impl<T> Page<T> {
    /// A page of `items`; when `more` follow, the token is the key of the last item.
    pub fn new(items: Vec<T>, more: bool, key: impl Fn(&T) -> String) -> Page<T> {
        let next_after = if more { items.last().map(key) } else { None };
        Page { items, next_after }
    }
}

/// Filters of ListExecutions, all optional.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExecutionFilter {
    pub status: Option<ExecutionStatus>,
    pub name_prefix: Option<String>,
    pub started_from_ms: Option<i64>,
    pub started_to_ms: Option<i64>,
}

impl ExecutionFilter {
    pub fn matches(&self, exec: &ExecutionRecord) -> bool {
        self.status.is_none_or(|s| exec.status == s)
            && self
                .name_prefix
                .as_deref()
                .is_none_or(|p| exec.name.starts_with(p))
            && self.started_from_ms.is_none_or(|t| exec.started_ms >= t)
            && self.started_to_ms.is_none_or(|t| exec.started_ms <= t)
    }
}

/// The result of claiming an execution name.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// The name was free; the execution now exists as given.
    Created,
    /// The name was taken; this is the execution that holds it.
    Existing(Box<ExecutionRecord>),
}

#[async_trait]
pub trait Store: AccountStore + Send + Sync {
    /// Creates a flow; `ConditionFailed` if one with that name exists.
    async fn create_flow(&self, flow: &FlowRecord) -> Result<(), StoreError>;
    /// Replaces a flow whose stored revision is `expected_revision`; `ConditionFailed` if the
    /// flow is gone or was changed since it was read.
    async fn replace_flow(
        &self,
        flow: &FlowRecord,
        expected_revision: u64,
    ) -> Result<(), StoreError>;
    async fn get_flow(&self, name: &str) -> Result<Option<FlowRecord>, StoreError>;
    /// Deletes a flow, with its versions and aliases; `false` if there was none.
    async fn delete_flow(&self, name: &str) -> Result<bool, StoreError>;
    async fn list_flows(
        &self,
        limit: usize,
        after: Option<&str>,
    ) -> Result<Page<FlowRecord>, StoreError>;

    /// Creates the execution only if no execution of that flow has that name: the exactly-once
    /// guarantee of StartExecution rests on this single conditional write.
    async fn claim_execution(&self, exec: &ExecutionRecord) -> Result<Claim, StoreError>;
    /// Writes `exec` only if the stored execution's version is `expected_version` (fencing);
    /// `exec.version` must be the next version.
    async fn update_execution(
        &self,
        exec: &ExecutionRecord,
        expected_version: u64,
    ) -> Result<(), StoreError>;
    /// Makes a running execution due at `due_ms` and moves its version on, only if the stored
    /// version is `expected_version` (`ConditionFailed` otherwise, or when it is gone): a
    /// wake-up that leaves the rest of the record, checkpoint and all, where it is.
    async fn make_due(
        &self,
        flow: &str,
        name: &str,
        expected_version: u64,
        due_ms: i64,
    ) -> Result<(), StoreError> {
        let Some(mut exec) = self.get_execution(flow, name).await? else {
            return Err(StoreError::ConditionFailed);
        };
        if exec.version != expected_version {
            return Err(StoreError::ConditionFailed);
        }
        exec.version += 1;
        exec.due_ms = Some(due_ms);
        self.update_execution(&exec, expected_version).await
    }
    async fn get_execution(
        &self,
        flow: &str,
        name: &str,
    ) -> Result<Option<ExecutionRecord>, StoreError>;
    /// The execution to look at, never to write back: without its checkpoint, which a store
    /// may keep apart and need more reads for (DynamoDB's parts). DescribeExecution polls it.
    async fn view_execution(
        &self,
        flow: &str,
        name: &str,
    ) -> Result<Option<ExecutionRecord>, StoreError> {
        let found = self.get_execution(flow, name).await?;
        Ok(found.map(|e| ExecutionRecord {
            checkpoint: None,
            ..e
        }))
    }
    /// Lists executions of a flow by name. Items carry the summary fields only (no input,
    /// output or definition), so that listings stay cheap.
    async fn list_executions(
        &self,
        flow: &str,
        filter: &ExecutionFilter,
        limit: usize,
        after: Option<&str>,
    ) -> Result<Page<ExecutionRecord>, StoreError>;

    /// Running executions whose `due_ms` is at or before `now_ms`, earliest first, at most
    /// `limit`. The sweep re-dispatches them; what it finds may be slightly stale (fencing
    /// makes that harmless).
    async fn list_due(&self, now_ms: i64, limit: usize) -> Result<Vec<DueExecution>, StoreError>;

    /// Stores history events of an execution; an event stored before (same id) is overwritten
    /// with itself, so retried writes are harmless.
    async fn put_history(
        &self,
        flow: &str,
        name: &str,
        events: &[HistoryRecord],
    ) -> Result<(), StoreError>;
    /// Lists stored history events in id order, after the event id `after` (exclusive). An
    /// execution's last events may be in its record instead: readers of a whole history use
    /// [`Store::execution_history`].
    async fn list_history(
        &self,
        flow: &str,
        name: &str,
        limit: usize,
        after: Option<u64>,
    ) -> Result<Page<HistoryRecord>, StoreError>;

    /// `exec`'s history: stored events merged with those kept in its record.
    async fn execution_history(
        &self,
        exec: &ExecutionRecord,
        limit: usize,
        after: Option<u64>,
    ) -> Result<Page<HistoryRecord>, StoreError> {
        let stored = self
            .list_history(&exec.flow, &exec.name, limit, after)
            .await?;
        Ok(history::merge(stored, &exec.history, limit, after))
    }

    /// Freezes the flow's current definition as its next version (1, 2, 3...): the number
    /// comes from one atomic write on the flow, so concurrent publishes never share one.
    /// `None` if the flow does not exist.
    async fn publish_version(
        &self,
        flow: &str,
        description: &str,
        created_ms: i64,
    ) -> Result<Option<VersionRecord>, StoreError>;
    async fn get_version(
        &self,
        flow: &str,
        version: u64,
    ) -> Result<Option<VersionRecord>, StoreError>;
    /// Lists a flow's versions in ascending order, after version `after` (exclusive).
    async fn list_versions(
        &self,
        flow: &str,
        limit: usize,
        after: Option<u64>,
    ) -> Result<Page<VersionRecord>, StoreError>;
    /// Deletes a version; `false` if there was none, `ConditionFailed` if an alias routes
    /// to it (checked in the same write).
    async fn delete_version(&self, flow: &str, version: u64) -> Result<bool, StoreError>;

    /// Creates an alias; `ConditionFailed` if one with that name exists or a version it
    /// routes to does not.
    async fn create_alias(&self, alias: &AliasRecord) -> Result<(), StoreError>;
    /// Replaces an alias whose stored revision is `expected_revision`; `ConditionFailed` if it
    /// is gone, was changed since it was read, or a version it routes to does not exist.
    async fn replace_alias(
        &self,
        alias: &AliasRecord,
        expected_revision: u64,
    ) -> Result<(), StoreError>;
    async fn get_alias(&self, flow: &str, name: &str) -> Result<Option<AliasRecord>, StoreError>;
    /// Deletes an alias; `false` if there was none.
    async fn delete_alias(&self, flow: &str, name: &str) -> Result<bool, StoreError>;
    /// Lists a flow's aliases by name.
    async fn list_aliases(
        &self,
        flow: &str,
        limit: usize,
        after: Option<&str>,
    ) -> Result<Page<AliasRecord>, StoreError>;

    /// Creates a task token if none with that name exists; an existing one is left as it is
    /// (with its result, if any), so a retried task start changes nothing.
    async fn put_token(&self, token: &TokenRecord) -> Result<(), StoreError>;
    async fn get_token(&self, token: &str) -> Result<Option<TokenRecord>, StoreError>;
    /// Records the result of a token (one conditional write); `ConditionFailed` if the token
    /// does not exist, is not `flow`'s (so an account's view needs no read to keep to its
    /// own tokens), or already has a result.
    async fn complete_token(
        &self,
        token: &str,
        flow: &str,
        result: &str,
        completed_ms: i64,
    ) -> Result<(), StoreError>;
}
