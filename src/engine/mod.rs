//! The pure engine: runs a validated `Flow` from a `Checkpoint`.
//!
//! No clock, no I/O, no randomness: the caller passes the time in and stores the checkpoint.

mod mapping;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::flow::{Flow, FlowType, MAX_WAIT_SECONDS, State, StateKind, WaitSpec};
use crate::time::parse_rfc3339;
pub use mapping::kind_of;
use mapping::{Env, check_size};

type Object = Map<String, Value>;

/// Error name of runtime failures raised by the engine itself (bad data at run time).
pub const RUNTIME_ERROR: &str = "FnF.RuntimeError";

/// Everything needed to resume an execution; stored between `advance` calls.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Checkpoint {
    execution_input: Object,
    /// `None` until the first `advance` (FDL flow inputMappings need the context).
    frame: Option<Frame>,
    visited: Vec<String>,
    transitions: u64,
    outcome: Option<Done>,
}

/// Position in the root scope. Nested scopes (Parallel/Map) will stack more frames.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Frame {
    /// Index of the current state.
    at: usize,
    /// CloudFlow: the current state's incoming data. FDL: the scope's input.
    data: Object,
    /// FDL: the scope's local data, into which each step's output merges.
    local: Object,
    /// Set while the current state is a Wait that has not elapsed yet.
    waiting: Option<Waiting>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Waiting {
    until_ms: i64,
    /// The Wait state's input (after its input mapping), used when it completes.
    input: Object,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
enum Done {
    Succeeded { output: Object },
    Failed { error: String, cause: String },
}

impl Checkpoint {
    /// Names of the states entered so far, in order.
    pub fn visited(&self) -> &[String] {
        &self.visited
    }

    /// Number of states entered so far.
    pub fn transitions(&self) -> u64 {
        self.transitions
    }

    fn finish(&mut self, done: Done) -> Progress {
        self.frame = None;
        self.outcome = Some(done);
        self.progress_if_done().unwrap_or(Progress::Yielded)
    }

    fn fail(&mut self, cause: String) -> Progress {
        self.finish(Done::Failed {
            error: RUNTIME_ERROR.to_string(),
            cause,
        })
    }

    fn progress_if_done(&self) -> Option<Progress> {
        Some(Progress::Finished(match self.outcome.as_ref()? {
            Done::Succeeded { output } => Outcome::Succeeded {
                output: output.clone(),
            },
            Done::Failed { error, cause } => Outcome::Failed {
                error: error.clone(),
                cause: cause.clone(),
            },
        }))
    }
}

pub struct ExecutionContext {
    pub flow_name: String,
    pub execution_name: String,
    /// Epoch millis.
    pub started_ms: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    Finished(Outcome),
    /// A Wait state needs time to pass: call `advance` again at or after `until_ms` (epoch millis).
    WaitUntil {
        until_ms: i64,
    },
    /// max_transitions reached; call `advance` again to go on.
    Yielded,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Succeeded { output: Map<String, Value> },
    Failed { error: String, cause: String },
}

/// A new execution of `flow` with the StartExecution input.
pub fn start(_flow: &Flow, input: Map<String, Value>) -> Checkpoint {
    Checkpoint {
        execution_input: input,
        frame: None,
        visited: Vec::new(),
        transitions: 0,
        outcome: None,
    }
}

/// Run until the flow finishes, a Wait must elapse, or `max_transitions` states were entered
/// in this call (0 counts as 1 so every call makes progress).
pub fn advance(
    flow: &Flow,
    cp: &mut Checkpoint,
    ctx: &ExecutionContext,
    now_ms: i64,
    max_transitions: u32,
) -> Progress {
    if let Some(done) = cp.progress_if_done() {
        return done;
    }
    let budget = max_transitions.max(1);
    let mut entered = 0u32;
    loop {
        if cp.frame.is_none() {
            match flow_input(flow, cp, ctx) {
                Ok(data) => {
                    cp.frame = Some(Frame {
                        at: flow.root.start,
                        data,
                        local: Map::new(),
                        waiting: None,
                    })
                }
                Err(cause) => return cp.fail(cause),
            }
        }
        let Some(frame) = cp.frame.as_mut() else {
            return cp.fail("internal: no current state".into());
        };
        let at = frame.at;
        let Some(state) = flow.root.states.get(at) else {
            return cp.fail(format!(
                "checkpoint names state #{at}, which this flow lacks"
            ));
        };
        if let Some(w) = frame.waiting.take() {
            if now_ms < w.until_ms {
                let until_ms = w.until_ms;
                frame.waiting = Some(w);
                return Progress::WaitUntil { until_ms };
            }
            if let Some(p) = complete(flow, cp, ctx, state, w.input) {
                return p;
            }
            continue;
        }
        if entered >= budget {
            return Progress::Yielded;
        }
        entered += 1;
        cp.transitions = cp.transitions.saturating_add(1);
        cp.visited.push(state.name.clone());
        let input = match state_input(flow, cp, ctx, state) {
            Ok(i) => i,
            Err(cause) => return cp.fail(format!("state {:?}: {cause}", state.name)),
        };
        match &state.kind {
            StateKind::Fail { error, cause } => {
                return cp.finish(Done::Failed {
                    error: error.clone(),
                    cause: cause.clone(),
                });
            }
            StateKind::Wait(spec) => {
                let env = env(flow, cp, ctx, state, &input);
                let until_ms = match wait_until(spec, &env, now_ms) {
                    Ok(t) => t,
                    Err(cause) => return cp.fail(format!("state {:?}: {cause}", state.name)),
                };
                // A wait that already elapsed (e.g. a timestamp in the past) continues now.
                if until_ms > now_ms {
                    if let Some(frame) = cp.frame.as_mut() {
                        frame.waiting = Some(Waiting { until_ms, input });
                    }
                    return Progress::WaitUntil { until_ms };
                }
            }
            StateKind::Pass | StateKind::Succeed => {}
        }
        if let Some(p) = complete(flow, cp, ctx, state, input) {
            return p;
        }
    }
}

fn env<'a>(
    flow: &Flow,
    cp: &'a Checkpoint,
    ctx: &'a ExecutionContext,
    state: &'a State,
    input: &'a Object,
) -> Env<'a> {
    Env {
        kind: flow.kind,
        ctx,
        execution_input: &cp.execution_input,
        state: Some(&state.name),
        input,
        output: None,
        local: None,
    }
}

