//! Driving one execution inside this invocation until it ends or its budget runs out. The
//! engine is pure and the shared [`Driver`] runs the tasks it asks for; time comes from the
//! service's clock. Every write is conditional on the execution's version (fencing): a
//! refused write means someone else moved the execution on (stopped it, or took over after
//! this invocation's lease expired), and this invocation stops without another write.

use std::time::Duration;

use serde_json::{Map, Value};

use super::Service;
use crate::dispatch::Continuation;
use crate::engine::{ExecutionContext, HistoryEvent, Outcome};
use crate::error::FnfError;
use crate::flow::{self, FlowType};
use crate::runner::{Driver, DriverState, Step};
use crate::store::{ExecutionRecord, ExecutionStatus, HistoryRecord, StoreError};

/// The error name of an execution whose stored definition no longer validates.
const DEFINITION_ERROR: &str = "FnF.DefinitionInvalid";
/// The error of an execution that ran past the execution timeout.
pub const EXECUTION_TIMEOUT_ERROR: &str = "FnF.Timeout";
/// The error name of an execution whose stored checkpoint cannot be read.
const CHECKPOINT_ERROR: &str = "FnF.CheckpointInvalid";
/// History events kept in memory before they are written out.
const HISTORY_FLUSH_EVENTS: usize = 5_000;
/// Largest checkpoint stored with an execution; DynamoDB items end at 400 KB, and the
/// execution item also holds its input, output and definition.
pub const MAX_CHECKPOINT_BYTES: usize = 128 * 1024;

impl Service {
    /// Drives `exec`, whose lease this invocation holds at `exec.version`, for at most
    /// `budget_ms`. Answers the execution as it stands afterwards.
    pub(super) async fn drive(
        &self,
        exec: ExecutionRecord,
        budget_ms: i64,
    ) -> Result<ExecutionRecord, FnfError> {
        let kind = FlowType::from_api(&exec.flow_type).unwrap_or(FlowType::CloudFlow);
        let model = match flow::parse(&exec.definition, kind) {
            Ok(model) => model,
            Err(e) => {
                return self
                    .end(
                        exec,
                        Outcome::Failed {
                            error: DEFINITION_ERROR.into(),
                            cause: e.to_string(),
                        },
                        Vec::new(),
                    )
                    .await;
            }
        };
        let ctx = ExecutionContext {
            flow_name: exec.flow.clone(),
            execution_name: exec.name.clone(),
            started_ms: exec.started_ms,
        };
        let mut driver = match exec.checkpoint.as_deref() {
            None => {
                // The claim checked that the input is a JSON object.
                let input: Map<String, Value> =
                    serde_json::from_str(&exec.input).unwrap_or_default();
                Driver::new(&model, ctx, input)
            }
            Some(text) => match serde_json::from_str::<DriverState>(text) {
                Ok(state) => Driver::resume(&model, ctx, state),
                Err(e) => {
                    let failed = Outcome::Failed {
                        error: CHECKPOINT_ERROR.into(),
                        cause: e.to_string(),
                    };
                    return self.end(exec, failed, Vec::new()).await;
                }
            },
        };
        let deadline = self.clock.now_ms().saturating_add(budget_ms);
        let mut events = Vec::new();
        // After a wait, "now" is at least the wait's end, whatever the clock's granularity.
        let mut not_before = i64::MIN;
        let times_out_at = exec.started_ms.saturating_add(self.execution_timeout_ms);
        loop {
            let now = self.clock.now_ms().max(not_before);
            if now >= times_out_at {
                return self.time_out(exec, events).await;
            }
            let step = driver.step(now);
            events.append(&mut driver.take_events());
            // Long runs write their history as they go, so memory stays bounded.
            if events.len() >= HISTORY_FLUSH_EVENTS {
                self.put_history(&exec, std::mem::take(&mut events)).await?;
            }
            match step {
                Step::Finished(outcome) => return self.end(exec, outcome, events).await,
                Step::Continue if now >= deadline => {
                    return self.park(exec, driver.state(), events, now).await;
                }
                Step::Continue => tokio::task::yield_now().await,
                Step::WaitUntil(until_ms) if until_ms > deadline => {
                    return self.park(exec, driver.state(), events, until_ms).await;
                }
                Step::WaitUntil(until_ms) => {
                    let wait = until_ms.saturating_sub(now).max(0) as u64;
                    tokio::time::sleep(Duration::from_millis(wait)).await;
                    not_before = until_ms;
                }
            }
        }
    }

