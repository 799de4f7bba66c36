//! The writes that move a driven execution: a checkpoint before calls go out, parking it for a
//! continuation, and its end. Each is conditional on the execution's version (fencing): a
//! refused write means someone else moved the execution on (stopped it, or took over after
//! this invocation's lease expired), and this invocation stops without another write.

use serde_json::Value;

use super::Service;
use super::callbacks::ChildEnd;
use crate::dispatch::Continuation;
use crate::engine::{HistoryEvent, Outcome};
use crate::error::FnfError;
use crate::runner::DriverState;
use crate::store::scoped::stored_flow_name;
use crate::store::{ExecutionRecord, ExecutionStatus, HistoryRecord, StoreError};

/// The error of an execution that ran past the execution timeout.
pub const EXECUTION_TIMEOUT_ERROR: &str = "FnF.Timeout";
/// Largest checkpoint of an execution. DynamoDB keeps one beyond what fits in the execution's
/// item in parts beside it (`store/dynamo/spill.rs`); this bounds what one invocation writes
/// and reads back (a 10,000-item Map over small items parks in a few hundred KB).
/// The engine fails an execution whose live state outgrows it before it comes to this.
pub const MAX_CHECKPOINT_BYTES: usize = crate::engine::MAX_STATE_BYTES;
const CHECKPOINT_TOO_LARGE: &str = crate::engine::STATE_TOO_LARGE_ERROR;
/// At most this much of an ending execution's history is kept in its final record: a 10-state
/// flow's 22 events fit, and the record stays well within a DynamoDB item beside the largest
/// definition, input and output.
const MAX_KEPT_HISTORY_BYTES: u64 = 16 * 1024;

/// Rounds of a driving write (each the store's own retries, `FNF_STORE_MAX_ATTEMPTS`) before
/// the invocation gives up: at 8 tries a round, three rounds ride out about 7 s of outage.
const DRIVEN_WRITE_ROUNDS: u32 = 3;
/// Pause before the second round; the third waits twice as long.
const DRIVEN_WRITE_PAUSE_MS: u64 = 500;

/// What a checkpoint write found.
pub(super) enum Saved {
    /// Stored; this invocation still holds the lease at the new version.
    Held(ExecutionRecord),
    /// Refused or ended: the execution as it stands, not this invocation's any more.
    Lost(ExecutionRecord),
}

impl Service {
    /// Writes the end of the execution: history, the final record, then the report to a
    /// parent waiting on it (see `close_out`).
    pub(super) async fn end(
        &self,
        mut exec: ExecutionRecord,
        outcome: Outcome,
        events: Vec<HistoryEvent>,
    ) -> Result<ExecutionRecord, FnfError> {
        self.keep_history(&mut exec, events).await?;
        let now = self.clock.now_ms();
        let expected = match outcome {
            Outcome::Succeeded { output } => {
                exec.output = Some(Value::Object(output).to_string());
                exec.close(ExecutionStatus::Succeeded, now)
            }
            Outcome::Failed { error, cause } => {
                (exec.error, exec.cause) = (Some(error), Some(cause));
                exec.close(ExecutionStatus::Failed, now)
            }
        };
        self.close_out(exec, expected, "execution ended").await
    }

    /// Ends an execution that ran past the execution timeout.
    pub(super) async fn time_out(
        &self,
        mut exec: ExecutionRecord,
        events: Vec<HistoryEvent>,
    ) -> Result<ExecutionRecord, FnfError> {
        self.keep_history(&mut exec, events).await?;
        exec.error = Some(EXECUTION_TIMEOUT_ERROR.to_owned());
        exec.cause = Some(format!(
            "the execution ran longer than its timeout of {} s",
            self.execution_timeout_ms / 1000
        ));
        let expected = exec.close(ExecutionStatus::TimedOut, self.clock.now_ms());
        self.close_out(exec, expected, "execution timed out").await
    }

    /// Writes the final record of an execution `close`d at version `expected`, then reports
    /// to the parent's token. Until the report is done the ended execution stays due (an
    /// outbox): should this invocation die in between, the sweep finds it and reports.
    pub(super) async fn close_out(
        &self,
        mut exec: ExecutionRecord,
        expected: u64,
        what: &str,
    ) -> Result<ExecutionRecord, FnfError> {
        // The slot goes back before the end is written rather than through the outbox: two
        // writes less for an execution that reports to nobody (every start takes a slot by
        // default). Dying in between leaves the execution running with its slot already
        // back (the limit admits one more for a while), never an ended one holding a slot.
        if exec.holds_slot {
            self.store_root()
                .release_slot(&self.account, &exec.slot_holder())
                .await?;
            exec.holds_slot = false;
        }
        if exec.has_end_work() {
            exec.due_ms = exec.stopped_ms;
        }
        let written = self.write_fenced(exec, expected, what).await?;
        self.report_end(written).await
    }

