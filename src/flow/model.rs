//! The one validated model both languages compile to.
//!
//! Control states hold nested `Scope`s (Parallel branches, Map processors, FDL choice
//! steps); the engine finds a running scope by walking down from the root, so the model
//! never needs back references.

use serde_json::Value;

use super::expr::Expr;
use super::path::Path;

/// A sequence or graph of states with one entry point (a flow, a branch or a processor).
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
    /// Retry rules, tried in order; the first whose errors match decides.
    pub retry: Vec<RetryRule>,
    /// Catch rules, tried in order after retries are exhausted.
    pub catch: Vec<CatchRule>,
}

#[derive(Debug, Clone)]
pub(crate) enum StateKind {
    Pass,
    Wait(WaitSpec),
    Succeed,
    Fail {
        error: String,
        cause: String,
    },
    Task(TaskSpec),
    Choice(ChoiceSpec),
    /// Branches all get the state's input.
    Parallel(Vec<Scope>),
    Map(MapSpec),
}

#[derive(Debug, Clone)]
pub(crate) enum WaitSpec {
    /// Fixed number of seconds (validated to `0..=MAX_WAIT_SECONDS`).
    Seconds(u64),
    /// Seconds computed at run time (CloudFlow `Seconds.$`, FDL `duration: $.wait`).
    SecondsAt(Computed),
    /// Fixed absolute time, epoch millis.
    Until(i64),
    /// RFC3339 timestamp computed at run time (`UntilDateTime.$`, FDL `timestamp: $.at`).
    UntilAt(Computed),
}

/// How the engine waits for a task's result (the caller implements the modes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum TaskMode {
    /// CloudFlow `RequestComplete`, FDL `requestResponse`.
    RequestComplete,
    /// CloudFlow `WaitForSystemCallback`, FDL `sync`.
    WaitForSystemCallback,
    /// CloudFlow `WaitForCustomCallback`, FDL `waitForCallback`.
    WaitForCustomCallback,
}

#[derive(Debug, Clone)]
pub(crate) struct TaskSpec {
    /// CloudFlow `Action`, FDL `resourceArn`.
    pub resource: String,
    /// CloudFlow `Parameters`; without it the task gets the state input.
    pub parameters: Option<Mapping>,
    pub mode: TaskMode,
    pub timeout: Option<TimeoutSpec>,
}

#[derive(Debug, Clone)]
pub(crate) enum TimeoutSpec {
    /// Seconds; 0 means "never times out" (CloudFlow Task page).
    Seconds(u64),
    /// Seconds computed at run time (`Timeout.$`).
    At(Computed),
}

#[derive(Debug, Clone)]
pub(crate) struct ChoiceSpec {
    pub branches: Vec<ChoiceBranch>,
    /// CloudFlow: required. FDL: optional; no match and no default ends the step.
    pub default: Option<ChoiceBranch>,
}

#[derive(Debug, Clone)]
pub(crate) struct ChoiceBranch {
    /// `None` for the default branch.
    pub condition: Option<Expr>,
    /// FDL: steps run when the branch is taken (their local data is the step's `$local`).
    pub steps: Option<Scope>,
    /// CloudFlow `Next` / FDL `goto`; `None` continues with the state's `next`.
    pub goto: Option<usize>,
}

impl ChoiceSpec {
    /// Whether some outcome continues with the state's own `next` (FDL fall-through).
    pub fn falls_through(&self) -> bool {
        self.default.as_ref().is_none_or(|d| d.goto.is_none())
            || self.branches.iter().any(|b| b.goto.is_none())
    }
}

#[derive(Debug, Clone)]
pub(crate) struct MapSpec {
    /// CloudFlow `ItemsPath` / FDL `iterationMapping.collection`: must give an array.
    pub items: Computed,
    pub processor: Scope,
    /// At most this many iterations alive at once (always >= 1).
    pub max_concurrency: u32,
    /// CloudFlow `ItemConstructor`: builds each iteration's input.
    pub item_constructor: Option<Mapping>,
    /// FDL `iterationMapping.item` / `.index`: keys merged into the step input per iteration.
    pub fdl_item: Option<(String, Option<String>)>,
}

#[derive(Debug, Clone)]
pub(crate) struct RetryRule {
    pub errors: Vec<String>,
    /// Retries (not counting the first attempt).
    pub max_attempts: u32,
    pub interval_ms: u64,
    pub backoff_rate: f64,
    pub max_interval_ms: Option<u64>,
}

#[derive(Debug, Clone)]
pub(crate) struct CatchRule {
    pub errors: Vec<String>,
    /// Index of the state to go to, in the same scope.
    pub next: usize,
    /// CloudFlow catch `OutputConstructor` / FDL task `errorMappings`: builds the next input.
    pub output: Option<Mapping>,
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
    /// `Template::Const` or `Template::Computed` only.
    pub source: Template,
}

/// A value built at run time: constants, expressions, and containers of them.
#[derive(Debug, Clone)]
pub(crate) enum Template {
    Const(Value),
    Computed(Computed),
    Object(Vec<(String, Template)>),
    Array(Vec<Template>),
}

/// A value an expression computes at run time, in the flow's dialect.
#[derive(Debug, Clone)]
pub(crate) enum Computed {
    /// A plain path (`$Input.a[0]`, `$.wait`): a lookup whose error says where it failed.
    Path(Path),
    /// Anything beyond a plain path: operators, functions (the expression language).
    Expr(Expr),
}

impl Computed {
    /// The expression as written, for error messages.
    pub fn text(&self) -> &str {
        match self {
            Computed::Path(p) => &p.text,
            Computed::Expr(e) => e.text().trim(),
        }
    }
}

/// Error names with a meaning to the engine ("Error handling" pages).
pub mod errors {
    /// Matches every error ("CloudFlow: Error handling", "FDL error handling": FnF.ALL).
    pub const ALL: &str = "FnF.ALL";
    /// A CloudFlow task ran past its timeout ("CloudFlow: Error handling": FnF.Timeout).
    pub const TIMEOUT: &str = "FnF.Timeout";
    /// An FDL task ran past its timeoutSeconds (spec languages.md: FnF.TaskTimeout).
    pub const TASK_TIMEOUT: &str = "FnF.TaskTimeout";
    /// Bad data at run time (missing path, wrong type, too large).
    pub const RUNTIME: &str = "FnF.RuntimeError";
    /// Matches any error a task reported (Step Functions' States.TaskFailed).
    pub const TASK_FAILED: &str = "FnF.TaskFailed";

    /// Whether rule entry `pattern` matches `error` (raised by a task when `from_task`).
    pub fn matches(pattern: &str, error: &str, from_task: bool) -> bool {
        match pattern {
            ALL | "States.ALL" => true,
            TASK_FAILED | "States.TaskFailed" => from_task,
            // Either timeout name matches both (one meaning, two spellings).
            TIMEOUT | TASK_TIMEOUT | "States.Timeout" => error == TIMEOUT || error == TASK_TIMEOUT,
            RUNTIME | "States.Runtime" => error == RUNTIME,
            p => p == error,
        }
    }
}
