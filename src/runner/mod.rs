//! Running a definition to its end in memory, on virtual time: waits, retry intervals and
//! task sleeps take no real time. `fnf-lambda run` and the conformance suite use it; tasks are
//! the built-in test tasks. [`Driver`] is the loop shared with the service, which runs on real
//! time instead.

mod driver;
pub mod limits;

pub use driver::{Driver, DriverState, Step};

use serde_json::{Map, Value};

use crate::engine::{self, EventKind, ExecutionContext, HistoryEvent, Outcome};
use crate::flow::{self, DefinitionError, FlowType};
use limits::ExecutionLimits;

#[derive(Debug, Clone)]
pub struct RunOptions {
    pub flow_name: String,
    pub execution_name: String,
    /// Virtual start time, epoch milliseconds.
    pub start_ms: i64,
    /// The caps of a deployed execution, so a flow that loops forever stops here the same way.
    pub limits: ExecutionLimits,
}

impl Default for RunOptions {
    fn default() -> RunOptions {
        RunOptions {
            flow_name: "test-flow".into(),
            execution_name: "exec-1".into(),
            start_ms: 1_700_000_000_000,
            limits: ExecutionLimits::default(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct LocalRun {
    pub outcome: Outcome,
    /// States entered, in order.
    pub visited: Vec<String>,
    /// Virtual time spent waiting.
    pub waited_ms: i64,
    /// The execution's history.
    pub events: Vec<HistoryEvent>,
}

/// Parses, validates and runs `definition` with `input`, jumping over every wait.
pub fn run_definition(
    definition: &str,
    kind: FlowType,
    input: Map<String, Value>,
    options: &RunOptions,
) -> Result<LocalRun, DefinitionError> {
    let model = flow::parse(definition, kind)?;
    let ctx = ExecutionContext {
        flow_name: options.flow_name.clone(),
        execution_name: options.execution_name.clone(),
        started_ms: options.start_ms,
        secret: "local-run".into(),
        account: String::new(),
    };
    let mut driver = Driver::new(&model, ctx, input);
    let mut now = options.start_ms;
    let mut events = Vec::new();
    let mut history_bytes = 0;
    let outcome = loop {
        let step = driver.step(now);
        let mut new = driver.take_events();
        let transitions = driver.checkpoint().transitions();
        let past = options
            .limits
            .record(transitions, &mut history_bytes, &mut new);
        events.append(&mut new);
        if let Some(failed) = past {
            break failed;
        }
        match step {
            Step::Finished(outcome) => break outcome,
            Step::Continue => {}
            Step::Wait { until: Some(t) } => now = now.max(t),
            // Local runs have no integrations, so nothing is ever in flight.
            Step::Wait { until: None } => {
                break Outcome::Failed {
                    error: engine::RUNTIME_ERROR.into(),
                    cause: "the local run waits for a call it cannot make".into(),
                };
            }
        }
    };
    let visited = events
        .iter()
        .filter(|e| e.kind == EventKind::StepEntered)
        .map(|e| e.step_name.clone())
        .collect();
    Ok(LocalRun {
        outcome,
        visited,
        waited_ms: now - options.start_ms,
        events,
    })
}

/// Which language a definition is written in, by its top-level keys: `Type: StateMachine` is
/// CloudFlow, `type: flow` is FDL.
pub fn detect_type(definition: &str) -> Option<FlowType> {
    flow::check_nesting(definition).ok()?;
    let doc: serde_norway::Value = serde_norway::from_str(definition).ok()?;
    let field = |key: &str| {
        doc.get(key)
            .and_then(serde_norway::Value::as_str)
            .map(str::to_owned)
    };
    match (field("Type").as_deref(), field("type").as_deref()) {
        (Some("StateMachine"), _) => Some(FlowType::CloudFlow),
        (_, Some("flow")) => Some(FlowType::Fdl),
        _ => None,
    }
}
