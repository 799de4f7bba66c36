//! Task tokens: a callback task's token is stored before its call goes out; a report
//! (ReportTaskSucceeded/ReportTaskFailed, or a child execution ending) records the result on
//! the token with one conditional write, so a result is taken once; then the waiting execution
//! is woken by a continuation.
//!
//! Wake-up without a lost signal: the reporter writes the token, then reads the execution; the
//! driving invocation parks, then reads its tokens again. Whichever comes second sees the
//! other's write, so either the reporter finds the execution parked and dispatches, or the
//! invocation finds the result and carries on.

use serde_json::{Value, json};

use super::Service;
use crate::engine::{self, TaskRequest, TaskResult};
use crate::error::FnfError;
use crate::runner::{Driver, DriverState};
use crate::store::{ExecutionRecord, ExecutionStatus, StoreError, TokenRecord};

/// Error names a parent task sees when its child execution did not succeed (our choice:
/// a failed child passes its own error on, so Retry/Catch can match it).
pub const CHILD_TIMED_OUT: &str = "FnF.ExecutionTimedOut";
pub const CHILD_STOPPED: &str = "FnF.ExecutionStopped";
/// How often a wake-up looks again when the execution moved under it.
const WAKE_ATTEMPTS: usize = 5;

/// How an execution with a `CallbackFnFTaskToken` ended, as its parent task sees it.
pub(super) struct ChildEnd(pub TaskResult);

impl ChildEnd {
    pub fn of(exec: &ExecutionRecord) -> ChildEnd {
        let error = exec.error.clone().unwrap_or_default();
        let cause = exec.cause.clone().unwrap_or_default();
        let described = |what: &str| {
            let mut cause = format!("child execution {}/{} {what}", exec.flow, exec.name);
            if !error.is_empty() {
                cause.push_str(&format!(": {error}"));
            }
            if !exec.cause.as_deref().unwrap_or_default().is_empty() {
                cause.push_str(&format!(": {}", exec.cause.as_deref().unwrap_or_default()));
            }
            cause
        };
        ChildEnd(match exec.status {
            ExecutionStatus::Succeeded => {
                let output = exec
                    .output
                    .as_deref()
                    .and_then(|o| serde_json::from_str(o).ok())
                    .unwrap_or_else(|| json!({}));
                TaskResult::Succeeded(output)
            }
            ExecutionStatus::Failed => TaskResult::Failed { error, cause },
            ExecutionStatus::TimedOut => TaskResult::Failed {
                error: CHILD_TIMED_OUT.into(),
                cause: described("timed out"),
            },
            _ => TaskResult::Failed {
                error: CHILD_STOPPED.into(),
                cause: described("was stopped"),
            },
        })
    }
}

/// Why a report was refused.
#[derive(Debug)]
enum Refused {
    Malformed,
    Unknown,
    Completed(&'static str),
}

impl Service {
    /// ReportTaskSucceeded / ReportTaskFailed: completes the task waiting on `token`.
    pub(super) async fn report_task(
        &self,
        token: &str,
        result: TaskResult,
    ) -> Result<(), FnfError> {
        match self.complete(token, result).await? {
            Ok(()) => Ok(()),
            Err(Refused::Malformed) => {
                Err(FnfError::InvalidTaskToken("the token is malformed".into()))
            }
            Err(Refused::Unknown) => Err(FnfError::InvalidTaskToken(
                "no task waits on this token".into(),
            )),
            Err(Refused::Completed(why)) => Err(FnfError::TaskAlreadyCompleted(why.into())),
        }
    }

    /// A child execution ended: its parent's task gets the result, once. A refusal (the
    /// parent's task already completed, timed out, or the parent ended) changes nothing.
    pub(super) async fn report_child_end(
        &self,
        token: &str,
        end: ChildEnd,
    ) -> Result<(), FnfError> {
        if let Err(refused) = self.complete(token, end.0).await? {
            tracing::info!(
                ?refused,
                "the parent task no longer takes this child's result"
            );
        }
        Ok(())
    }

    async fn complete(
        &self,
        token: &str,
        result: TaskResult,
    ) -> Result<Result<(), Refused>, FnfError> {
        if !engine::is_task_token(token) {
            return Ok(Err(Refused::Malformed));
        }
        let Some(record) = self.store.get_token(token).await? else {
            return Ok(Err(Refused::Unknown));
        };
        if record.result.is_some() {
            self.wake_if_waiting(&record).await?;
            return Ok(Err(Refused::Completed(
                "the task's result was already reported",
            )));
        }
        let exec = self
            .store
            .get_execution(&record.flow, &record.execution)
            .await?;
        let Some(exec) = exec.filter(|e| !e.status.is_ended()) else {
            return Ok(Err(Refused::Completed("the execution has ended")));
        };
        if !still_awaits(&exec, &record.task_id) {
            return Ok(Err(Refused::Completed(
                "the task no longer waits (it timed out, or its branch ended)",
            )));
        }
        let text = serde_json::to_string(&result).map_err(|_| FnfError::Internal)?;
        match self
            .store
            .complete_token(token, &record.flow, &text, self.clock.now_ms())
            .await
        {
            Ok(()) => {}
            Err(StoreError::ConditionFailed) => {
                return Ok(Err(Refused::Completed(
                    "the task's result was already reported",
                )));
            }
            Err(e) => return Err(e.into()),
        }
        tracing::info!(flow = %exec.flow, execution = %exec.name, task = %record.task_id, "task result reported");
        self.wake(&record.flow, &record.execution).await?;
        Ok(Ok(()))
    }

