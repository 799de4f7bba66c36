//! Records remembered for a short while per process ([`TtlCache`]): flows as StartExecution
//! reads them, and account records (their limits) as the gate and StartExecution read them.
//!
//! Flows: a warm instance starts a short flow with no read at all (claim + final write only).
//! An update made through another instance shows here within the cache's time to live (as
//! Step Functions says of UpdateStateMachine: executions started right after may run the
//! previous definition); updates and deletes made through this instance take effect here at
//! once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::store::FlowRecord;

/// Default time to live of flows (`FNF_FLOW_CACHE_MS`; 0 turns the cache off).
pub const DEFAULT_FLOW_CACHE_MS: i64 = 1_000;
/// More flows than this and the flow cache starts over (memory stays bounded).
const MAX_FLOWS: usize = 1_000;

/// Values by key, each fresh for `ttl_ms` after it was read; shared by clones. When it holds
/// `max_entries` and another comes, it starts over (memory stays bounded).
#[derive(Clone)]
pub struct TtlCache<V> {
    /// 0: remembers nothing.
    ttl_ms: i64,
    max_entries: usize,
    /// Key -> (the value, when it was read).
    entries: Arc<Mutex<HashMap<String, (V, i64)>>>,
}

impl<V: Clone> TtlCache<V> {
    pub fn new(ttl_ms: i64, max_entries: usize) -> TtlCache<V> {
        TtlCache {
            ttl_ms: ttl_ms.max(0),
            max_entries,
            entries: Arc::default(),
        }
    }

    /// The value stored as `key`, if read less than the time to live ago.
    pub fn get(&self, key: &str, now_ms: i64) -> Option<V> {
        if self.ttl_ms == 0 {
            return None;
        }
        let entries = self.entries.lock().unwrap();
        let (value, read_at) = entries.get(key)?;
        (now_ms >= *read_at && now_ms - read_at < self.ttl_ms).then(|| value.clone())
    }

    /// Remembers `value`, read at `now_ms`, as `key`.
    pub fn put(&self, key: &str, value: &V, now_ms: i64) {
        if self.ttl_ms == 0 {
            return;
        }
        let mut entries = self.entries.lock().unwrap();
        if entries.len() >= self.max_entries {
            entries.clear();
        }
        entries.insert(key.to_owned(), (value.clone(), now_ms));
    }

    /// Forgets a value this process changed or deleted.
    pub fn forget(&self, key: &str) {
        self.entries.lock().unwrap().remove(key);
    }
}

/// Flows by stored name.
pub type FlowCache = TtlCache<FlowRecord>;

impl FlowCache {
    /// Flows remembered for `ttl_ms` (0: not at all).
    pub fn flows(ttl_ms: i64) -> FlowCache {
        TtlCache::new(ttl_ms, MAX_FLOWS)
    }
}
