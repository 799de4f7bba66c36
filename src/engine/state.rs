//! Running one state: entering it, its body per type, completing it, failing it (retry and
//! catch), tasks and FDL choice steps.

use serde_json::{Map, Value, json};

use super::events::{EventKind, short};
use super::mapping::{self, Env, check_size, kind_of};
use super::run::{Act, Entry, Failure, Rt, Step, TaskRun, Thread};
use super::{TaskRequest, TaskResult};
use crate::flow::errors;
use crate::flow::{
    ChoiceSpec, FlowType, MAX_TASK_TIMEOUT_SECONDS, MAX_WAIT_SECONDS, Scope, State, StateKind,
    TaskSpec, TimeoutSpec, WaitSpec,
};
use crate::time::parse_rfc3339;

impl Rt<'_> {
    /// An Env for expressions of `state` over `input`.
    pub(super) fn env<'s>(&'s self, state: &'s State, input: &'s Value) -> Env<'s> {
        let mut e = Env::new(
            self.flow.kind,
            self.ctx,
            self.input,
            Some(&state.name),
            input,
        );
        e.seed = mapping::seed(&self.ctx.execution_name, self.log.next_id);
        e
    }

    /// The state was just entered: build its input and run its body.
    pub(super) fn enter(&mut self, scope: &Scope, state: &State, th: &mut Thread) -> Option<Step> {
        match self.state_input(state, th) {
            Ok(input) => self.body(scope, state, th, Entry::new(input)),
            Err(cause) => {
                let entry = Entry::new(Value::Object(Map::new()));
                let f = Failure::runtime(format!("state {:?}: {cause}", state.name));
                self.fail(scope, state, th, entry, f)
            }
        }
    }

    /// CloudFlow: InputConstructor over the incoming data, else the data itself. FDL ("Inputs
    /// and outputs"): inputMappings over the parent's input and local data, else their merge
    /// with local keys winning.
    fn state_input(&self, state: &State, th: &mut Thread) -> Result<Value, String> {
        match (&state.input, self.flow.kind) {
            (None, FlowType::CloudFlow) => Ok(std::mem::take(&mut th.data)),
            (Some(m), FlowType::CloudFlow) => {
                let data = std::mem::take(&mut th.data);
                self.env(state, &data).apply(m)
            }
            (Some(m), FlowType::Fdl) => {
                let local = Value::Object(th.local.clone());
                let mut env = self.env(state, &th.data);
                env.local = Some(&local);
                env.apply(m)
            }
            (None, FlowType::Fdl) => {
                let mut merged = th.data.as_object().cloned().unwrap_or_default();
                merged.extend(th.local.iter().map(|(k, v)| (k.clone(), v.clone())));
                let merged = Value::Object(merged);
                check_size("the step input", &merged)?;
                Ok(merged)
            }
        }
    }

    /// Run (or, after a retry interval, run again) the body of the state.
    pub(super) fn body(
        &mut self,
        scope: &Scope,
        state: &State,
        th: &mut Thread,
        mut entry: Entry,
    ) -> Option<Step> {
        let empty = || Value::Object(Map::new());
        match &state.kind {
            StateKind::Pass | StateKind::Succeed => {
                // Without an output mapping the input is not needed again: move it.
                let raw = match state.output {
                    None => std::mem::take(&mut entry.input),
                    Some(_) => entry.input.clone(),
                };
                self.complete(scope, state, th, entry, raw, empty(), None)
            }
            StateKind::Fail { error, cause } => {
                let f = Failure {
                    error: error.clone(),
                    cause: cause.clone(),
                    from_task: false,
                };
                self.fail(scope, state, th, entry, f)
            }
            StateKind::Wait(spec) => {
                let until = wait_until(spec, &self.env(state, &entry.input), self.now);
                match until {
                    Err(cause) => {
                        let f = Failure::runtime(format!("state {:?}: {cause}", state.name));
                        self.fail(scope, state, th, entry, f)
                    }
                    Ok(until_ms) if until_ms > self.now => {
                        th.act = Act::Wait {
                            until_ms,
                            input: entry.input,
                        };
                        None
                    }
                    Ok(_) => {
                        let raw = entry.input.clone();
                        self.complete(scope, state, th, entry, raw, empty(), None)
                    }
                }
            }
            StateKind::Task(spec) => self.schedule(scope, state, spec, th, entry),
            StateKind::Choice(c) => self.choose(scope, state, c, th, entry),
            StateKind::Parallel(_) | StateKind::Map(_) => self.start_fork(scope, state, th, entry),
        }
    }

    /// Finish the state with raw result `raw` (`$Output`; FDL `$local` is `local`), apply its
    /// output mapping, and move on: to `goto`, else to `next`, else end the scope.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn complete(
        &mut self,
        scope: &Scope,
        state: &State,
        th: &mut Thread,
        entry: Entry,
        raw: Value,
        local: Value,
        goto: Option<usize>,
    ) -> Option<Step> {
        let output = match &state.output {
            None if raw.is_object() => Ok(raw),
            None => Err(format!(
                "the result is {}, but state data must be a JSON object (use an output mapping)",
                kind_of(&raw)
            )),
            Some(m) => {
                let mut env = self.env(state, &entry.input);
                match self.flow.kind {
                    FlowType::CloudFlow => env.output = Some(&raw),
                    FlowType::Fdl => env.local = Some(&local),
                }
                env.retry_count = entry.attempt.saturating_sub(1);
                env.apply(m)
            }
        };
        let output = match output {
            Ok(o) => o,
            Err(cause) => {
                let f = Failure::runtime(format!("state {:?}: {cause}", state.name));
                return self.fail(scope, state, th, entry, f);
            }
        };
        self.event(EventKind::StepExited, &state.name, Value::Null);
        let succeed = matches!(state.kind, StateKind::Succeed);
        let to = goto.or(state.next).filter(|_| !succeed);
        match self.flow.kind {
            FlowType::CloudFlow => match to {
                None => Some(Step::Done(Ok(output))),
                Some(next) => {
                    th.data = output;
                    th.at = next;
                    None
                }
            },
            FlowType::Fdl => {
                // "Inputs and outputs": a step's output merges into its parent's local data.
                if let Value::Object(m) = output {
                    th.local.extend(m);
                }
                match to {
                    None => Some(Step::Done(Ok(Value::Object(std::mem::take(&mut th.local))))),
                    Some(next) => {
                        th.at = next;
                        None
                    }
                }
            }
        }
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

    /// Ask the caller to run the task: record TaskScheduled and wait for the result.
    fn schedule(
        &mut self,
        scope: &Scope,
        state: &State,
        spec: &TaskSpec,
        th: &mut Thread,
        entry: Entry,
    ) -> Option<Step> {
        let built = {
            let env = self.env(state, &entry.input);
            let params = match &spec.parameters {
                Some(m) => env.apply(m),
                None => Ok(entry.input.clone()),
            };
            params.and_then(|p| timeout_ms(spec, &env).map(|t| (p, t)))
        };
        let (parameters, timeout_ms) = match built {
            Ok(x) => x,
            Err(cause) => {
                let f = Failure::runtime(format!("state {:?}: {cause}", state.name));
                return self.fail(scope, state, th, entry, f);
            }
        };
        let detail = json!({ "resource": spec.resource, "attempt": entry.attempt });
        let scheduled = self.event(EventKind::TaskScheduled, &state.name, detail);
        let id = format!("task-{scheduled}");
        let request = TaskRequest {
            idempotency_key: format!("{}/{id}/{}", self.ctx.execution_name, entry.attempt),
            id: id.clone(),
            state_name: state.name.clone(),
            resource: spec.resource.clone(),
            parameters,
            timeout_ms,
            attempt: entry.attempt,
            mode: spec.mode,
        };
        th.act = Act::Task(Box::new(TaskRun {
            entry,
            id,
            state_name: state.name.clone(),
            scheduled,
            deadline: timeout_ms.map(|t| self.now.saturating_add(t as i64)),
            request: Some(request),
            result: None,
        }));
        None
    }

    /// A Task state whose task is pending: take its result, time it out, or keep waiting.
    pub(super) fn task_step(
        &mut self,
        scope: &Scope,
        state: &State,
        th: &mut Thread,
        mut task: Box<TaskRun>,
    ) -> Option<Step> {
        match task.result.take() {
            Some(TaskResult::Succeeded(v)) => {
                let local = match self.flow.kind {
                    FlowType::Fdl => v.clone(),
                    FlowType::CloudFlow => Value::Null,
                };
                self.complete(scope, state, th, task.entry, v, local, None)
            }
            Some(TaskResult::Failed { error, cause }) => {
                let f = Failure {
                    error,
                    cause,
                    from_task: true,
                };
                self.fail(scope, state, th, task.entry, f)
            }
            None => match task.deadline {
                Some(d) if self.now >= d => {
                    let error = match self.flow.kind {
                        FlowType::CloudFlow => errors::TIMEOUT,
                        FlowType::Fdl => errors::TASK_TIMEOUT,
                    };
                    let cause = "the task did not finish within its timeout".to_string();
                    let detail = json!({ "error": error });
                    let now = self.now;
                    let name = &state.name;
                    self.log.push(
                        EventKind::TaskTimedOut,
                        name,
                        Some(task.scheduled),
                        now,
                        detail,
                    );
                    let f = Failure {
                        error: error.into(),
                        cause,
                        from_task: false,
                    };
                    self.fail(scope, state, th, task.entry, f)
                }
                deadline => {
                    if let Some(d) = deadline {
                        self.wake_at(d);
                    }
                    th.act = Act::Task(task);
                    Some(Step::Blocked)
                }
            },
        }
    }

    /// Choice: the first branch whose condition holds, else the default; FDL without a
    /// match or default ends the step ("Choice steps").
    fn choose(
        &mut self,
        scope: &Scope,
        state: &State,
        c: &ChoiceSpec,
        th: &mut Thread,
        entry: Entry,
    ) -> Option<Step> {
        let picked = {
            let env = self.env(state, &entry.input);
            let mut picked = Ok(None);
            for (i, b) in c.branches.iter().enumerate() {
                let Some(cond) = &b.condition else { continue };
                match cond.eval_condition(&env) {
                    Ok(true) => {
                        picked = Ok(Some(i));
                        break;
                    }
                    Ok(false) => {}
                    Err(e) => {
                        picked = Err(format!("condition {}: {e}", cond.text()));
                        break;
                    }
                }
            }
            picked
        };
        let index = match picked {
            Ok(Some(i)) => Some(i),
            Ok(None) => c.default.as_ref().map(|_| c.branches.len()),
            Err(cause) => {
                let f = Failure::runtime(format!("state {:?}: {cause}", state.name));
                return self.fail(scope, state, th, entry, f);
            }
        };
        let branch = index.and_then(|i| c.branches.get(i).or(c.default.as_ref()));
        let empty = Value::Object(Map::new());
        match branch {
            Some(b) if b.steps.is_some() => {
                let start = b.steps.as_ref().map_or(0, |s| s.start);
                let thread = Box::new(Thread::new(start, entry.input.clone()));
                th.act = Act::Sub {
                    entry,
                    branch: index.unwrap_or(0),
                    thread,
                };
                None
            }
            other => {
                // FDL: a choice step's output is its (empty) local data; CloudFlow: its input.
                let raw = match self.flow.kind {
                    FlowType::Fdl => empty.clone(),
                    FlowType::CloudFlow => entry.input.clone(),
                };
                self.complete(
                    scope,
                    state,
                    th,
                    entry,
                    raw,
                    empty,
                    other.and_then(|b| b.goto),
                )
            }
        }
    }

    /// FDL choice steps are running: go on with them.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn sub_step(
        &mut self,
        scope: &Scope,
        state: &State,
        th: &mut Thread,
        entry: Entry,
        branch: usize,
        mut thread: Box<Thread>,
        depth: usize,
    ) -> Option<Step> {
        let b = match &state.kind {
            StateKind::Choice(c) => c.branches.get(branch).or(c.default.as_ref()),
            _ => None,
        };
        let Some((steps, goto)) = b.and_then(|b| b.steps.as_ref().map(|s| (s, b.goto))) else {
            let f = Failure::runtime(format!(
                "checkpoint names a missing branch of {:?}",
                state.name
            ));
            return Some(Step::Done(Err(f)));
        };
        match self.run_thread(steps, &mut thread, depth + 1) {
            Step::Done(Ok(local)) => {
                let raw = local.clone();
                self.complete(scope, state, th, entry, raw, local, goto)
            }
            Step::Done(Err(f)) => self.fail(scope, state, th, entry, f),
            other => {
                th.act = Act::Sub {
                    entry,
                    branch,
                    thread,
                };
                Some(other)
            }
        }
    }
}

/// The task's timeout in ms; 0 or none means it never times out (CloudFlow "Task").
fn timeout_ms(spec: &TaskSpec, env: &Env) -> Result<Option<u64>, String> {
    let secs = match &spec.timeout {
        None => return Ok(None),
        Some(TimeoutSpec::Seconds(s)) => *s,
        Some(TimeoutSpec::At(p)) => match env.resolve(p)? {
            Value::Number(n) if n.as_u64().is_some_and(|s| s <= MAX_TASK_TIMEOUT_SECONDS) => {
                n.as_u64().unwrap_or(0)
            }
            other => {
                return Err(format!(
                    "timeout from {} must be a whole number of seconds from 0 to \
                     {MAX_TASK_TIMEOUT_SECONDS}, found {}",
                    p.text,
                    kind_of(&other)
                ));
            }
        },
    };
    Ok((secs > 0).then_some(secs * 1000))
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

/// Refuse data over the per-state limit (used for aggregated fork results).
pub(super) fn checked(what: &str, v: Value) -> Result<Value, String> {
    check_size(what, &v).map(|()| v)
}