    /// Writes the end of the execution: history, then the final record.
    async fn end(
        &self,
        mut exec: ExecutionRecord,
        outcome: Outcome,
        events: Vec<HistoryEvent>,
    ) -> Result<ExecutionRecord, FnfError> {
        self.put_history(&exec, events).await?;
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
        self.write_fenced(exec, expected, "execution ended").await
    }

    /// Checkpoints the execution, due at `due_ms`, and dispatches its continuation.
    async fn park(
        &self,
        mut exec: ExecutionRecord,
        state: &DriverState,
        events: Vec<HistoryEvent>,
        due_ms: i64,
    ) -> Result<ExecutionRecord, FnfError> {
        let checkpoint = serde_json::to_string(state).map_err(|e| {
            tracing::error!(error = %e, "checkpoint does not serialize");
            FnfError::Internal
        })?;
        if checkpoint.len() > MAX_CHECKPOINT_BYTES {
            let cause = format!(
                "the execution's state ({} bytes) exceeds the checkpoint limit of {MAX_CHECKPOINT_BYTES} bytes",
                checkpoint.len()
            );
            return self
                .end(
                    exec,
                    Outcome::Failed {
                        error: "FnF.CheckpointTooLarge".into(),
                        cause,
                    },
                    events,
                )
                .await;
        }
        self.put_history(&exec, events).await?;
        let expected = exec.version;
        exec.version += 1;
        exec.checkpoint = Some(checkpoint);
        (exec.lease_owner, exec.lease_until_ms) = (None, None);
        // If the dispatch below is lost, the sweep finds the execution by this time; a
        // long wait still wakes at the execution's timeout.
        let due_ms = due_ms.min(exec.started_ms.saturating_add(self.execution_timeout_ms));
        exec.due_ms = Some(due_ms);
        let parked = self
            .write_fenced(exec, expected, "execution parked")
            .await?;
        if parked.status == ExecutionStatus::Running && parked.checkpoint.is_some() {
            let next = Continuation {
                flow: parked.flow.clone(),
                name: parked.name.clone(),
                version: parked.version,
            };
            if let Err(e) = self.dispatcher.dispatch(next, Some(due_ms)).await {
                tracing::warn!(error = %e, "dispatch failed; the sweep will carry the execution on");
            }
        }
        Ok(parked)
    }

    /// Ends an execution that ran past the execution timeout.
    async fn time_out(
        &self,
        mut exec: ExecutionRecord,
        events: Vec<HistoryEvent>,
    ) -> Result<ExecutionRecord, FnfError> {
        self.put_history(&exec, events).await?;
        exec.error = Some(EXECUTION_TIMEOUT_ERROR.to_owned());
        exec.cause = Some(format!(
            "the execution ran longer than its timeout of {} s",
            self.execution_timeout_ms / 1000
        ));
        let expected = exec.close(ExecutionStatus::TimedOut, self.clock.now_ms());
        self.write_fenced(exec, expected, "execution timed out")
            .await
    }

    /// Stores history events; ids come from the engine, so a repeated write stores nothing twice.
    async fn put_history(
        &self,
        exec: &ExecutionRecord,
        events: Vec<HistoryEvent>,
    ) -> Result<(), FnfError> {
        if events.is_empty() {
            return Ok(());
        }
        let records: Vec<HistoryRecord> = events.into_iter().map(history_record).collect();
        Ok(self
            .store
            .put_history(&exec.flow, &exec.name, &records)
            .await?)
    }

    /// Writes `exec` if the stored version is still `expected`; otherwise answers what is
    /// stored, which someone else wrote (e.g. StopExecution).
    async fn write_fenced(
        &self,
        exec: ExecutionRecord,
        expected: u64,
        what: &str,
    ) -> Result<ExecutionRecord, FnfError> {
        match self.store.update_execution(&exec, expected).await {
            Ok(()) => {
                tracing::info!(flow = %exec.flow, execution = %exec.name, status = exec.status.as_str(), version = exec.version, "{what}");
                Ok(exec)
            }
            Err(StoreError::ConditionFailed) => {
                tracing::info!(flow = %exec.flow, execution = %exec.name, "fenced off: the execution moved on without this invocation");
                self.store
                    .get_execution(&exec.flow, &exec.name)
                    .await?
                    .ok_or(FnfError::Internal)
            }
            Err(e) => Err(e.into()),
        }
    }
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