    /// Does the work an ended execution that is still due has left: gives its slot back and
    /// reports to the task token it was started with, then takes it off the due list. Both
    /// are idempotent (a slot is released by holder, a token takes one result), so repeating
    /// this after a crash is harmless.
    pub(super) async fn report_end(
        &self,
        exec: ExecutionRecord,
    ) -> Result<ExecutionRecord, FnfError> {
        if !exec.status.is_ended() || exec.due_ms.is_none() || !exec.has_end_work() {
            return Ok(exec);
        }
        if exec.holds_slot {
            self.store_root()
                .release_slot(&self.account, &exec.slot_holder())
                .await?;
        }
        if let Some(token) = &exec.callback_token {
            self.report_child_end(token, ChildEnd::of(&exec)).await?;
        }
        let mut reported = exec;
        let expected = reported.version;
        reported.version += 1;
        reported.due_ms = None;
        self.write_fenced(reported, expected, "end reported").await
    }

    /// Stores the driver's state with the lease kept: done before calls go out, so a crash
    /// repeats at most those calls (with the same idempotency keys).
    pub(super) async fn save(
        &self,
        mut exec: ExecutionRecord,
        state: &DriverState,
        events: Vec<HistoryEvent>,
    ) -> Result<Saved, FnfError> {
        let checkpoint = match encode(state)? {
            Ok(text) => text,
            Err(failed) => return self.end(exec, failed, events).await.map(Saved::Lost),
        };
        self.put_history(&exec, events).await?;
        let expected = exec.version;
        exec.version += 1;
        exec.checkpoint = Some(checkpoint);
        self.hold(exec, expected).await
    }

    /// Checkpoints the execution, due at `due_ms`, and dispatches its continuation.
    pub(super) async fn park(
        &self,
        mut exec: ExecutionRecord,
        state: &DriverState,
        events: Vec<HistoryEvent>,
        due_ms: i64,
    ) -> Result<ExecutionRecord, FnfError> {
        let checkpoint = match encode(state)? {
            Ok(text) => text,
            Err(failed) => return self.end(exec, failed, events).await,
        };
        self.put_history(&exec, events).await?;
        let expected = exec.version;
        exec.version += 1;
        exec.checkpoint = Some(checkpoint);
        (exec.lease_owner, exec.lease_until_ms) = (None, None);
        // Handed back: whatever killed earlier invocations, this one got through.
        exec.abandoned = 0;
        // If the dispatch below is lost, the sweep finds the execution by this time; a
        // long wait still wakes at the execution's timeout.
        let due_ms = due_ms.min(exec.started_ms.saturating_add(self.execution_timeout_ms));
        exec.due_ms = Some(due_ms);
        let parked = self
            .write_fenced(exec, expected, "execution parked")
            .await?;
        if parked.status == ExecutionStatus::Running && parked.checkpoint.is_some() {
            self.send_continuation(&parked, Some(due_ms)).await;
        }
        Ok(parked)
    }

    /// Asks for a continuation of `exec` at its current version.
    pub(super) async fn send_continuation(&self, exec: &ExecutionRecord, due_ms: Option<i64>) {
        let next = Continuation {
            flow: stored_flow_name(&self.account, &exec.flow),
            name: exec.name.clone(),
            version: exec.version,
        };
        if let Err(e) = self.dispatcher.dispatch(next, due_ms).await {
            tracing::warn!(error = %e, "dispatch failed; the sweep will carry the execution on");
        }
    }

    /// The last events of an ending execution: kept in its final record when they are few
    /// (written with it, by the same fenced write), else stored as items of their own.
    async fn keep_history(
        &self,
        exec: &mut ExecutionRecord,
        events: Vec<HistoryEvent>,
    ) -> Result<(), FnfError> {
        let records: Vec<HistoryRecord> = events.into_iter().map(history_record).collect();
        let size: u64 = records.iter().map(HistoryRecord::stored_bytes).sum();
        if size <= MAX_KEPT_HISTORY_BYTES {
            exec.history = records;
            return Ok(());
        }
        self.put_records(exec, &records).await
    }

