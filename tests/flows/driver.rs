//! Drives an execution the way a caller does: advance, start the tasks it asks for with the
//! built-in test tasks, deliver results when due, jump the clock to the next wake time.
//! The checkpoint goes through a serde round trip between every call.

use fnf_lambda::engine::{
    self, Checkpoint, ExecutionContext, HistoryEvent, Outcome, Progress, TaskResult,
};
use fnf_lambda::flow::Flow;
use fnf_lambda::tasks::test_tasks::{self, TestTaskOutcome};
use serde_json::{Map, Value};

pub struct Run {
    pub outcome: Outcome,
    pub events: Vec<HistoryEvent>,
    pub waited_ms: i64,
    /// Results refused by `complete_task` (late results of timed-out tasks).
    pub refused: usize,
    pub checkpoint: Checkpoint,
}

fn round_trip(cp: &Checkpoint) -> Result<Checkpoint, String> {
    let json = serde_json::to_string(cp).map_err(|e| format!("checkpoint serialize: {e}"))?;
    serde_json::from_str(&json).map_err(|e| format!("checkpoint deserialize: {e}"))
}

pub fn ctx(start_ms: i64) -> ExecutionContext {
    ExecutionContext {
        flow_name: "test-flow".into(),
        execution_name: "exec-1".into(),
        started_ms: start_ms,
        secret: "test-secret".into(),
        account: String::new(),
    }
}

/// Run to the end with `budget` transitions per call.
pub fn run(
    flow: &Flow,
    input: Map<String, Value>,
    start_ms: i64,
    budget: u32,
) -> Result<Run, String> {
    let ctx = ctx(start_ms);
    let mut cp = engine::start(flow, input);
    let mut now = start_ms;
    let mut waited_ms = 0;
    let mut refused = 0;
    let mut events = Vec::new();
    // (due time, task id, result), in request order.
    let mut pending: Vec<(i64, String, TaskResult)> = Vec::new();
    for _ in 0..20_000 {
        let progress = engine::advance(flow, &mut cp, &ctx, now, budget);
        events.extend(cp.take_events());
        cp = round_trip(&cp)?;
        let wake = match progress {
            Progress::Finished(outcome) => {
                return Ok(Run {
                    outcome,
                    events,
                    waited_ms,
                    refused,
                    checkpoint: cp,
                });
            }
            Progress::Yielded => continue,
            Progress::Suspended { tasks, wake_at_ms } => {
                for t in tasks {
                    let (delay, r) = match test_tasks::run(&t.resource, &t.parameters, t.attempt) {
                        TestTaskOutcome::Done(r) => (0, r),
                        TestTaskOutcome::After { delay_ms, result } => (delay_ms as i64, result),
                    };
                    let r = match r {
                        Ok(v) => TaskResult::Succeeded(v),
                        Err((error, cause)) => TaskResult::Failed { error, cause },
                    };
                    pending.push((now + delay, t.id, r));
                }
                if let Some(w) = wake_at_ms
                    && w <= now
                {
                    return Err(format!("wake_at_ms {w} is not in the future (now {now})"));
                }
                wake_at_ms
            }
        };
        let due = pending.iter().map(|p| p.0).min();
        let next = match (due, wake) {
            (Some(d), Some(w)) => d.min(w),
            (Some(d), None) => d,
            (None, Some(w)) => w,
            (None, None) => return Err("suspended with nothing pending and no wake time".into()),
        };
        if next > now {
            // Resuming early must change nothing.
            let before = serde_json::to_string(&cp).unwrap_or_default();
            let early = engine::advance(flow, &mut cp, &ctx, next - 1, budget);
            if !matches!(early, Progress::Suspended { ref tasks, .. } if tasks.is_empty())
                || serde_json::to_string(&cp).unwrap_or_default() != before
            {
                return Err(format!("advance before the wake time gave {early:?}"));
            }
            waited_ms += next - now;
            now = next;
        }
        let (ready, later): (Vec<_>, Vec<_>) = pending.into_iter().partition(|p| p.0 <= now);
        pending = later;
        for (_, id, result) in ready {
            match engine::complete_task(flow, &mut cp, &ctx, &id, result.clone(), now) {
                Ok(()) => {
                    // A duplicate delivery is refused and changes nothing.
                    let before = cp.clone();
                    if engine::complete_task(flow, &mut cp, &ctx, &id, result, now).is_ok()
                        || cp != before
                    {
                        return Err(format!("a duplicate result for {id} was accepted"));
                    }
                }
                Err(_) => refused += 1,
            }
        }
        events.extend(cp.take_events());
    }
    Err("did not finish within 20000 advance calls".into())
}
