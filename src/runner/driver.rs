//! Driving one execution with the engine: starting the tasks it asks for, delivering their
//! results, and telling the caller when to come back. The caller owns time: the service sleeps
//! for real, `run_definition` jumps on virtual time. Tasks are the built-in test tasks for now.

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
struct Pending {
    task_id: String,
    ready_at_ms: i64,
    result: TaskResult,
}

pub struct Driver<'f> {
    flow: &'f Flow,
    ctx: ExecutionContext,
    checkpoint: Checkpoint,
    pending: Vec<Pending>,
    wake_at_ms: Option<i64>,
}

impl<'f> Driver<'f> {
    pub fn new(flow: &'f Flow, ctx: ExecutionContext, input: Map<String, Value>) -> Driver<'f> {
        Driver {
            flow,
            ctx,
            checkpoint: engine::start(flow, input),
            pending: Vec::new(),
            wake_at_ms: None,
        }
    }

    /// Events recorded since the last call.
    pub fn take_events(&mut self) -> Vec<HistoryEvent> {
        self.checkpoint.take_events()
    }

    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// Moves the execution on at time `now_ms`.
    pub fn step(&mut self, now_ms: i64) -> Step {
        self.deliver_due(now_ms);
        match engine::advance(
            self.flow,
            &mut self.checkpoint,
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
                    self.pending.push(Pending {
                        task_id: task.id,
                        ready_at_ms,
                        result,
                    });
                }
                self.wake_at_ms = wake_at_ms;
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
        let task = self.pending.iter().map(|p| p.ready_at_ms).min();
        match (task, self.wake_at_ms) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn deliver_due(&mut self, now_ms: i64) {
        let (due, later): (Vec<_>, Vec<_>) = self
            .pending
            .drain(..)
            .partition(|p| p.ready_at_ms <= now_ms);
        self.pending = later;
        for p in due {
            // A refused result (the task timed out meanwhile) is expected and changes nothing.
            let _ = engine::complete_task(
                self.flow,
                &mut self.checkpoint,
                &self.ctx,
                &p.task_id,
                p.result,
                now_ms,
            );
        }
    }
}
