//! Task states: asking the caller to run the task, taking its result, and timing it out.

use serde_json::{Value, json};

use super::events::EventKind;
use super::mapping::{Env, check_size, describe_value, whole_seconds};
use super::run::{Act, Entry, Failure, Rt, Step, TaskRun, Thread};
use super::{TaskRequest, TaskResult, task_token};
use crate::flow::{
    FlowType, MAX_TASK_TIMEOUT_SECONDS, Scope, State, TaskMode, TaskSpec, TimeoutSpec, errors,
};

impl Rt<'_> {
    /// Ask the caller to run the task: record TaskScheduled and wait for the result.
    pub(super) fn schedule(
        &mut self,
        scope: &Scope,
        state: &State,
        spec: &TaskSpec,
        th: &mut Thread,
        mut entry: Entry,
    ) -> Option<Step> {
        // The id of the TaskScheduled event recorded below; the token is derived from it.
        let id = format!("task-{}", self.log.next_id + 1);
        let token = (spec.mode != TaskMode::RequestComplete).then(|| task_token(self.ctx, &id));
        let built = {
            let mut env = self.env(state, &entry.input);
            env.task_token = token.as_deref();
            let params = match (&spec.parameters, &state.input, self.flow.kind) {
                (Some(m), _, _) => env.apply(m),
                // FDL: the step's mapped input is the call's parameters. A callback task's
                // token (new for every attempt) can be mapped into it: map it again, now.
                (None, Some(m), FlowType::Fdl) if token.is_some() => {
                    let local = Value::Object(th.local.clone());
                    let mut mapped = self.env(state, &th.data);
                    mapped.local = Some(&local);
                    mapped.task_token = token.as_deref();
                    mapped.apply(m)
                }
                (None, _, _) => Ok(entry.input.clone()),
            };
            params.and_then(|p| timeout_ms(spec, &env).map(|t| (p, t)))
        };
        let (parameters, timeout_ms) = match built {
            Ok(x) => x,
            Err(cause) => {
                return self.fail_runtime(scope, state, th, entry, &cause);
            }
        };
        // The FDL input mapped again with the token is the step's input from now on.
        let remapped = spec.parameters.is_none() && state.input.is_some();
        if remapped && token.is_some() && self.flow.kind == FlowType::Fdl {
            entry.input = parameters.clone();
        }
        let detail = json!({ "resource": spec.resource, "attempt": entry.attempt });
        let scheduled = self.event(EventKind::TaskScheduled, &state.name, detail);
        debug_assert_eq!(id, format!("task-{scheduled}"));
        let request = TaskRequest {
            idempotency_key: format!(
                "{}{}/{}/step-{}/{}",
                if self.ctx.account.is_empty() {
                    String::new()
                } else {
                    format!("{}/", self.ctx.account)
                },
                self.ctx.flow_name,
                self.ctx.execution_name,
                entry.step,
                entry.attempt
            ),
            task_token: token,
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
                // Results come from outside (HTTP bodies, functions, reports, children):
                // bounded like any state data before anything else walks them.
                if let Err(cause) = check_size("the task result", &v) {
                    return self.fail_runtime(scope, state, th, task.entry, &cause);
                }
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
}

/// The task's timeout in ms; 0 or none means it never times out (CloudFlow "Task").
fn timeout_ms(spec: &TaskSpec, env: &Env) -> Result<Option<u64>, String> {
    let secs = match &spec.timeout {
        None => return Ok(None),
        Some(TimeoutSpec::Seconds(s)) => *s,
        Some(TimeoutSpec::At(c)) => {
            let v = env.compute(c)?;
            whole_seconds(&v, MAX_TASK_TIMEOUT_SECONDS).ok_or_else(|| {
                format!(
                    "timeout from {} must be a whole number of seconds from 0 to \
                     {MAX_TASK_TIMEOUT_SECONDS}, found {}",
                    c.text(),
                    describe_value(&v)
                )
            })?
        }
    };
    Ok((secs > 0).then_some(secs * 1000))
}
