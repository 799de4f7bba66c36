//! Flow definitions: both languages (CloudFlow and FDL) parse into one validated model.
//!
//! The engine (`crate::engine`) only ever sees the model in this module, never YAML.

mod cloudflow;
mod computed;
mod constructor;
pub mod expr;
mod fdl;
pub(crate) mod model;
mod nesting;
pub(crate) mod path;
mod rules;
mod validate;

pub(crate) use model::*;
pub use model::{TaskMode, errors};
pub use nesting::MAX_FLOW_DEPTH;
pub use rules::{MAX_RETRY_ATTEMPTS, MAX_RETRY_INTERVAL_SECONDS, MAX_TASK_TIMEOUT_SECONDS};

/// Largest accepted definition text, in bytes (checked by the API layer before `parse`).
pub const MAX_DEFINITION_BYTES: usize = 128 * 1024;
/// Most states (CloudFlow) or steps (FDL) in one definition, counting nested ones.
pub const MAX_STATES: usize = 1000;
/// Deepest nesting of objects/arrays inside one constructor.
pub const MAX_CONSTRUCTOR_DEPTH: usize = 32;
/// Longest state or step name, in characters (names must be non-empty).
pub const MAX_STATE_NAME_CHARS: usize = 128;
/// Longest expression, in characters.
pub const MAX_EXPRESSION_CHARS: usize = 1024;
/// Longest Wait, in seconds (one year).
pub const MAX_WAIT_SECONDS: u64 = 31_536_000;
/// Deepest nesting of Parallel/Map (CloudFlow) or parallel/foreach/choice (FDL) scopes.
pub const MAX_NESTING_DEPTH: usize = 8;
/// Most branches of one Parallel state ("CloudFlow: Parallel": 50).
pub const MAX_PARALLEL_BRANCHES: usize = 50;
/// Most iterations of one Map/foreach alive at once (FDL "Foreach steps": 100).
pub const MAX_CONCURRENCY: u32 = 100;
/// Most items one Map/foreach may iterate over (a runtime error beyond).
pub const MAX_MAP_ITEMS: usize = 10_000;
/// Largest input or output of one state, serialized as JSON ("Inputs and outputs": 64 KiB).
pub const MAX_STATE_DATA_BYTES: usize = 64 * 1024;

/// Which definition language a flow uses, as named by the `Type` parameter of CreateFlow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowType {
    Fdl,
    CloudFlow,
}

impl FlowType {
    /// `"FDL"` -> `Fdl`, `"DEFAULT"` -> `CloudFlow`; exact match only.
    pub fn from_api(s: &str) -> Option<FlowType> {
        match s {
            "FDL" => Some(FlowType::Fdl),
            "DEFAULT" => Some(FlowType::CloudFlow),
            _ => None,
        }
    }

    pub fn as_api(self) -> &'static str {
        match self {
            FlowType::Fdl => "FDL",
            FlowType::CloudFlow => "DEFAULT",
        }
    }
}

/// A definition that failed to parse or validate. `path` names the bad element
/// (`States[3].Next`, `steps[1].inputMappings[0].source`, or `Definition` for YAML syntax).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct DefinitionError {
    pub path: String,
    pub message: String,
}

impl DefinitionError {
    pub(crate) fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        DefinitionError {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// A parsed, validated flow definition. Cheap to share; holds no YAML.
#[derive(Debug, Clone)]
pub struct Flow {
    pub(crate) kind: FlowType,
    pub(crate) name: Option<String>,
    pub(crate) root: Scope,
    /// FDL flow-level `inputMappings` (CloudFlow has none).
    pub(crate) input_mapping: Option<Mapping>,
    /// FDL flow-level `outputMappings` (CloudFlow has none).
    pub(crate) output_mapping: Option<Mapping>,
}

impl Flow {
    pub fn flow_type(&self) -> FlowType {
        self.kind
    }

    /// The `Name` (CloudFlow) or `name` (FDL) written in the definition, if any.
    pub fn definition_name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// Number of states (CloudFlow) or steps (FDL) in the definition, nested ones included.
    pub fn state_count(&self) -> usize {
        fn count(scope: &Scope) -> usize {
            scope
                .states
                .iter()
                .map(|s| {
                    1 + match &s.kind {
                        StateKind::Parallel(branches) => branches.iter().map(count).sum(),
                        StateKind::Map(m) => count(&m.processor),
                        StateKind::Choice(c) => c
                            .branches
                            .iter()
                            .chain(c.default.as_ref())
                            .filter_map(|b| b.steps.as_ref())
                            .map(count)
                            .sum(),
                        _ => 0,
                    }
                })
                .sum()
        }
        count(&self.root)
    }
}

/// Refuses flow collections nested deeper than `MAX_FLOW_DEPTH`, in time linear in the text;
/// `parse` does it first, and so must anything else that hands a definition to a YAML parser.
pub fn check_nesting(definition: &str) -> Result<(), DefinitionError> {
    nesting::check(definition)
}

/// Parse and validate a definition written in the language `kind`.
pub fn parse(definition: &str, kind: FlowType) -> Result<Flow, DefinitionError> {
    let doc = validate::load_yaml(definition)?;
    let top = match &doc {
        serde_json::Value::Object(map) => map,
        other => {
            return Err(DefinitionError::new(
                "Definition",
                format!(
                    "expected a YAML mapping at the top level, found {}",
                    validate::describe(other)
                ),
            ));
        }
    };
    let looks_cloudflow = top.contains_key("Type") || top.contains_key("States");
    let looks_fdl = top.contains_key("type") || top.contains_key("steps");
    match kind {
        FlowType::CloudFlow if looks_fdl && !looks_cloudflow => Err(DefinitionError::new(
            "Definition",
            "this looks like an FDL definition (lower-case `type: flow`, `steps`), but the flow \
             type is DEFAULT (CloudFlow); create the flow with Type FDL or write a CloudFlow \
             definition (`Type: StateMachine`)",
        )),
        FlowType::Fdl if looks_cloudflow && !looks_fdl => Err(DefinitionError::new(
            "Definition",
            "this looks like a CloudFlow definition (`Type: StateMachine`, `States`), but the \
             flow type is FDL; create the flow with Type DEFAULT or write an FDL definition \
             (`type: flow`)",
        )),
        FlowType::CloudFlow => cloudflow::parse(top),
        FlowType::Fdl => fdl::parse(top),
    }
}
