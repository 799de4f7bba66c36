//! A state failed: retry it by the first matching rule, else catch by the first matching
//! rule, else fail its scope ("Error handling" pages: Retry first, Catch after retries are
//! exhausted). One path for every state type that has rules (Task, Parallel, Map/foreach).

use serde_json::{Map, Value, json};

use super::events::{EventKind, short};
use super::run::{Act, Entry, Failure, Rt, Step, Thread};
use crate::flow::{FlowType, Scope, State, errors};

impl Rt<'_> {
    /// The state failed on bad data at run time: `FnF.RuntimeError`, the cause naming it.
    pub(super) fn fail_runtime(
        &mut self,
        scope: &Scope,
        state: &State,
        th: &mut Thread,
        entry: Entry,
        cause: &str,
    ) -> Option<Step> {
        let f = Failure::runtime(format!("state {:?}: {cause}", state.name));
        self.fail(scope, state, th, entry, f)
    }

    /// The state failed: retry by the first matching rule, else catch by the first matching
    /// rule ("Error handling": Retry first, Catch after retries are exhausted), else fail
    /// the scope.
    pub(super) fn fail(
        &mut self,
        scope: &Scope,
        state: &State,
        th: &mut Thread,
        mut entry: Entry,
        f: Failure,
    ) -> Option<Step> {
        let hit = |errs: &[String]| {
            errs.iter()
                .any(|p| errors::matches(p, &f.error, f.from_task))
        };
        if let Some((i, rule)) = state.retry.iter().enumerate().find(|(_, r)| hit(&r.errors)) {
            entry.retries.resize(state.retry.len(), 0);
            let done = entry.retries[i];
            if done < rule.max_attempts {
                entry.retries[i] = done + 1;
                let factor = rule.backoff_rate.powi(done.min(1000) as i32);
                let mut delay =
                    (rule.interval_ms as f64 * factor).min(u64::MAX as f64 / 2.0) as u64;
                if let Some(cap) = rule.max_interval_ms {
                    delay = delay.min(cap);
                }
                // Never beyond the documented maximum interval.
                delay = delay.min(crate::flow::MAX_RETRY_INTERVAL_SECONDS * 1000);
                let detail = json!({
                    "error": short(&f.error),
                    "cause": short(&f.cause),
                    "attempt": entry.attempt + 1,
                    "delayMs": delay,
                });
                self.event(EventKind::RetryScheduled, &state.name, detail);
                th.act = Act::Backoff {
                    until_ms: self.now.saturating_add(delay as i64),
                    entry,
                };
                return None;
            }
        }
        let detail = json!({ "error": short(&f.error), "cause": short(&f.cause) });
        self.event(EventKind::StepFailed, &state.name, detail);
        let Some(rule) = state.catch.iter().find(|r| hit(&r.errors)) else {
            return Some(Step::Done(Err(f)));
        };
        // Catch: the next state's input is built by the rule's OutputConstructor (CloudFlow,
        // reading $Context.Current.Error) or the task's errorMappings (FDL, reading
        // $local.error/$local.cause); without them it is empty ("Error handling" pages).
        let output = match &rule.output {
            None => Ok(Value::Object(Map::new())),
            Some(m) => {
                let local = json!({ "error": f.error, "cause": f.cause });
                let mut env = self.env(state, &entry.input);
                env.error = Some((&f.error, &f.cause));
                env.local = Some(&local);
                env.retry_count = entry.attempt.saturating_sub(1);
                env.apply(m)
            }
        };
        let output = match output {
            Ok(o) => o,
            Err(cause) => {
                let cause = format!("state {:?}: catch output: {cause}", state.name);
                return Some(Step::Done(Err(Failure::runtime(cause))));
            }
        };
        let _ = scope;
        match self.flow.kind {
            FlowType::CloudFlow => th.data = output,
            FlowType::Fdl => {
                if let Value::Object(m) = output {
                    th.local.extend(m);
                }
            }
        }
        th.at = rule.next;
        th.act = Act::Enter;
        None
    }
}
