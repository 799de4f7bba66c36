//! Driving one execution with the engine: starting the tasks it asks for, delivering their
//! results, and telling the caller when to come back. The caller owns time: the service sleeps
//! for real, `run_definition` jumps on virtual time. Tasks are the built-in test tasks for now.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::engine::{
    self, Checkpoint, ExecutionContext, HistoryEvent, Outcome, Progress, TaskResult,
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
    /// Call `step` again at or after this time (epoch millis).
    WaitUntil(i64),
}

/// A task result that becomes visible at a time (a Sleep task's, or an instant one's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Pending {
    task_id: String,
    ready_at_ms: i64,
    result: TaskResult,
}

/// Everything needed to carry an execution on in another invocation: the engine's checkpoint
/// plus the task results not yet due. Serializable, so it can be stored between invocations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriverState {
    checkpoint: Checkpoint,
    pending: Vec<Pending>,
    wake_at_ms: Option<i64>,
}

pub struct Driver<'f> {
    flow: &'f Flow,
    ctx: ExecutionContext,
    state: DriverState,
}

impl<'f> Driver<'f> {
    pub fn new(flow: &'f Flow, ctx: ExecutionContext, input: Map<String, Value>) -> Driver<'f> {
        let checkpoint = engine::start(flow, input);
        let state = DriverState {
            checkpoint,
            pending: Vec::new(),
            wake_at_ms: None,
        };
        Driver { flow, ctx, state }
    }

    /// Carries on from a stored state.
    pub fn resume(flow: &'f Flow, ctx: ExecutionContext, state: DriverState) -> Driver<'f> {
        Driver { flow, ctx, state }
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

    /// Moves the execution on at time `now_ms`.
    pub fn step(&mut self, now_ms: i64) -> Step {
        self.deliver_due(now_ms);
        match engine::advance(
            self.flow,
            &mut self.state.checkpoint,
            &self.ctx,
            now_ms,
            TRANSITIONS_PER_STEP,
        ) {
            Progress::Finished(outcome) => Step::Finished(outcome),
            Progress::Yielded => Step::Continue,
            Progress::Suspended { tasks, wake_at_ms } => {
                for task in tasks {
                    let (delay_ms, result) =
                        match test_tasks::run(&task.resource, &task.parameters, task.attempt) {
                            TestTaskOutcome::Done(r) => (0, r),
                            TestTaskOutcome::After { delay_ms, result } => (delay_ms, result),
                        };
                    let result = match result {
                        Ok(output) => TaskResult::Succeeded(output),
                        Err((error, cause)) => TaskResult::Failed { error, cause },
                    };
                    let ready_at_ms =
                        now_ms.saturating_add(i64::try_from(delay_ms).unwrap_or(i64::MAX));
                    self.state.pending.push(Pending {
                        task_id: task.id,
                        ready_at_ms,
                        result,
                    });
                }
                self.state.wake_at_ms = wake_at_ms;
                match self.next_time() {
                    Some(t) if t <= now_ms => Step::Continue,
                    Some(t) => Step::WaitUntil(t),
                    // Nothing pending and nothing to wake for: the engine would wait forever.
                    None => Step::Finished(Outcome::Failed {
                        error: engine::RUNTIME_ERROR.into(),
                        cause: "the execution is suspended with nothing to wait for".into(),
                    }),
                }
            }
        }
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
