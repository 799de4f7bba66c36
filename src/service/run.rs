//! Driving one execution inside this invocation, and recording how it ended. The engine is
//! pure and the shared [`Driver`] runs the tasks it asks for; time comes from the service's
//! clock, and waits sleep here.

use std::time::Duration;

use serde_json::{Map, Value};

use super::Service;
use crate::engine::{ExecutionContext, HistoryEvent, Outcome};
use crate::error::FnfError;
use crate::flow::{self, FlowType};
use crate::runner::{Driver, Step};
use crate::store::{ExecutionRecord, ExecutionStatus, HistoryRecord, StoreError};

/// The error name of an execution whose stored definition no longer validates.
const DEFINITION_ERROR: &str = "FnF.DefinitionInvalid";

impl Service {
    /// Runs a freshly claimed execution (version 1) to its end, stores its history, then
    /// writes the end state conditional on the version, so a concurrent writer is never
    /// overwritten. History ids come from the engine, so a repeated write stores nothing twice.
    pub(super) async fn run_to_end(
        &self,
        mut exec: ExecutionRecord,
    ) -> Result<ExecutionRecord, FnfError> {
        let (outcome, events) = self.run_flow(&exec).await;
        let records: Vec<HistoryRecord> = events.into_iter().map(history_record).collect();
        self.store
            .put_history(&exec.flow, &exec.name, &records)
            .await?;
        let expected = exec.version;
        exec.version += 1;
        exec.stopped_ms = Some(self.clock.now_ms());
        match outcome {
            Outcome::Succeeded { output } => {
                exec.status = ExecutionStatus::Succeeded;
                exec.output = Some(Value::Object(output).to_string());
            }
            Outcome::Failed { error, cause } => {
                exec.status = ExecutionStatus::Failed;
                exec.error = Some(error);
                exec.cause = Some(cause);
            }
        }
        match self.store.update_execution(&exec, expected).await {
            Ok(()) => {
                tracing::info!(flow = %exec.flow, execution = %exec.name, status = exec.status.as_str(), "execution ended");
                Ok(exec)
            }
            // Someone else moved the execution on (e.g. stopped it): theirs is the truth.
            Err(StoreError::ConditionFailed) => self
                .store
                .get_execution(&exec.flow, &exec.name)
                .await?
                .ok_or(FnfError::Internal),
            Err(e) => Err(e.into()),
        }
    }

    async fn run_flow(&self, exec: &ExecutionRecord) -> (Outcome, Vec<HistoryEvent>) {
        let kind = FlowType::from_api(&exec.flow_type).unwrap_or(FlowType::CloudFlow);
        let model = match flow::parse(&exec.definition, kind) {
            Ok(model) => model,
            Err(e) => {
                let failed = Outcome::Failed {
                    error: DEFINITION_ERROR.into(),
                    cause: e.to_string(),
                };
                return (failed, Vec::new());
            }
        };
        // The claim checked that the input is a JSON object.
        let input: Map<String, Value> = serde_json::from_str(&exec.input).unwrap_or_default();
        let ctx = ExecutionContext {
            flow_name: exec.flow.clone(),
            execution_name: exec.name.clone(),
            started_ms: exec.started_ms,
        };
        let mut driver = Driver::new(&model, ctx, input);
        let mut events = Vec::new();
        // After a wait, "now" is at least the wait's end, whatever the clock's granularity.
        let mut not_before = exec.started_ms;
        loop {
            let now = self.clock.now_ms().max(not_before);
            let step = driver.step(now);
            events.append(&mut driver.take_events());
            match step {
                Step::Finished(outcome) => return (outcome, events),
                Step::Continue => tokio::task::yield_now().await,
                Step::WaitUntil(until_ms) => {
                    let wait = until_ms.saturating_sub(now).max(0) as u64;
                    tokio::time::sleep(Duration::from_millis(wait)).await;
                    not_before = until_ms;
                }
            }
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
