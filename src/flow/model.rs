//! The one validated model both languages compile to.
//!
//! Control states (Choice, Parallel, Map/foreach) and Task slot in later as new
//! `StateKind` variants; Parallel/Map hold nested `Scope`s.

use serde_json::Value;

use super::path::Path;

/// A sequence or graph of states with one entry point (a flow, later a branch or processor).
#[derive(Debug, Clone)]
pub(crate) struct Scope {
    pub states: Vec<State>,
    pub start: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct State {
    pub name: String,
    pub kind: StateKind,
    /// CloudFlow `InputConstructor` / FDL `inputMappings`.
    pub input: Option<Mapping>,
    /// CloudFlow `OutputConstructor` / FDL `outputMappings`.
    pub output: Option<Mapping>,
    /// Index of the next state in the same scope; `None` ends the scope.
    pub next: Option<usize>,
}

#[derive(Debug, Clone)]
pub(crate) enum StateKind {
    Pass,
    Wait(WaitSpec),
    Succeed,
    Fail { error: String, cause: String },
}

#[derive(Debug, Clone)]
pub(crate) enum WaitSpec {
    /// Fixed number of seconds (validated to `0..=MAX_WAIT_SECONDS`).
    Seconds(u64),
    /// Seconds read at run time from the state's input.
    SecondsAt(Path),
    /// Fixed absolute time, epoch millis.
    Until(i64),
    /// RFC3339 timestamp read at run time from the state's input.
    UntilAt(Path),
}

/// How a state's input or output is built.
#[derive(Debug, Clone)]
pub(crate) enum Mapping {
    /// CloudFlow constructor: always an object template.
    Constructor(Template),
    /// FDL `{target, source}` list.
    Targets(Vec<Target>),
}

#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub target: String,
    /// `Template::Const` or `Template::Path` only.
    pub source: Template,
}

/// A value built at run time: constants, paths, and containers of them.
#[derive(Debug, Clone)]
pub(crate) enum Template {
    Const(Value),
    Path(Path),
    Object(Vec<(String, Template)>),
    Array(Vec<Template>),
}
