//! StopExecution: ends a running execution `Stopped` with the caller's error and cause. The
//! write is fenced like every other, so an invocation still driving the execution finds its
//! next write refused and stops.

use super::Service;
use super::params;
use super::views::{self, Fields};
use crate::api::Params;
use crate::error::FnfError;
use crate::store::{ExecutionStatus, StoreError};

/// Longest Error / Cause kept, in bytes.
const MAX_ERROR_BYTES: usize = 128;
const MAX_CAUSE_BYTES: usize = 32 * 1024;
/// Concurrent writers are outwaited this many times.
const ATTEMPTS: usize = 10;

pub async fn handle(svc: &Service, p: &Params) -> Result<Fields, FnfError> {
    let flow = params::name(p, "FlowName")?;
    let name = params::name(p, "ExecutionName")?;
    let error = params::text(p, "Error", MAX_ERROR_BYTES)?.unwrap_or_default();
    let cause = params::text(p, "Cause", MAX_CAUSE_BYTES)?.unwrap_or_default();
    for _ in 0..ATTEMPTS {
        let mut exec = svc.store.get_execution(flow, name).await?.ok_or_else(|| {
            FnfError::ExecutionNotExists {
                flow: flow.to_owned(),
                execution: name.to_owned(),
            }
        })?;
        if exec.status.is_ended() {
            return Err(FnfError::ExecutionAlreadyStopped {
                flow: flow.to_owned(),
                execution: name.to_owned(),
            });
        }
        exec.error = Some(error.to_owned());
        exec.cause = Some(cause.to_owned());
        let now = svc.clock.now_ms();
        let expected = exec.close(ExecutionStatus::Stopped, now);
        // A parent waiting on this execution hears of the stop (see `close_out`).
        if exec.has_end_work() {
            exec.due_ms = Some(now);
        }
        match svc.store.update_execution(&exec, expected).await {
            Ok(()) => {
                tracing::info!(flow, execution = name, "execution stopped");
                let exec = svc.report_end(exec).await?;
                return Ok(views::execution(&exec));
            }
            // The driving invocation wrote in between: read again and retry.
            Err(StoreError::ConditionFailed) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(FnfError::ResourceThrottled)
}