/// The root scope's input: FDL flow inputMappings over the execution input, else the input.
fn flow_input(flow: &Flow, cp: &Checkpoint, ctx: &ExecutionContext) -> Result<Object, String> {
    let input = match &flow.input_mapping {
        None => cp.execution_input.clone(),
        Some(m) => {
            let empty = Map::new();
            let env = Env {
                kind: flow.kind,
                ctx,
                execution_input: &cp.execution_input,
                state: None,
                input: &cp.execution_input,
                output: None,
                local: Some(&empty),
            };
            env.apply(m)
                .map_err(|e| format!("flow inputMappings: {e}"))?
        }
    };
    check_size("the execution input", &input)?;
    Ok(input)
}

/// A state's input. CloudFlow: InputConstructor over the incoming data, else the data as is.
/// FDL ("Inputs and outputs"): inputMappings over the parent's input and local data, else
/// their merge with local keys winning.
fn state_input(
    flow: &Flow,
    cp: &Checkpoint,
    ctx: &ExecutionContext,
    state: &State,
) -> Result<Object, String> {
    let Some(frame) = cp.frame.as_ref() else {
        return Err("internal: no current state".into());
    };
    let input = match (&state.input, flow.kind) {
        (Some(m), _) => {
            let mut e = env(flow, cp, ctx, state, &frame.data);
            if flow.kind == FlowType::Fdl {
                e.local = Some(&frame.local);
            }
            e.apply(m)?
        }
        (None, FlowType::CloudFlow) => frame.data.clone(),
        (None, FlowType::Fdl) => {
            let mut merged = frame.data.clone();
            merged.extend(frame.local.iter().map(|(k, v)| (k.clone(), v.clone())));
            merged
        }
    };
    check_size("the state input", &input)?;
    Ok(input)
}