    /// Stores history events; ids come from the engine, so a repeated write stores nothing twice.
    pub(super) async fn put_history(
        &self,
        exec: &ExecutionRecord,
        events: Vec<HistoryEvent>,
    ) -> Result<(), FnfError> {
        let records: Vec<HistoryRecord> = events.into_iter().map(history_record).collect();
        self.put_records(exec, &records).await
    }

    async fn put_records(
        &self,
        exec: &ExecutionRecord,
        records: &[HistoryRecord],
    ) -> Result<(), FnfError> {
        if records.is_empty() {
            return Ok(());
        }
        Ok(self
            .store
            .put_history(&exec.flow, &exec.name, records)
            .await?)
    }

    /// Writes `exec` if the stored version is still `expected`; otherwise answers what is
    /// stored, which someone else wrote (e.g. StopExecution).
    pub(super) async fn write_fenced(
        &self,
        exec: ExecutionRecord,
        expected: u64,
        what: &str,
    ) -> Result<ExecutionRecord, FnfError> {
        Ok(match self.hold(exec, expected).await? {
            Saved::Held(exec) => {
                tracing::info!(flow = %exec.flow, execution = %exec.name, status = exec.status.as_str(), version = exec.version, "{what}");
                exec
            }
            Saved::Lost(stored) => stored,
        })
    }
}

impl Service {
    /// The fenced write of `exec`, already at version `expected + 1`, by the invocation that
    /// drives it: `Held`, or `Lost` with the execution as it stands when someone else moved it
    /// on (a refused write is never retried: it is the fencing).
    pub(super) async fn hold(
        &self,
        exec: ExecutionRecord,
        expected: u64,
    ) -> Result<Saved, FnfError> {
        match self.update_driven(&exec, expected).await {
            Ok(()) => Ok(Saved::Held(exec)),
            Err(StoreError::ConditionFailed) => {
                tracing::info!(flow = %exec.flow, execution = %exec.name, "fenced off: the execution moved on without this invocation");
                let stored = self.store.get_execution(&exec.flow, &exec.name).await?;
                Ok(Saved::Lost(stored.ok_or(FnfError::Internal)?))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// A driving invocation's fenced write, tried again for a few rounds after the store's own
    /// retries give up on a throttle or an outage: giving up would leave the execution to a
    /// take-over, which makes its calls in flight again (a task call twice for one attempt).
    /// Repeating is safe: a write that was applied is recognized by the store, and one that
    /// comes after a take-over is fenced off.
    async fn update_driven(&self, exec: &ExecutionRecord, expected: u64) -> Result<(), StoreError> {
        let mut round = 1;
        loop {
            match self.store.update_execution(exec, expected).await {
                Err(e @ (StoreError::Throttled | StoreError::Backend(_)))
                    if round < DRIVEN_WRITE_ROUNDS =>
                {
                    tracing::warn!(flow = %exec.flow, execution = %exec.name, round, error = %e, "a fenced write failed; trying again");
                    let pause = DRIVEN_WRITE_PAUSE_MS.saturating_mul(u64::from(round));
                    tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
                    round += 1;
                }
                other => return other,
            }
        }
    }
}

/// The state as stored text, or (beyond the checkpoint limit) the failure that ends the
/// execution instead.
fn encode(state: &DriverState) -> Result<Result<String, Outcome>, FnfError> {
    let text = serde_json::to_string(state).map_err(|e| {
        tracing::error!(error = %e, "checkpoint does not serialize");
        FnfError::Internal
    })?;
    if text.len() <= MAX_CHECKPOINT_BYTES {
        return Ok(Ok(text));
    }
    Ok(Err(Outcome::Failed {
        error: CHECKPOINT_TOO_LARGE.into(),
        cause: format!(
            "the execution's state ({} bytes) exceeds the checkpoint limit of {MAX_CHECKPOINT_BYTES} bytes",
            text.len()
        ),
    }))
}

fn history_record(e: HistoryEvent) -> HistoryRecord {
    HistoryRecord {
        id: e.id,
        kind: e.kind.as_str().to_owned(),
        step_name: e.step_name,
        schedule_event_id: e.schedule_event_id,
        time_ms: e.time_ms,
        // EventDetail is always a JSON object as text.
        detail: if e.detail.is_null() {
            "{}".to_owned()
        } else {
            e.detail.to_string()
        },
    }
}
