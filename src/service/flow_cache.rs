//! Flows as StartExecution reads them, remembered for a short while per process, so a warm
//! instance starts a short flow with no read at all (claim + final write only). An update made
//! through another instance shows here within the cache's time to live (as Step Functions says
//! of UpdateStateMachine: executions started right after may run the previous definition);
//! updates and deletes made through this instance take effect here at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::store::FlowRecord;

/// Default time to live (`FNF_FLOW_CACHE_MS`; 0 turns the cache off).
pub const DEFAULT_FLOW_CACHE_MS: i64 = 1_000;
/// More flows than this and the cache starts over (memory stays bounded).
const MAX_ENTRIES: usize = 1_000;

#[derive(Clone, Default)]
pub struct FlowCache {
    ttl_ms: i64,
    /// Stored flow name -> (the flow, when it was read).
    entries: Arc<Mutex<HashMap<String, (FlowRecord, i64)>>>,
}

impl FlowCache {
    pub fn new(ttl_ms: i64) -> FlowCache {
        FlowCache {
            ttl_ms: ttl_ms.max(0),
            entries: Arc::default(),
        }
    }

    /// The flow stored as `key`, if read less than the time to live ago.
    pub fn get(&self, key: &str, now_ms: i64) -> Option<FlowRecord> {
        if self.ttl_ms == 0 {
            return None;
        }
        let entries = self.entries.lock().unwrap();
        let (flow, read_at) = entries.get(key)?;
        (now_ms >= *read_at && now_ms - read_at < self.ttl_ms).then(|| flow.clone())
    }

    pub fn put(&self, key: &str, flow: &FlowRecord, now_ms: i64) {
        if self.ttl_ms == 0 {
            return;
        }
        let mut entries = self.entries.lock().unwrap();
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(key.to_owned(), (flow.clone(), now_ms));
    }

    /// Forgets a flow this process changed or deleted.
    pub fn forget(&self, key: &str) {
        self.entries.lock().unwrap().remove(key);
    }
}