fn wait_until(spec: &WaitSpec, env: &Env, now_ms: i64) -> Result<i64, String> {
    let after = |secs: u64| now_ms.saturating_add((secs as i64).saturating_mul(1000));
    match spec {
        WaitSpec::Seconds(s) => Ok(after(*s)),
        WaitSpec::Until(t) => Ok(*t),
        WaitSpec::SecondsAt(p) => {
            let v = env.resolve(p)?;
            let secs = match &v {
                Value::Number(n) => n.as_u64().or_else(|| {
                    n.as_f64()
                        .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= MAX_WAIT_SECONDS as f64)
                        .map(|f| f as u64)
                }),
                _ => None,
            };
            match secs {
                Some(s) if s <= MAX_WAIT_SECONDS => Ok(after(s)),
                _ => Err(format!(
                    "wait seconds from {} must be a whole number from 0 to {MAX_WAIT_SECONDS}, \
                     found {}",
                    p.text,
                    describe_value(&v)
                )),
            }
        }
        WaitSpec::UntilAt(p) => {
            let v = env.resolve(p)?;
            match &v {
                Value::String(s) => parse_rfc3339(s).ok_or_else(|| {
                    format!(
                        "wait time from {} is not an RFC3339 timestamp: {s:?}",
                        p.text
                    )
                }),
                other => Err(format!(
                    "wait time from {} must be an RFC3339 timestamp string, found {}",
                    p.text,
                    describe_value(other)
                )),
            }
        }
    }
}

fn describe_value(v: &Value) -> String {
    match v {
        Value::Number(n) => format!("number {n}"),
        Value::String(s) => format!("string {:?}", s.chars().take(40).collect::<String>()),
        other => kind_of(other).to_string(),
    }
}

/// Finish the current state with `input` as its raw result; move on or end the flow.
/// Returns `Some` when the execution finished.
fn complete(
    flow: &Flow,
    cp: &mut Checkpoint,
    ctx: &ExecutionContext,
    state: &State,
    input: Object,
) -> Option<Progress> {
    let output = match state_output(flow, cp, ctx, state, input) {
        Ok(o) => o,
        Err(cause) => return Some(cp.fail(format!("state {:?}: {cause}", state.name))),
    };
    let ends = state.next.is_none() || matches!(state.kind, StateKind::Succeed);
    match flow.kind {
        FlowType::CloudFlow => {
            if ends {
                return Some(cp.finish(Done::Succeeded { output }));
            }
            if let Some(frame) = cp.frame.as_mut() {
                frame.data = output;
            }
        }
        FlowType::Fdl => {
            // "Inputs and outputs": a step's output merges into its parent's local data.
            if let Some(frame) = cp.frame.as_mut() {
                frame.local.extend(output);
            }
            if ends {
                return Some(match flow_output(flow, cp, ctx) {
                    Ok(output) => cp.finish(Done::Succeeded { output }),
                    Err(cause) => cp.fail(cause),
                });
            }
        }
    }
    if let (Some(frame), Some(next)) = (cp.frame.as_mut(), state.next) {
        frame.at = next;
    }
    None
}

/// A state's output. Pass/Wait/Succeed produce their input as raw result (`$Output`);
/// FDL steps of these types have an empty `$local` (pass/wait step pages).
fn state_output(
    flow: &Flow,
    cp: &Checkpoint,
    ctx: &ExecutionContext,
    state: &State,
    input: Object,
) -> Result<Object, String> {
    let Some(mapping) = &state.output else {
        check_size("the state output", &input)?;
        return Ok(input);
    };
    let empty = Map::new();
    let mut e = env(flow, cp, ctx, state, &input);
    match flow.kind {
        FlowType::CloudFlow => e.output = Some(&input),
        FlowType::Fdl => e.local = Some(&empty),
    }
    let out = e.apply(mapping)?;
    check_size("the state output", &out)?;
    Ok(out)
}

/// FDL flow output: outputMappings over the flow's input and local data; without them the
/// output is `$local` (flow-definition-language-overview: "if no outputMappings, $local is
/// the flow output").
fn flow_output(flow: &Flow, cp: &Checkpoint, ctx: &ExecutionContext) -> Result<Object, String> {
    let Some(frame) = cp.frame.as_ref() else {
        return Err("internal: no current state".into());
    };
    let Some(m) = &flow.output_mapping else {
        return Ok(frame.local.clone());
    };
    let env = Env {
        kind: flow.kind,
        ctx,
        execution_input: &cp.execution_input,
        state: None,
        input: &frame.data,
        output: None,
        local: Some(&frame.local),
    };
    let out = env
        .apply(m)
        .map_err(|e| format!("flow outputMappings: {e}"))?;
    check_size("the flow output", &out)?;
    Ok(out)
}
