//! Driving one execution with the engine: running the built-in test tasks, keeping the calls
//! to real integrations in flight, delivering results, and telling the caller when to come
//! back. The caller owns time and I/O: the service sleeps for real and makes the calls,
//! `run_definition` jumps on virtual time and has no integrations.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::engine::{
    self, Checkpoint, ExecutionContext, HistoryEvent, Outcome, Progress, TaskMode, TaskRequest,
    TaskResult,
};
use crate::flow::Flow;
use crate::tasks::test_tasks::{self, TestTaskOutcome};

/// Transitions per `step`, so a long flow lets the caller check its budget and the runtime.
const TRANSITIONS_PER_STEP: u32 = 1024;

/// What the caller does next.
#[derive(Debug)]
pub enum Step {
    Finished(Outcome),
    /// Call `step` again now (work remains; the caller may yield first).
    Continue,
    /// Nothing moves before `until` (epoch millis) unless a call in flight answers or a
    /// callback arrives; `None`: only those can move the execution on.
    Wait {
        until: Option<i64>,
    },
}

/// A test task's result that becomes visible at a time (a Sleep task's, or an instant one's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Pending {
    task_id: String,
    ready_at_ms: i64,
    result: TaskResult,
}

/// A call to an integration the engine asked for and has no result of yet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct InFlight {
    request: TaskRequest,
    /// Callback modes: the call was made and accepted; the result comes with the token.
    #[serde(default)]
    accepted: bool,
}

/// Everything needed to carry an execution on in another invocation: the engine's checkpoint,
/// test-task results not yet due, and the calls in flight (re-made, with the same idempotency
/// keys, by whoever resumes). Serializable, so it can be stored between invocations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriverState {
    checkpoint: Checkpoint,
    pending: Vec<Pending>,
    wake_at_ms: Option<i64>,
    /// The execution's secret (task tokens derive from it); never shown.
    #[serde(default)]
    secret: String,
    #[serde(default)]
    in_flight: Vec<InFlight>,
}

impl DriverState {
    /// Whether task `task_id` still waits for its result.
    pub fn awaits(&self, task_id: &str) -> bool {
        self.in_flight.iter().any(|f| f.request.id == task_id)
    }
}

pub struct Driver<'f> {
    flow: &'f Flow,
    ctx: ExecutionContext,
    state: DriverState,
    /// Whether tasks other than the test tasks are handed to the caller (the service) or
    /// fail at once (local runs, which have no integrations).
    integrations: bool,
    /// Calls scheduled since the caller last took them.
    new_calls: Vec<TaskRequest>,
}

