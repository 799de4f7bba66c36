//! In-process continuations: a queue served by a worker task of this process (`serve`, tests,
//! and `cargo lambda watch`, whose process stays alive between invocations). Delayed
//! continuations wait in a timer task; nothing here survives the process, which is why every
//! parked execution also carries a due time for the sweep.
//!
//! The queue is bounded: a continuation that finds it full is dropped (at-least-once is the
//! sweep's job: the execution it names is in the store's due list), so executions that fan
//! out wait in the store, not in this process's memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::mpsc::{self, error::TrySendError};

use super::{Continuation, DispatchError, Dispatcher};
use crate::clock::Clock;

/// Continuations waiting for the worker before new ones are left to the sweep: a few hundred
/// bytes each, so at most a few MB, and more than one sweep (1,000) hands over at once.
pub const DEFAULT_QUEUE_CAPACITY: usize = 10_000;

pub struct LocalDispatcher<C> {
    queue: mpsc::Sender<Continuation>,
    clock: C,
    /// Continuations dropped on a full queue (logged now and then).
    dropped: Arc<AtomicU64>,
}

impl<C: Clock + Clone + 'static> LocalDispatcher<C> {
    /// The dispatcher and the receiving end for the worker; at most `capacity` wait.
    pub fn new(clock: C, capacity: usize) -> (LocalDispatcher<C>, mpsc::Receiver<Continuation>) {
        let (queue, rx) = mpsc::channel(capacity.max(1));
        let dropped = Arc::new(AtomicU64::new(0));
        (
            LocalDispatcher {
                queue,
                clock,
                dropped,
            },
            rx,
        )
    }
}

/// Queues `c` if there is room; a full queue drops it for the sweep to find.
fn enqueue(
    queue: &mpsc::Sender<Continuation>,
    dropped: &AtomicU64,
    c: Continuation,
) -> Result<(), DispatchError> {
    match queue.try_send(c) {
        Ok(()) => Ok(()),
        Err(TrySendError::Full(c)) => {
            let n = dropped.fetch_add(1, Ordering::Relaxed);
            if n.is_multiple_of(1000) {
                tracing::warn!(flow = %c.flow, execution = %c.name, dropped = n + 1, "continuation queue full: the sweep carries these executions on");
            }
            Ok(())
        }
        Err(TrySendError::Closed(_)) => Err(DispatchError("the local worker has stopped".into())),
    }
}

#[async_trait]
impl<C: Clock + Clone + 'static> Dispatcher for LocalDispatcher<C> {
    async fn dispatch(
        &self,
        c: Continuation,
        not_before_ms: Option<i64>,
    ) -> Result<(), DispatchError> {
        let delay = not_before_ms.map_or(0, |t| t.saturating_sub(self.clock.now_ms()).max(0));
        if delay == 0 {
            return enqueue(&self.queue, &self.dropped, c);
        }
        let (queue, dropped) = (self.queue.clone(), self.dropped.clone());
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(delay as u64)).await;
            // The worker may be gone at shutdown; the sweep recovers after a restart.
            let _ = enqueue(&queue, &dropped, c);
        });
        Ok(())
    }
}
