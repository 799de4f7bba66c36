//! The in-process side of continuations: a worker that runs queued continuations, and a
//! periodic sweep (also run once at start, so executions of a killed process carry on).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::sync::mpsc::Receiver;

use crate::dispatch::Continuation;
use crate::service::Service;

pub const MAX_DRIVEN_ENV: &str = "FNF_MAX_DRIVEN_EXECUTIONS";
/// Executions the worker drives at once. Most of a continuation's time is spent waiting on
/// its task calls, so a few dozen keep two cores busy; beyond that, each one driven holds its
/// state in memory and store work on the blocking pool while API requests wait behind them
/// (issue 13: thousands at once took `serve` to 130 MB and 1.4 s ListFlows in 20 s). The rest
/// wait in the queue, then in the store's due list.
pub const DEFAULT_MAX_DRIVEN: usize = 32;

/// Runs queued continuations, each in its own task, at most `max_driven` at once: the next
/// one is taken off the queue only when one of them is done.
pub fn spawn_worker(service: Service, mut queue: Receiver<Continuation>, max_driven: usize) {
    let permits = Arc::new(Semaphore::new(max_driven.max(1)));
    tokio::spawn(async move {
        while let Some(c) = queue.recv().await {
            let Ok(permit) = permits.clone().acquire_owned().await else {
                return;
            };
            let service = service.clone();
            tokio::spawn(async move {
                let owner = uuid::Uuid::new_v4().to_string();
                if let Err(e) = service.continue_execution(&c, &owner).await {
                    tracing::warn!(flow = %c.flow, execution = %c.name, code = e.code(), "continuation failed; the sweep retries it");
                }
                drop(permit);
            });
        }
    });
}

/// Sweeps now and then every `interval`.
pub fn spawn_sweeper(service: Service, interval: Duration) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        loop {
            ticks.tick().await;
            if let Err(e) = service.sweep().await {
                tracing::warn!(code = e.code(), "sweep failed");
            }
        }
    });
}
