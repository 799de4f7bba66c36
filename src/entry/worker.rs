//! The in-process side of continuations: a worker that runs queued continuations, and a
//! periodic sweep (also run once at start, so executions of a killed process carry on).

use std::time::Duration;

use tokio::sync::mpsc::UnboundedReceiver;

use crate::dispatch::Continuation;
use crate::service::Service;

/// Runs every queued continuation in its own task.
pub fn spawn_worker(service: Service, mut queue: UnboundedReceiver<Continuation>) {
    tokio::spawn(async move {
        while let Some(c) = queue.recv().await {
            let service = service.clone();
            tokio::spawn(async move {
                let owner = uuid::Uuid::new_v4().to_string();
                if let Err(e) = service.continue_execution(&c, &owner).await {
                    tracing::warn!(flow = %c.flow, execution = %c.name, code = e.code(), "continuation failed; the sweep retries it");
                }
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
