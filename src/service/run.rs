//! Driving the engine for one execution inside this invocation, and recording how it ended.
//! The engine is pure; time comes from the service's clock, waits sleep here.

use std::time::Duration;

use serde_json::{Map, Value};

use super::Service;
use crate::engine::{self, ExecutionContext, Outcome, Progress};
use crate::error::FnfError;
use crate::flow::{self, FlowType};
use crate::store::{ExecutionRecord, ExecutionStatus, StoreError};

/// Transitions between checks of the async runtime, so long flows do not starve other tasks.
const TRANSITIONS_PER_SLICE: u32 = 1024;

/// The error name of an execution whose stored definition no longer validates.
const DEFINITION_ERROR: &str = "FnF.DefinitionInvalid";

impl Service {
    /// Runs a freshly claimed execution (version 1) to its end and writes the end state,
    /// conditional on the version, so a concurrent writer is never overwritten.
    pub(super) async fn run_to_end(
        &self,
        mut exec: ExecutionRecord,
    ) -> Result<ExecutionRecord, FnfError> {
        let outcome = self.run_flow(&exec).await;
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

    async fn run_flow(&self, exec: &ExecutionRecord) -> Outcome {
        let kind = FlowType::from_api(&exec.flow_type).unwrap_or(FlowType::CloudFlow);
        let model = match flow::parse(&exec.definition, kind) {
            Ok(model) => model,
            Err(e) => {
                return Outcome::Failed {
                    error: DEFINITION_ERROR.into(),
                    cause: e.to_string(),
                };
            }
        };
        // The claim checked that the input is a JSON object.
        let input: Map<String, Value> = serde_json::from_str(&exec.input).unwrap_or_default();
        let ctx = ExecutionContext {
            flow_name: exec.flow.clone(),
            execution_name: exec.name.clone(),
            started_ms: exec.started_ms,
        };
        let mut checkpoint = engine::start(&model, input);
        // After a wait, "now" is at least the wait's end, whatever the clock's granularity.
        let mut not_before = i64::MIN;
        loop {
            let now = self.clock.now_ms().max(not_before);
            match engine::advance(&model, &mut checkpoint, &ctx, now, TRANSITIONS_PER_SLICE) {
                Progress::Finished(outcome) => return outcome,
                Progress::Yielded => tokio::task::yield_now().await,
                Progress::WaitUntil { until_ms } => {
                    let wait = until_ms.saturating_sub(now).max(0) as u64;
                    tokio::time::sleep(Duration::from_millis(wait)).await;
                    not_before = until_ms;
                }
            }
        }
    }
}
