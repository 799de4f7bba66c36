//! The pure engine: runs a validated `Flow` from a `Checkpoint`.
//!
//! No clock, no I/O, no randomness: the caller passes the time in, runs the tasks the engine
//! asks for, delivers their results with `complete_task`, and stores the checkpoint.

mod depth;
mod events;
mod fork;
mod mapping;
mod meter;
mod recovery;
mod run;
mod state;
mod task;
mod work;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::flow::{Flow, FlowType};
pub use crate::flow::{MAX_MAP_ITEMS, TaskMode};
pub use depth::{MAX_DATA_DEPTH, nests_deeper_than};
pub use events::{EventKind, HistoryEvent};
use events::{Log, short};
pub use mapping::kind_of;
use mapping::{Env, check_size};
pub(crate) use meter::json_len;
pub use meter::{MAX_STATE_BYTES, STATE_TOO_LARGE_ERROR};
use run::{Rt, Step, Thread};
pub use work::{DEFAULT_STEP_WORK, set_step_work, step_work};

type Object = Map<String, Value>;

/// Error name of runtime failures raised by the engine itself (bad data at run time).
pub const RUNTIME_ERROR: &str = crate::flow::errors::RUNTIME;
/// Error name of a task that did not finish before its timeout.
pub const TIMEOUT_ERROR: &str = crate::flow::errors::TIMEOUT;

/// Everything needed to resume an execution; stored between calls. Its size depends only
/// on live data (running states, pending tasks, undrained events), not on the history.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Checkpoint {
    execution_input: Object,
    /// `None` before the first `advance` and after the end.
    root: Option<Thread>,
    log: Log,
    outcome: Option<Done>,
    #[serde(skip)]
    grown: meter::Grown,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
enum Done {
    Succeeded { output: Object },
    Failed { error: String, cause: String },
}

impl Checkpoint {
    /// Number of states entered so far.
    pub fn transitions(&self) -> u64 {
        self.log.transitions
    }

    /// Drain the events recorded since the last call, oldest first.
    pub fn take_events(&mut self) -> Vec<HistoryEvent> {
        std::mem::take(&mut self.log.events)
    }

