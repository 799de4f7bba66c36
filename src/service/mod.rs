//! The use cases: one file per fnf action. The service knows the store only by its trait and
//! time only through the injected clock.

mod create_flow;
mod delete_flow;
mod describe_execution;
mod describe_flow;
mod get_execution_history;
mod list_executions;
mod list_flows;
pub mod params;
mod run;
mod start_execution;
mod update_flow;
mod views;

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::api::FnfRequest;
use crate::clock::Clock;
use crate::error::FnfError;
use crate::store::Store;

/// Everything an action needs: the store and the clock.
#[derive(Clone)]
pub struct Service {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
}

impl Service {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Service {
        Service { store, clock }
    }

    /// Runs one action; the answer's fields, without `RequestId` (the API layer adds it).
    pub async fn call(&self, req: &FnfRequest) -> Result<Map<String, Value>, FnfError> {
        let p = &req.params;
        match req.action.as_str() {
            "CreateFlow" => create_flow::handle(self, p).await,
            "UpdateFlow" => update_flow::handle(self, p).await,
            "DescribeFlow" => describe_flow::handle(self, p).await,
            "DeleteFlow" => delete_flow::handle(self, p).await,
            "ListFlows" => list_flows::handle(self, p).await,
            "StartExecution" => start_execution::handle(self, p).await,
            "DescribeExecution" => describe_execution::handle(self, p).await,
            "ListExecutions" => list_executions::handle(self, p).await,
            "GetExecutionHistory" => get_execution_history::handle(self, p).await,
            other => Err(FnfError::ActionNotSupported(truncate(other, 64))),
        }
    }
}

/// Echoes caller text into messages only up to a bound.
fn truncate(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}
