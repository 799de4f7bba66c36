//! Driving one execution inside this invocation until it ends or its budget runs out. The
//! engine is pure; the shared [`Driver`] keeps the calls it asks for in flight, this loop
//! makes them concurrently (after storing the state, so a crash repeats at most those calls),
//! and time comes from the service's clock.

use std::time::Duration;

use serde_json::{Map, Value};
use tokio::task::JoinSet;

use super::Service;
use super::settle::Saved;
use crate::engine::{ExecutionContext, HistoryEvent, Outcome, TaskRequest, TaskResult};
use crate::error::FnfError;
use crate::flow::{self, FlowType};
use crate::runner::limits::ExecutionLimits;
use crate::runner::{Driver, DriverState, Step};
use crate::store::ExecutionRecord;

/// The error name of an execution whose stored definition no longer validates.
const DEFINITION_ERROR: &str = "FnF.DefinitionInvalid";
/// The error name of an execution whose stored checkpoint cannot be read.
const CHECKPOINT_ERROR: &str = "FnF.CheckpointInvalid";
/// History events kept in memory before they are written out, by count and by bytes (events
/// carrying long error causes weigh up to 2 KiB each).
const HISTORY_FLUSH_EVENTS: usize = 5_000;
const HISTORY_FLUSH_BYTES: u64 = 1024 * 1024;
/// While calls are in flight and callbacks awaited, reported results are looked for this often.
const REPORT_POLL_MS: i64 = 1_000;

