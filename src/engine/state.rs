//! Running one state: entering it, its body per type (Pass, Wait, Choice and FDL choice
//! steps here; tasks in `task`, forks in `fork`), and completing it. Failing it (retry and
//! catch) is `recovery`'s.

use serde_json::{Map, Value};

use super::events::EventKind;
use super::mapping::{self, Env, check_size, describe_value, kind_of, whole_seconds};
use super::run::{Act, Entry, Failure, Rt, Step, Thread};
use crate::flow::{
    ChoiceSpec, FlowType, MAX_WAIT_SECONDS, Scope, State, StateKind, TaskMode, WaitSpec,
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
            Ok(input) => {
                let entry = Entry {
                    step: self.log.next_id,
                    ..Entry::new(input)
                };
                self.body(scope, state, th, entry)
            }
            Err(cause) => {
                let entry = Entry::new(Value::Object(Map::new()));
                self.fail_runtime(scope, state, th, entry, &cause)
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
                // A callback task's token exists once its call is scheduled, which maps the
                // input again with it (`Rt::schedule`); until then it reads as empty.
                if matches!(&state.kind, StateKind::Task(t) if t.mode != TaskMode::RequestComplete)
                {
                    env.task_token = Some("");
                }
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
                    Err(cause) => self.fail_runtime(scope, state, th, entry, &cause),
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
                return self.fail_runtime(scope, state, th, entry, &cause);
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
                return self.fail_runtime(scope, state, th, entry, &cause);
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

fn wait_until(spec: &WaitSpec, env: &Env, now_ms: i64) -> Result<i64, String> {
    let after = |secs: u64| now_ms.saturating_add((secs as i64).saturating_mul(1000));
    match spec {
        WaitSpec::Seconds(s) => Ok(after(*s)),
        WaitSpec::Until(t) => Ok(*t),
        WaitSpec::SecondsAt(c) => {
            let v = env.compute(c)?;
            match whole_seconds(&v, MAX_WAIT_SECONDS) {
                Some(s) => Ok(after(s)),
                None => Err(format!(
                    "wait seconds from {} must be a whole number from 0 to {MAX_WAIT_SECONDS}, \
                     found {}",
                    c.text(),
                    describe_value(&v)
                )),
            }
        }
        WaitSpec::UntilAt(c) => match env.compute(c)? {
            Value::String(s) => parse_rfc3339(&s).ok_or_else(|| {
                format!(
                    "wait time from {} is not an RFC3339 timestamp: {s:?}",
                    c.text()
                )
            }),
            other => Err(format!(
                "wait time from {} must be an RFC3339 timestamp string, found {}",
                c.text(),
                describe_value(&other)
            )),
        },
    }
}

/// Refuse data over the per-state limit (used for aggregated fork results).
pub(super) fn checked(what: &str, v: Value) -> Result<Value, String> {
    check_size(what, &v).map(|()| v)
}