impl<'f> Driver<'f> {
    /// Starts an execution; `ctx.secret` becomes the execution's secret.
    pub fn new(flow: &'f Flow, ctx: ExecutionContext, input: Map<String, Value>) -> Driver<'f> {
        let state = DriverState {
            checkpoint: engine::start(flow, input),
            pending: Vec::new(),
            wake_at_ms: None,
            secret: ctx.secret.clone(),
            in_flight: Vec::new(),
        };
        Driver::resume(flow, ctx, state)
    }

    /// Carries on from a stored state.
    pub fn resume(flow: &'f Flow, mut ctx: ExecutionContext, state: DriverState) -> Driver<'f> {
        ctx.secret = state.secret.clone();
        Driver {
            flow,
            ctx,
            state,
            integrations: false,
            new_calls: Vec::new(),
        }
    }

    /// Hands calls to integrations to the caller (`take_calls`) instead of failing them.
    pub fn with_integrations(mut self) -> Driver<'f> {
        self.integrations = true;
        self
    }

    /// Events recorded since the last call.
    pub fn take_events(&mut self) -> Vec<HistoryEvent> {
        self.state.checkpoint.take_events()
    }

    pub fn checkpoint(&self) -> &Checkpoint {
        &self.state.checkpoint
    }

    /// What to store to carry on later.
    pub fn state(&self) -> &DriverState {
        &self.state
    }

    /// Calls the engine asked for since the last take. They are already recorded in flight,
    /// so the caller stores the state before making them.
    pub fn take_calls(&mut self) -> Vec<TaskRequest> {
        std::mem::take(&mut self.new_calls)
    }

    /// Calls in flight that were not accepted yet: a resumed execution makes them again.
    pub fn unanswered_calls(&self) -> Vec<TaskRequest> {
        self.state
            .in_flight
            .iter()
            .filter(|f| !f.accepted)
            .map(|f| f.request.clone())
            .collect()
    }

    /// (task id, token) of the callback tasks whose call was accepted.
    pub fn awaited_tokens(&self) -> Vec<(String, String)> {
        self.state
            .in_flight
            .iter()
            .filter(|f| f.accepted)
            .filter_map(|f| Some((f.request.id.clone(), f.request.task_token.clone()?)))
            .collect()
    }

    /// The answer of a call. A callback task's accepted call waits on for its token; any
    /// other answer is the task's result.
    pub fn call_answered(&mut self, task_id: &str, result: TaskResult, now_ms: i64) {
        let Some(f) = self
            .state
            .in_flight
            .iter_mut()
            .find(|f| f.request.id == task_id)
        else {
            return; // Timed out or cancelled meanwhile.
        };
        let callback = f.request.mode != TaskMode::RequestComplete;
        if callback && matches!(result, TaskResult::Succeeded(_)) {
            f.accepted = true;
            return;
        }
        self.deliver(task_id, result, now_ms);
    }

    /// The result of a task: its call's answer, or what its callback token reported.
    pub fn deliver(&mut self, task_id: &str, result: TaskResult, now_ms: i64) {
        self.state.in_flight.retain(|f| f.request.id != task_id);
        // A refused result (the task timed out meanwhile) is expected and changes nothing.
        let _ = engine::complete_task(
            self.flow,
            &mut self.state.checkpoint,
            &self.ctx,
            task_id,
            result,
            now_ms,
        );
    }

    /// Moves the execution on at time `now_ms`.
    pub fn step(&mut self, now_ms: i64) -> Step {
        self.deliver_due(now_ms);
        let progress = engine::advance(
            self.flow,
            &mut self.state.checkpoint,
            &self.ctx,
            now_ms,
            TRANSITIONS_PER_STEP,
        );
        match progress {
            Progress::Finished(outcome) => {
                self.state.in_flight.clear();
                self.new_calls.clear();
                Step::Finished(outcome)
            }
            Progress::Yielded => Step::Continue,
            Progress::Suspended { tasks, wake_at_ms } => {
                for task in tasks {
                    self.schedule(task, now_ms);
                }
                self.state.wake_at_ms = wake_at_ms;
                self.forget_abandoned();
                match self.next_time() {
                    Some(t) if t <= now_ms => Step::Continue,
                    until if until.is_some() || !self.state.in_flight.is_empty() => {
                        Step::Wait { until }
                    }
                    // Nothing pending and nothing to wake for: the engine would wait forever.
                    _ => Step::Finished(Outcome::Failed {
                        error: engine::RUNTIME_ERROR.into(),
                        cause: "the execution is suspended with nothing to wait for".into(),
                    }),
                }
            }
        }
    }

    fn schedule(&mut self, task: TaskRequest, now_ms: i64) {
        if self.integrations && test_tasks::kind(&task.resource).is_none() {
            self.new_calls.push(task.clone());
            self.state.in_flight.push(InFlight {
                request: task,
                accepted: false,
            });
            return;
        }
        let (delay_ms, result) =
            match test_tasks::run(&task.resource, &task.parameters, task.attempt) {
                TestTaskOutcome::Done(r) => (0, r),
                TestTaskOutcome::After { delay_ms, result } => (delay_ms, result),
            };
        let result = match result {
            Ok(output) => TaskResult::Succeeded(output),
            Err((error, cause)) => TaskResult::Failed { error, cause },
        };
        let ready_at_ms = now_ms.saturating_add(i64::try_from(delay_ms).unwrap_or(i64::MAX));
        self.state.pending.push(Pending {
            task_id: task.id,
            ready_at_ms,
            result,
        });
    }

    /// Calls whose task no longer waits (timed out, or its branch was cancelled) are dropped:
    /// nobody makes them again.
    fn forget_abandoned(&mut self) {
        if self.state.in_flight.is_empty() {
            return;
        }
        let waiting = engine::pending_tasks(&mut self.state.checkpoint);
        self.state
            .in_flight
            .retain(|f| waiting.contains(&f.request.id));
        self.new_calls.retain(|c| waiting.contains(&c.id));
    }

    fn next_time(&self) -> Option<i64> {
        let task = self.state.pending.iter().map(|p| p.ready_at_ms).min();
        match (task, self.state.wake_at_ms) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn deliver_due(&mut self, now_ms: i64) {
        let (due, later): (Vec<_>, Vec<_>) = self
            .state
            .pending
            .drain(..)
            .partition(|p| p.ready_at_ms <= now_ms);
        self.state.pending = later;
        for p in due {
            // A refused result (the task timed out meanwhile) is expected and changes nothing.
            let _ = engine::complete_task(
                self.flow,
                &mut self.state.checkpoint,
                &self.ctx,
                &p.task_id,
                p.result,
                now_ms,
            );
        }
    }
}