/// Calls in flight: each answers (task id, result).
type Calls = JoinSet<(String, TaskResult)>;

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
                let failed = Outcome::Failed {
                    error: DEFINITION_ERROR.into(),
                    cause: e.to_string(),
                };
                return self.end(exec, failed, Vec::new()).await;
            }
        };
        let ctx = ExecutionContext {
            flow_name: exec.flow.clone(),
            execution_name: exec.name.clone(),
            started_ms: exec.started_ms,
            secret: uuid::Uuid::new_v4().simple().to_string(),
            account: match self.account.as_str() {
                crate::store::scoped::DEFAULT_ACCOUNT => String::new(),
                other => other.to_owned(),
            },
        };
        let driver = match exec.checkpoint.as_deref() {
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
        self.run_loop(exec, driver.with_integrations(), budget_ms)
            .await
    }

    async fn run_loop(
        &self,
        mut exec: ExecutionRecord,
        mut driver: Driver<'_>,
        budget_ms: i64,
    ) -> Result<ExecutionRecord, FnfError> {
        let started = self.clock.now_ms();
        let deadline = started.saturating_add(budget_ms);
        // A slow setup may have left the lease shorter than the budget (`lease`).
        exec = match self.keep_lease(exec, started, deadline).await? {
            Saved::Held(exec) => exec,
            Saved::Lost(stored) => return Ok(stored),
        };
        let times_out_at = exec.started_ms.saturating_add(self.execution_timeout_ms);
        let limits = self.execution_limits().await?;
        let mut events = Vec::new();
        // `exec.history_bytes` when the buffered events started: what they weigh is the rest.
        let mut flushed_bytes = exec.history_bytes;
        let mut calls = Calls::new();
        // Calls a crashed or parked invocation left unanswered are made again (same keys),
        // their tokens stored first: that invocation may have ended between storing the call
        // and its token (a repeated store of a token changes nothing).
        for call in driver.unanswered_calls() {
            self.register_token(&exec, &call).await?;
            self.start_call(&mut calls, call, exec.depth);
        }
        let mut look_for_reports = !driver.awaited_tokens().is_empty();
        // After a wait, "now" is at least the wait's end, whatever the clock's granularity.
        let mut not_before = i64::MIN;
        loop {
            let now = self.clock.now_ms().max(not_before);
            if now >= times_out_at {
                return self.time_out(exec, events).await;
            }
            let step = driver.step(now);
            if let Some(failed) = take_events(&mut driver, &mut exec, &mut events, &limits) {
                return self.end(exec, failed, events).await;
            }
            let new_calls = driver.take_calls();
            // Child starts past the bounds are answered here; the rest are counted in `exec`
            // and stored with it before they go out.
            let (new_calls, refused) = self.forks.admit(&mut exec, &mut driver, new_calls, now);
            if !new_calls.is_empty() {
                let saved = self
                    .save(exec, driver.state(), std::mem::take(&mut events))
                    .await?;
                exec = match saved {
                    Saved::Held(exec) => exec,
                    Saved::Lost(stored) => return Ok(stored),
                };
                flushed_bytes = exec.history_bytes;
                for call in new_calls {
                    self.register_token(&exec, &call).await?;
                    self.start_call(&mut calls, call, exec.depth);
                }
            }
            // Long runs write their history as they go, so memory stays bounded.
            let buffered = exec.history_bytes.saturating_sub(flushed_bytes);
            if events.len() >= HISTORY_FLUSH_EVENTS || buffered >= HISTORY_FLUSH_BYTES {
                self.put_history(&exec, std::mem::take(&mut events)).await?;
                flushed_bytes = exec.history_bytes;
                // A loop that makes no calls writes no checkpoint, so without this it would
                // notice a StopExecution only when its budget ends.
                if let Some(stored) = self.moved_on(&exec).await? {
                    return Ok(stored);
                }
            }
            let until = match step {
                Step::Finished(outcome) => return self.end(exec, outcome, events).await,
                // Refused child starts have their results: step on them now.
                _ if refused => continue,
                Step::Continue if now >= deadline => {
                    return self.park(exec, driver.state(), events, now).await;
                }
                Step::Continue => {
                    tokio::task::yield_now().await;
                    continue;
                }
                Step::Wait { until } => until,
            };
            if look_for_reports {
                look_for_reports = false;
                if self.collect_reports(&mut driver).await? > 0 {
                    continue;
                }
            }
            let awaited = driver.awaited_tokens();
            if calls.is_empty() {
                // Only time or a report can move the execution: sleep a short wait out, park
                // for a long one (or for a report).
                match until {
                    Some(t) if t <= deadline => {
                        sleep_until(now, t).await;
                        not_before = t;
                    }
                    _ => {
                        let due = until.unwrap_or(times_out_at);
                        let parked = self.park(exec, driver.state(), events, due).await?;
                        self.recheck_after_park(&parked, &awaited).await?;
                        return Ok(parked);
                    }
                }
                continue;
            }
            // Calls in flight: wait for the first answer, the next timer, a poll for reports,
            // or the end of the budget (the calls are then made again by the continuation).
            let mut wake = until.unwrap_or(i64::MAX).min(deadline);
            if !awaited.is_empty() {
                wake = wake.min(now.saturating_add(REPORT_POLL_MS));
            }
            tokio::select! {
                answered = calls.join_next() => {
                    if let Some(Ok((task_id, result))) = answered {
                        let at = self.clock.now_ms().max(now);
                        driver.call_answered(&task_id, result, at);
                        look_for_reports = !driver.awaited_tokens().is_empty();
                    }
                }
                _ = sleep_until(now, wake) => {
                    if wake >= deadline && until.is_none_or(|t| t > deadline) {
                        return self.park(exec, driver.state(), events, deadline).await;
                    }
                    look_for_reports = !awaited.is_empty();
                    if until.is_some_and(|t| t <= wake) {
                        not_before = wake;
                    }
                }
            }
        }
    }

    /// The execution as stored, when someone else moved it on (stopped it, or took over). The
    /// item alone is read, never a checkpoint kept beside it.
    async fn moved_on(&self, exec: &ExecutionRecord) -> Result<Option<ExecutionRecord>, FnfError> {
        let stored = self.store.view_execution(&exec.flow, &exec.name).await?;
        let stored = stored.ok_or(FnfError::Internal)?;
        Ok((stored.version != exec.version).then_some(stored))
    }

    /// Makes one call of an execution at `depth` concurrently with the rest of it.
    fn start_call(&self, calls: &mut Calls, call: TaskRequest, depth: u32) {
        let svc = self.clone();
        calls.spawn(async move {
            let result = svc.call_task(&call, depth).await;
            (call.id, result)
        });
    }
}

/// Moves the events of the last step into `events`, counted against the execution's caps:
/// past one, the failure that ends the execution (its events cut where it passed the cap).
fn take_events(
    driver: &mut Driver<'_>,
    exec: &mut ExecutionRecord,
    events: &mut Vec<HistoryEvent>,
    limits: &ExecutionLimits,
) -> Option<Outcome> {
    let mut new = driver.take_events();
    let transitions = driver.checkpoint().transitions();
    let failed = limits.record(transitions, &mut exec.history_bytes, &mut new);
    events.append(&mut new);
    failed
}

async fn sleep_until(now: i64, until: i64) {
    let wait = until.saturating_sub(now).max(0) as u64;
    tokio::time::sleep(Duration::from_millis(wait)).await;
}
