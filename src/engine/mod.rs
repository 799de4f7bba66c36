//! PLACEHOLDER until the engine lands (being written in parallel).
use crate::flow::Flow;
use serde_json::{Map, Value};
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct Checkpoint {
    data: Map<String, Value>,
    done: bool,
}
pub struct ExecutionContext {
    pub flow_name: String,
    pub execution_name: String,
    pub started_ms: i64,
}
pub fn start(_flow: &Flow, input: Map<String, Value>) -> Checkpoint {
    Checkpoint {
        data: input,
        done: false,
    }
}
pub fn advance(
    _flow: &Flow,
    cp: &mut Checkpoint,
    _ctx: &ExecutionContext,
    _now_ms: i64,
    _max: u32,
) -> Progress {
    Progress::Finished(Outcome::Succeeded {
        output: cp.data.clone(),
    })
}
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    Finished(Outcome),
    WaitUntil { until_ms: i64 },
    Yielded,
}
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Succeeded { output: Map<String, Value> },
    Failed { error: String, cause: String },
}
