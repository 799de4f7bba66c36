//! In-process continuations: a queue served by a worker task of this process (`serve`, tests,
//! and `cargo lambda watch`, whose process stays alive between invocations). Delayed
//! continuations wait in a timer task; nothing here survives the process, which is why every
//! parked execution also carries a due time for the sweep.

use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::mpsc;

use super::{Continuation, DispatchError, Dispatcher};
use crate::clock::Clock;

pub struct LocalDispatcher<C> {
    queue: mpsc::UnboundedSender<Continuation>,
    clock: C,
}

impl<C: Clock + Clone + 'static> LocalDispatcher<C> {
    /// The dispatcher and the receiving end for the worker.
    pub fn new(clock: C) -> (LocalDispatcher<C>, mpsc::UnboundedReceiver<Continuation>) {
        let (queue, rx) = mpsc::unbounded_channel();
        (LocalDispatcher { queue, clock }, rx)
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
            return self
                .queue
                .send(c)
                .map_err(|_| DispatchError("the local worker has stopped".into()));
        }
        let queue = self.queue.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(delay as u64)).await;
            // The worker may be gone at shutdown; the sweep recovers after a restart.
            let _ = queue.send(c);
        });
        Ok(())
    }
}