    fn finished(&self) -> Option<Progress> {
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

#[derive(Debug, Clone, Default)]
pub struct ExecutionContext {
    pub flow_name: String,
    pub execution_name: String,
    /// Epoch millis.
    pub started_ms: i64,
    /// Random per execution, kept with its checkpoint and never shown: task tokens are derived
    /// from it, so they are stable on replay yet cannot be guessed from names.
    pub secret: String,
    /// The account the execution belongs to, empty for the default one: in idempotency keys,
    /// so that two accounts' calls never share a key.
    pub account: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    Finished(Outcome),
    /// `max_transitions` used up: call `advance` again.
    Yielded,
    /// Nothing moves until time passes or tasks complete. `tasks`: tasks newly requested by
    /// this call (start them now); `wake_at_ms`: the earliest Wait end, retry time or task
    /// deadline (call `advance` at or after it).
    Suspended {
        tasks: Vec<TaskRequest>,
        wake_at_ms: Option<i64>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Succeeded { output: Map<String, Value> },
    Failed { error: String, cause: String },
}

/// A task the engine asks its caller to run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRequest {
    /// Unique in the execution and stable: the same on replay.
    pub id: String,
    pub state_name: String,
    pub resource: String,
    pub parameters: Value,
    pub timeout_ms: Option<u64>,
    /// 1-based; retries of the state count up.
    pub attempt: u32,
    pub mode: TaskMode,
    /// `<flow>/<execution>/step-<n>/<attempt>`: the same whenever this attempt is made again
    /// (a replayed invocation), new for every retry; the callee deduplicates calls by it.
    pub idempotency_key: String,
    /// Callback modes only: the token `ReportTaskSucceeded`/`ReportTaskFailed` (or a child
    /// execution) completes the task with.
    #[serde(default)]
    pub task_token: Option<String>,
}

/// Prefix of every task token; what follows is 48 hex digits.
pub const TASK_TOKEN_PREFIX: &str = "fnf1-";

/// The token of task `task_id` of an execution: a digest of the execution's secret and names.
pub fn task_token(ctx: &ExecutionContext, task_id: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for part in [&ctx.secret, &ctx.flow_name, &ctx.execution_name, task_id] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    let digest = h.finalize();
    let hex: String = digest[..24].iter().map(|b| format!("{b:02x}")).collect();
    format!("{TASK_TOKEN_PREFIX}{hex}")
}

/// Whether `token` has the shape of a task token (it may still be unknown).
pub fn is_task_token(token: &str) -> bool {
    token.strip_prefix(TASK_TOKEN_PREFIX).is_some_and(|hex| {
        hex.len() == 48
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// The result of a task, delivered with `complete_task`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TaskResult {
    Succeeded(Value),
    Failed { error: String, cause: String },
}

/// `complete_task` for a task that is not pending: unknown, already completed, timed out,
/// or the execution ended.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("task {task_id:?} is not pending: {reason}")]
pub struct TaskNotPending {
    pub task_id: String,
    pub reason: String,
}

/// A new execution of `flow` with the StartExecution input.
pub fn start(_flow: &Flow, input: Map<String, Value>) -> Checkpoint {
    Checkpoint {
        execution_input: input,
        root: None,
        log: Log::default(),
        outcome: None,
        grown: meter::Grown::default(),
    }
}

/// Run until the flow finishes, nothing can move without time passing or task results, or
/// `max_transitions` states were entered in this call (0 counts as 1 so every call makes
/// progress), or this call did its work quota (`work`: it yields before the next state).
pub fn advance(
    flow: &Flow,
    cp: &mut Checkpoint,
    ctx: &ExecutionContext,
    now_ms: i64,
    max_transitions: u32,
) -> Progress {
    meter::begin(cp.grown);
    work::begin();
    let progress = advance_metered(flow, cp, ctx, now_ms, max_transitions);
    cp.grown = meter::end();
    progress
}

fn advance_metered(
    flow: &Flow,
    cp: &mut Checkpoint,
    ctx: &ExecutionContext,
    now_ms: i64,
    max_transitions: u32,
) -> Progress {
    if let Some(done) = cp.finished() {
        return done;
    }
    let Checkpoint {
        execution_input,
        root,
        log,
        outcome,
        grown: _,
    } = cp;
    let mut rt = Rt {
        flow,
        ctx,
        input: execution_input,
        now: now_ms,
        budget: max_transitions.max(1),
        used: 0,
        log,
        wake: None,
        announce: Vec::new(),
    };
    let thread = match root {
        Some(t) => t,
        None => {
            rt.log
                .push(EventKind::ExecutionStarted, "", None, now_ms, Value::Null);
            match flow_input(flow, rt.input, ctx) {
                Ok(data) => root.insert(Thread::new(flow.root.start, data)),
                Err(cause) => {
                    return end(&mut rt, root, outcome, Err((RUNTIME_ERROR.into(), cause)));
                }
            }
        }
    };
    let result = loop {
        match rt.run_thread(&flow.root, thread, 0) {
            // The live state grew enough to be measured (see `meter`): within the limit, this
            // call carries on where the thread stopped.
            Step::Budget if meter::due() => {
                if let Err(cause) = meter::measure(thread) {
                    break Err((STATE_TOO_LARGE_ERROR.to_owned(), cause));
                }
            }
            Step::Budget => return Progress::Yielded,
            Step::Blocked => {
                run::announce(thread, &mut rt);
                return Progress::Suspended {
                    tasks: std::mem::take(&mut rt.announce),
                    wake_at_ms: rt.wake,
                };
            }
            Step::Done(Ok(v)) => {
                break match flow.kind {
                    FlowType::CloudFlow => Ok(v),
                    FlowType::Fdl => flow_output(flow, rt.input, ctx, &thread.data, &v)
                        .map_err(|c| (RUNTIME_ERROR.to_string(), c)),
                };
            }
            Step::Done(Err(f)) => break Err((f.error, f.cause)),
        }
    };
    end(&mut rt, root, outcome, result)
}

/// Record the end of the execution and drop its live data.
fn end(
    rt: &mut Rt,
    root: &mut Option<Thread>,
    outcome: &mut Option<Done>,
    result: Result<Value, (String, String)>,
) -> Progress {
    *root = None;
    let done = match result {
        Ok(Value::Object(output)) => {
            rt.log
                .push(EventKind::ExecutionSucceeded, "", None, rt.now, Value::Null);
            Done::Succeeded { output }
        }
        Ok(other) => Done::Failed {
            error: RUNTIME_ERROR.into(),
            cause: format!("the flow output is {}, not a JSON object", kind_of(&other)),
        },
        Err((error, cause)) => Done::Failed { error, cause },
    };
    if let Done::Failed { error, cause } = &done {
        let detail = serde_json::json!({ "error": short(error), "cause": short(cause) });
        rt.log
            .push(EventKind::ExecutionFailed, "", None, rt.now, detail);
    }
    let progress = match &done {
        Done::Succeeded { output } => Outcome::Succeeded {
            output: output.clone(),
        },
        Done::Failed { error, cause } => Outcome::Failed {
            error: error.clone(),
            cause: cause.clone(),
        },
    };
    *outcome = Some(done);
    Progress::Finished(progress)
}

/// The ids of the tasks still waiting for a result (not completed, not timed out, not
/// cancelled with their branch).
pub fn pending_tasks(cp: &mut Checkpoint) -> Vec<String> {
    cp.root
        .as_mut()
        .map(run::pending_task_ids)
        .unwrap_or_default()
}

/// Delivers the result of a task the engine asked for. A result for an unknown, already
/// completed or timed-out task is refused (Err) and changes nothing (duplicates happen).
pub fn complete_task(
    _flow: &Flow,
    cp: &mut Checkpoint,
    _ctx: &ExecutionContext,
    task_id: &str,
    result: TaskResult,
    now_ms: i64,
) -> Result<(), TaskNotPending> {
    let refuse = |reason: &str| TaskNotPending {
        task_id: task_id.chars().take(128).collect(),
        reason: reason.to_string(),
    };
    let Some(root) = cp.root.as_mut() else {
        return Err(refuse("the execution is not running"));
    };
    let Some(task) = run::find_task(root, task_id) else {
        return Err(refuse("no such task is waiting for a result"));
    };
    if task.result.is_some() {
        return Err(refuse("its result was already delivered"));
    }
    if task.deadline.is_some_and(|d| now_ms >= d) {
        return Err(refuse("it timed out"));
    }
    let (kind, detail) = match &result {
        TaskResult::Succeeded(_) => (EventKind::TaskSucceeded, Value::Null),
        TaskResult::Failed { error, cause } => (
            EventKind::TaskFailed,
            serde_json::json!({ "error": short(error), "cause": short(cause) }),
        ),
    };
    task.result = Some(result);
    let (name, scheduled) = (task.state_name.clone(), task.scheduled);
    cp.log.push(kind, &name, Some(scheduled), now_ms, detail);
    Ok(())
}

/// The root scope's input: FDL flow inputMappings over the execution input, else the input.
fn flow_input(flow: &Flow, input: &Object, ctx: &ExecutionContext) -> Result<Value, String> {
    let data = Value::Object(input.clone());
    let Some(m) = &flow.input_mapping else {
        check_size("the execution input", &data)?;
        return Ok(data);
    };
    let empty = Value::Object(Map::new());
    let mut env = Env::new(flow.kind, ctx, input, None, &data);
    env.local = Some(&empty);
    env.apply(m).map_err(|e| format!("flow inputMappings: {e}"))
}

/// FDL flow output: outputMappings over the flow's input and local data; without them the
/// output is `$local` (flow-definition-language-overview: "if no outputMappings, $local is
/// the flow output").
fn flow_output(
    flow: &Flow,
    input: &Object,
    ctx: &ExecutionContext,
    data: &Value,
    local: &Value,
) -> Result<Value, String> {
    let Some(m) = &flow.output_mapping else {
        return Ok(local.clone());
    };
    let mut env = Env::new(flow.kind, ctx, input, None, data);
    env.local = Some(local);
    env.apply(m)
        .map_err(|e| format!("flow outputMappings: {e}"))
}