    /// A report repeated (by a caller whose first try failed after the result was stored,
    /// before the execution was woken) wakes the execution still waiting on that result:
    /// otherwise it would sleep until its task's timeout, or a year without one.
    async fn wake_if_waiting(&self, record: &TokenRecord) -> Result<(), FnfError> {
        let exec = self
            .store
            .view_execution(&record.flow, &record.execution)
            .await?;
        let Some(exec) = exec.filter(|e| !e.status.is_ended()) else {
            return Ok(());
        };
        let parked = exec.lease_owner.is_none() && exec.due_ms > Some(self.clock.now_ms());
        if parked && exec.checkpoint.is_some() {
            // The checkpoint is read only for a parked execution, the rare case.
            let Some(full) = self
                .store
                .get_execution(&record.flow, &record.execution)
                .await?
            else {
                return Ok(());
            };
            if still_awaits(&full, &record.task_id) {
                self.wake(&record.flow, &record.execution).await?;
            }
        }
        Ok(())
    }

    /// Makes an execution nobody drives now due at once (so neither its continuation nor the
    /// sweep takes it for an early wake-up) and dispatches its continuation; one being
    /// driven finds the result itself (see the module comment).
    async fn wake(&self, flow: &str, name: &str) -> Result<(), FnfError> {
        // Read after the token's write, never reuse an earlier read: a driver that parked
        // in between has already looked at the tokens, and only this read sees it parked
        // (module comment). A lost race means the execution moved: look again.
        for _ in 0..WAKE_ATTEMPTS {
            let Some(mut exec) = self.store.view_execution(flow, name).await? else {
                return Ok(());
            };
            let now = self.clock.now_ms();
            let driven = exec.lease_until_ms.is_some_and(|until| until > now);
            if exec.status.is_ended() || driven {
                return Ok(());
            }
            match self.store.make_due(flow, name, exec.version, now).await {
                Ok(()) => {
                    exec.version += 1;
                    self.send_continuation(&exec, None).await;
                    return Ok(());
                }
                Err(StoreError::ConditionFailed) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Stores the token of a callback task before its call goes out.
    pub(super) async fn register_token(
        &self,
        exec: &ExecutionRecord,
        call: &TaskRequest,
    ) -> Result<(), FnfError> {
        let Some(token) = &call.task_token else {
            return Ok(());
        };
        let record = TokenRecord {
            token: token.clone(),
            flow: exec.flow.clone(),
            execution: exec.name.clone(),
            task_id: call.id.clone(),
            created_ms: self.clock.now_ms(),
            result: None,
            completed_ms: None,
        };
        Ok(self.store.put_token(&record).await?)
    }

    /// Delivers the results reported to the tokens `driver` waits on; answers how many.
    pub(super) async fn collect_reports(&self, driver: &mut Driver<'_>) -> Result<usize, FnfError> {
        let mut delivered = 0;
        for (task_id, token) in driver.awaited_tokens() {
            let Some(record) = self.store.get_token(&token).await? else {
                continue;
            };
            let Some(text) = record.result else { continue };
            let result =
                serde_json::from_str::<TaskResult>(&text).unwrap_or_else(|e| TaskResult::Failed {
                    error: engine::RUNTIME_ERROR.into(),
                    cause: format!("the reported result cannot be read: {e}"),
                });
            driver.deliver(&task_id, result, self.clock.now_ms());
            delivered += 1;
        }
        Ok(delivered)
    }

    /// After parking: a result reported meanwhile, which the reporter could not hand over
    /// (this invocation still held the lease), is handed over now.
    pub(super) async fn recheck_after_park(
        &self,
        parked: &ExecutionRecord,
        tokens: &[(String, String)],
    ) -> Result<(), FnfError> {
        if parked.status.is_ended() || parked.lease_owner.is_some() {
            return Ok(());
        }
        for (_, token) in tokens {
            let reported = self
                .store
                .get_token(token)
                .await?
                .is_some_and(|t| t.result.is_some());
            if reported {
                return self.wake(&parked.flow, &parked.name).await;
            }
        }
        Ok(())
    }
}

/// Whether the stored state of `exec` still waits on task `task_id`. The state is stored
/// before a callback task's call goes out, so a live token's task is always in it.
fn still_awaits(exec: &ExecutionRecord, task_id: &str) -> bool {
    exec.checkpoint
        .as_deref()
        .and_then(|c| serde_json::from_str::<DriverState>(c).ok())
        .is_none_or(|state| state.awaits(task_id))
}

/// The output a fire-and-forget child task gives: who was started, and how it stands.
pub(super) fn started_child(exec: &ExecutionRecord) -> Value {
    json!({
        "FlowName": exec.flow,
        "ExecutionName": exec.name,
        "Status": exec.status.as_str(),
    })
}
