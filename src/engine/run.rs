//! Threads: one running scope each (the flow, a branch, an iteration, FDL choice steps),
//! and the loop that moves a thread from state to state until it blocks or ends.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::events::{EventKind, Log};
use super::fork::Fork;
use super::{ExecutionContext, Object, TaskRequest, TaskResult};
use crate::flow::{Flow, Scope};

/// Why a state failed: the error name, the cause, and whether a task reported it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Failure {
    pub error: String,
    pub cause: String,
    pub from_task: bool,
}

impl Failure {
    pub fn runtime(cause: String) -> Self {
        Failure {
            error: super::RUNTIME_ERROR.into(),
            cause,
            from_task: false,
        }
    }
}

/// What running a thread came to.
pub(super) enum Step {
    /// The scope ended: its result (CloudFlow: the last output; FDL: the local data).
    Done(Result<Value, Failure>),
    /// Waiting for time to pass or for task results.
    Blocked,
    /// The call's transition budget is used up.
    Budget,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Thread {
    /// Index of the current state in the thread's scope.
    pub at: usize,
    /// CloudFlow: the current state's incoming data. FDL: the scope's input.
    pub data: Value,
    /// FDL: the scope's local data, into which each step's output merges.
    pub local: Object,
    pub act: Act,
}

impl Thread {
    pub fn new(at: usize, data: Value) -> Self {
        Thread {
            at,
            data,
            local: Map::new(),
            act: Act::Enter,
        }
    }
}

/// One entry into a state: its input and its attempts so far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Entry {
    pub input: Value,
    /// 1-based attempt of the state's body (retries count up).
    pub attempt: u32,
    /// Retries made per retry rule (index = rule), empty until the first retry.
    pub retries: Vec<u32>,
    /// The history position at the entry: with `attempt`, names a task call across retries
    /// of the same entry and replays of the same history (the idempotency key).
    #[serde(default)]
    pub step: u64,
}

impl Entry {
    pub fn new(input: Value) -> Self {
        Entry {
            input,
            attempt: 1,
            retries: Vec::new(),
            step: 0,
        }
    }
}

/// What the current state is doing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) enum Act {
    /// About to enter the state.
    Enter,
    Wait {
        until_ms: i64,
        input: Value,
    },
    Task(Box<TaskRun>),
    /// Waiting to run the state's body again.
    Backoff {
        until_ms: i64,
        entry: Entry,
    },
    /// Parallel branches or Map/foreach iterations.
    Fork(Box<Fork>),
    /// FDL: the steps of the chosen choice branch (`branch` = index, or len for default).
    Sub {
        entry: Entry,
        branch: usize,
        thread: Box<Thread>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct TaskRun {
    pub entry: Entry,
    pub id: String,
    pub state_name: String,
    /// Id of the TaskScheduled event.
    pub scheduled: u64,
    pub deadline: Option<i64>,
    /// The request until it was handed to the caller.
    pub request: Option<TaskRequest>,
    pub result: Option<TaskResult>,
}

/// One `advance` call: what it may read, its budget, and what it collects.
pub(super) struct Rt<'a> {
    pub flow: &'a Flow,
    pub ctx: &'a ExecutionContext,
    pub input: &'a Object,
    pub now: i64,
    pub budget: u32,
    pub used: u32,
    pub log: &'a mut Log,
    /// Earliest time something is due.
    pub wake: Option<i64>,
    /// Requests handed to the caller by this call.
    pub announce: Vec<TaskRequest>,
}

impl Rt<'_> {
    pub fn wake_at(&mut self, t: i64) {
        self.wake = Some(self.wake.map_or(t, |w| w.min(t)));
    }

    /// Whether `until_ms` has come; if not, wake up then.
    fn due(&mut self, until_ms: i64) -> bool {
        if self.now < until_ms {
            self.wake_at(until_ms);
            return false;
        }
        true
    }

    pub fn event(&mut self, kind: EventKind, step: &str, detail: Value) -> u64 {
        self.log.push(kind, step, None, self.now, detail)
    }

    /// Move `th` until it blocks, ends or the budget runs out.
    pub fn run_thread(&mut self, scope: &Scope, th: &mut Thread, depth: usize) -> Step {
        loop {
            let Some(state) = scope.states.get(th.at) else {
                let cause = format!("checkpoint names state #{}, which this flow lacks", th.at);
                return Step::Done(Err(Failure::runtime(cause)));
            };
            let act = std::mem::replace(&mut th.act, Act::Enter);
            let step = match act {
                Act::Enter => {
                    // Stop to let `advance` measure the live state when it grew (`meter`),
                    // or to hand time back to the caller when this call did its work (`work`).
                    if self.used >= self.budget || super::meter::due() || super::work::used_up() {
                        return Step::Budget;
                    }
                    self.used += 1;
                    super::work::transition();
                    self.log.transitions += 1;
                    self.event(EventKind::StepEntered, &state.name, Value::Null);
                    self.enter(scope, state, th)
                }
                Act::Wait { until_ms, input } => {
                    if !self.due(until_ms) {
                        th.act = Act::Wait { until_ms, input };
                        return Step::Blocked;
                    }
                    let local = Value::Object(Map::new());
                    self.complete(
                        scope,
                        state,
                        th,
                        Entry::new(input.clone()),
                        input,
                        local,
                        None,
                    )
                }
                Act::Backoff { until_ms, entry } => {
                    if !self.due(until_ms) {
                        th.act = Act::Backoff { until_ms, entry };
                        return Step::Blocked;
                    }
                    let mut entry = entry;
                    entry.attempt = entry.attempt.saturating_add(1);
                    self.body(scope, state, th, entry)
                }
                Act::Task(task) => self.task_step(scope, state, th, task),
                Act::Fork(fork) => self.fork_step(scope, state, th, fork, depth),
                Act::Sub {
                    entry,
                    branch,
                    thread,
                } => self.sub_step(scope, state, th, entry, branch, thread, depth),
            };
            if let Some(step) = step {
                return step;
            }
        }
    }
}

/// Hand every request not yet announced to the caller, in tree order (deterministic).
pub(super) fn announce(th: &mut Thread, rt: &mut Rt) {
    for t in tasks(th) {
        if let Some(r) = t.request.take() {
            rt.announce.push(r);
        }
    }
}

/// The task with this id, if it is still in the tree.
pub(super) fn find_task<'t>(th: &'t mut Thread, id: &str) -> Option<&'t mut TaskRun> {
    tasks(th).into_iter().find(|t| t.id == id)
}

/// The ids of every task waiting for its result, in tree order.
pub(super) fn pending_task_ids(th: &mut Thread) -> Vec<String> {
    tasks(th)
        .into_iter()
        .filter(|t| t.result.is_none())
        .map(|t| t.id.clone())
        .collect()
}

/// Every pending task in the tree, in tree order.
fn tasks(th: &mut Thread) -> Vec<&mut TaskRun> {
    fn walk<'t>(th: &'t mut Thread, out: &mut Vec<&'t mut TaskRun>) {
        match &mut th.act {
            Act::Task(t) => out.push(t),
            Act::Fork(fork) => fork
                .running
                .iter_mut()
                .for_each(|c| walk(&mut c.thread, out)),
            Act::Sub { thread, .. } => walk(thread, out),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(th, &mut out);
    out
}
