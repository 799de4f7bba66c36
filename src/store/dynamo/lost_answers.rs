//! Conditional writes whose answer was lost. DynamoDB may apply a write and the answer never
//! arrive (a connection reset, a time-out after the request went out); the SDK then sends it
//! again, and the repeat finds its own first write and fails its condition. Taken at its word,
//! that failure says someone else moved the item: an invocation would believe it lost its
//! lease, a StartExecution would answer its own execution as someone else's. So a failed
//! condition is checked against what is stored: finding exactly what this write wrote, the
//! write succeeded. Nobody else writes the same record, since every record a driving write
//! stores names its invocation (`lease_owner`, unique per invocation) or is the outcome
//! itself, which is the same whoever wrote it.
//!
//! Also here: how hard the store's client retries (`FNF_STORE_MAX_ATTEMPTS`).

use std::time::Duration;

use aws_sdk_dynamodb::config::retry::RetryConfig;

use super::DynamoStore;
use crate::store::{ExecutionRecord, FlowRecord, StoreError};

/// The setting of [`DEFAULT_MAX_ATTEMPTS`].
pub const MAX_ATTEMPTS_ENV: &str = "FNF_STORE_MAX_ATTEMPTS";
/// Tries of one store request (the first and its retries) against throttling, 5xx answers and
/// dropped connections. The SDK's default of 3 lets one request in a thousand fail at a 10%
/// fault rate, and a failure in the middle of driving an execution abandons it (its calls in
/// flight are made again by whoever takes over); 8 tries make that one in 10^8. With the
/// backoff below, all 8 take about 2 s at most, inside a lease's margin. The SDK's retry
/// quota still stops retry storms in a real outage.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 8;
/// First backoff: DynamoDB answers in milliseconds, and the SDK's generic 1 s would hold an
/// execution's drive (and a StartExecution's answer) for seconds at every throttle.
const INITIAL_BACKOFF: Duration = Duration::from_millis(25);
/// Longest backoff between two tries.
const MAX_BACKOFF: Duration = Duration::from_millis(500);

/// The store client's retry settings: `FNF_STORE_MAX_ATTEMPTS` tries (default 8; at least 1),
/// exponential backoff with jitter from 25 ms to 500 ms.
pub fn retry_config() -> RetryConfig {
    let attempts =
        crate::settings::count_or_default(MAX_ATTEMPTS_ENV, DEFAULT_MAX_ATTEMPTS.into(), 1);
    let attempts = u32::try_from(attempts).unwrap_or(u32::MAX);
    RetryConfig::standard()
        .with_max_attempts(attempts)
        .with_initial_backoff(INITIAL_BACKOFF)
        .with_max_backoff(MAX_BACKOFF)
}

impl DynamoStore {
    /// After a failed condition on writing `exec`: whether what is stored is `exec` itself.
    /// The item alone is read first: a write fenced off by another invocation (the common
    /// case) differs in version or owner there, and its checkpoint parts need not be read.
    pub(super) async fn holds_execution(&self, exec: &ExecutionRecord) -> Result<bool, StoreError> {
        let store: &dyn crate::store::Store = self;
        let view = store.view_execution(&exec.flow, &exec.name).await?;
        if view.is_none_or(|v| v.version != exec.version || v.lease_owner != exec.lease_owner) {
            return Ok(false);
        }
        let stored = store.get_execution(&exec.flow, &exec.name).await?;
        Ok(stored.as_ref() == Some(exec))
    }

    /// After a failed `make_due`: whether the execution is at the version and due time that
    /// write set (the rest of the item it leaves alone).
    pub(super) async fn made_due(
        &self,
        flow: &str,
        name: &str,
        version: u64,
        due_ms: i64,
    ) -> Result<bool, StoreError> {
        let stored = crate::store::Store::view_execution(self, flow, name).await?;
        Ok(stored.is_some_and(|e| e.version == version && e.due_ms == Some(due_ms)))
    }

    /// After a failed token completion: whether the token holds this very result, at this time.
    pub(super) async fn completed_with(
        &self,
        token: &str,
        result: &str,
        completed_ms: i64,
    ) -> Result<bool, StoreError> {
        let stored = self.token_get(token).await?;
        Ok(stored.is_some_and(|t| {
            t.result.as_deref() == Some(result) && t.completed_ms == Some(completed_ms)
        }))
    }

    /// After a failed flow creation: whether the flow stored is this one (its id is new).
    pub(super) async fn holds_flow(&self, flow: &FlowRecord) -> Result<bool, StoreError> {
        let stored = crate::store::Store::get_flow(self, &flow.name).await?;
        Ok(stored.as_ref() == Some(flow))
    }
}
