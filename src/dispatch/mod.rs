//! Continuations: how an execution that outlives one invocation is carried on by another.
//! A continuation names the execution and the version it expects; whoever receives it checks
//! the version (fencing), so duplicates and stale deliveries do nothing.

pub mod invoke;
pub mod local;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// A continuation due within this long may be sent now: it sleeps out the rest in place.
/// Later ones are left to the sweep (Lambda) or a timer (in process).
pub const SHORT_WAIT_MS: i64 = 60_000;

/// "Carry on execution `name` of `flow`, which you will find at `version`."
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Continuation {
    pub flow: String,
    pub name: String,
    pub version: u64,
}

#[derive(Debug, thiserror::Error)]
#[error("the continuation could not be dispatched: {0}")]
pub struct DispatchError(pub String);

#[async_trait]
pub trait Dispatcher: Send + Sync {
    /// Sends `c` to be run at or after `not_before_ms` (now when `None`). At-least-once is
    /// enough: receivers are fenced. A lost dispatch is recovered by the periodic sweep.
    async fn dispatch(
        &self,
        c: Continuation,
        not_before_ms: Option<i64>,
    ) -> Result<(), DispatchError>;
}

/// Drops continuations (with a log line): for a process that runs every execution to its end
/// within one call, and never parks one.
#[derive(Debug, Default)]
pub struct NoDispatch;

#[async_trait]
impl Dispatcher for NoDispatch {
    async fn dispatch(
        &self,
        c: Continuation,
        _not_before_ms: Option<i64>,
    ) -> Result<(), DispatchError> {
        tracing::warn!(flow = %c.flow, execution = %c.name, "no dispatcher: the sweep will carry this execution on");
        Ok(())
    }
}
