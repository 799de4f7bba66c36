//! Retry and catch rules and task resources, for both languages.
//! Pages: "CloudFlow: Error handling" (Retry/Catch fields), FDL "Task steps" and
//! "Error handling" (retry/catch, defaults).

use std::collections::HashMap;

use serde_json::Value;

use super::validate::{Obj, Result, describe};
use super::{CatchRule, DefinitionError, FlowType, Mapping, RetryRule, TaskMode};
use crate::tasks::{self, Target};

/// Longest retry interval: 86,400 seconds ("Error handling" pages).
pub const MAX_RETRY_INTERVAL_SECONDS: u64 = 86_400;
/// Most retries one rule may make (not documented; bounds history and run time).
pub const MAX_RETRY_ATTEMPTS: u64 = 1000;
/// Longest task timeout: 604,800 seconds (CloudFlow "Task": Timeout range).
pub const MAX_TASK_TIMEOUT_SECONDS: u64 = 604_800;

/// The task's resource, refused with a clear message when this version cannot run it.
/// CloudFlow names an action; FDL a resource ARN (spec: languages.md, "Task integrations").
pub(super) fn resource(o: &Obj, key: &str, kind: FlowType) -> Result<String> {
    let r = o.str_req(key)?;
    let target = tasks::target(r);
    let fits = match (kind, target) {
        (FlowType::CloudFlow, Some(Target::Test)) => r.starts_with("Test:"),
        (FlowType::Fdl, Some(Target::Test)) => r.starts_with("acs:fnf:::test/"),
        (FlowType::CloudFlow, Some(_)) => {
            tasks::HTTP_ACTIONS.contains(&r)
                || r == tasks::FUNCTION_ACTION
                || r == tasks::FLOW_ACTION
        }
        (FlowType::Fdl, Some(Target::Http)) => r == tasks::FDL_HTTP_RESOURCE,
        // The structure only: the name template (deployment configuration) applies at run time.
        (FlowType::Fdl, Some(Target::Function)) => {
            r != tasks::FUNCTION_ACTION && tasks::function::lambda_target(r, "{function}").is_ok()
        }
        (FlowType::Fdl, Some(Target::Flow)) => r
            .strip_prefix(tasks::FDL_FLOW_PREFIX)
            .is_some_and(valid_flow_name),
        (_, None) => false,
    };
    if fits {
        return Ok(r.to_string());
    }
    let short: String = r.chars().take(128).collect();
    let runs = match kind {
        FlowType::CloudFlow => {
            "HTTP:Request (or HTTP:Invoke), FC:InvokeFunction (on AWS Lambda), \
             FNF:StartExecution and the test tasks Test:Echo, Test:Fail, Test:Flaky, Test:Sleep"
        }
        FlowType::Fdl => {
            "acs:fc:<region>:<account>:services/<S>/functions/<F> (or a Lambda ARN), \
             acs:fnf:::flow/<name>, acs:fnf:::http and the test tasks acs:fnf:::test/echo|fail|flaky|sleep"
        }
    };
    Err(o.err(
        key,
        format!("{short:?} is not a task this service runs; it runs {runs}"),
    ))
}

/// Flow names, as CreateFlow accepts them.
fn valid_flow_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Whether the integration of `resource` supports `mode`: a child flow supports all three;
/// HTTP and functions answer at once or send a token (`WaitForSystemCallback` needs a job
/// the service can watch, which only a child execution is).
pub(super) fn check_mode(o: &Obj, key: &str, resource: &str, mode: TaskMode) -> Result<()> {
    let ok = match tasks::target(resource) {
        Some(Target::Flow) | Some(Target::Test) | None => true,
        Some(Target::Http) | Some(Target::Function) => mode != TaskMode::WaitForSystemCallback,
    };
    if ok {
        return Ok(());
    }
    Err(o.err(
        key,
        format!(
            "{resource} does not support this mode: only a child flow waits for its job \
             (WaitForSystemCallback / sync); use RequestComplete or WaitForCustomCallback"
        ),
    ))
}

/// The task's mode (CloudFlow `TaskMode`, FDL `pattern`); absent means request-complete.
pub(super) fn task_mode(o: &Obj, key: &str, kind: FlowType) -> Result<TaskMode> {
    // CloudFlow "Service integration modes"; FDL "Service integration" (integration modes).
    let (noun, names) = match kind {
        FlowType::CloudFlow => (
            "mode",
            [
                "RequestComplete",
                "WaitForSystemCallback",
                "WaitForCustomCallback",
            ],
        ),
        FlowType::Fdl => ("pattern", ["requestResponse", "sync", "waitForCallback"]),
    };
    let modes = [
        TaskMode::RequestComplete,
        TaskMode::WaitForSystemCallback,
        TaskMode::WaitForCustomCallback,
    ];
    let Some(given) = o.str_opt(key)? else {
        return Ok(TaskMode::RequestComplete);
    };
    match names.iter().position(|n| *n == given) {
        Some(i) => Ok(modes[i]),
        None => Err(o.err(
            key,
            format!(
                "unknown {noun} {given:?}; expected {}, {} or {}",
                names[0], names[1], names[2]
            ),
        )),
    }
}

fn list<'a>(o: &Obj<'a>, key: &str) -> Result<Vec<Obj<'a>>> {
    let Some(items) = o.list_opt(key)? else {
        return Ok(Vec::new());
    };
    items
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::Object(m) => Ok(Obj::new(m, format!("{}[{i}]", o.at(key)))),
            other => Err(DefinitionError::new(
                format!("{}[{i}]", o.at(key)),
                format!("expected a mapping (one rule), found {}", describe(other)),
            )),
        })
        .collect()
}

/// CloudFlow `Retry`: Errors, MaxAttempts and IntervalSeconds are required; BackoffRate
/// omitted keeps the interval constant ("CloudFlow: Error handling").
pub(super) fn cloudflow_retry(o: &Obj) -> Result<Vec<RetryRule>> {
    list(o, "Retry")?
        .iter()
        .map(|r| {
            r.only(
                &[
                    "Errors",
                    "Description",
                    "MaxAttempts",
                    "IntervalSeconds",
                    "BackoffRate",
                    "MaxBackoffSeconds",
                ],
                "a Retry rule",
            )?;
            r.str_opt("Description")?;
            let errors = r.str_list("Errors")?;
            let max_attempts = r
                .u64_opt("MaxAttempts", MAX_RETRY_ATTEMPTS)?
                .ok_or_else(|| r.err("MaxAttempts", "required field is missing"))?;
            let interval = r
                .u64_opt("IntervalSeconds", MAX_RETRY_INTERVAL_SECONDS)?
                .ok_or_else(|| r.err("IntervalSeconds", "required field is missing"))?;
            Ok(RetryRule {
                errors,
                max_attempts: max_attempts as u32,
                interval_ms: interval * 1000,
                backoff_rate: r.f64_opt("BackoffRate", 1.0, 1000.0)?.unwrap_or(1.0),
                max_interval_ms: r
                    .u64_opt("MaxBackoffSeconds", MAX_RETRY_INTERVAL_SECONDS)?
                    .map(|s| s * 1000),
            })
        })
        .collect()
}

/// FDL `retry`: defaults intervalSeconds 1, maxIntervalSeconds 86400, maxAttempts 3,
/// multiplier 2 (FDL "Task steps").
pub(super) fn fdl_retry(o: &Obj) -> Result<Vec<RetryRule>> {
    list(o, "retry")?
        .iter()
        .map(|r| {
            r.only(
                &[
                    "errors",
                    "intervalSeconds",
                    "maxIntervalSeconds",
                    "maxAttempts",
                    "multiplier",
                ],
                "a retry rule",
            )?;
            let max = MAX_RETRY_INTERVAL_SECONDS;
            Ok(RetryRule {
                errors: r.str_list("errors")?,
                max_attempts: r.u64_opt("maxAttempts", MAX_RETRY_ATTEMPTS)?.unwrap_or(3) as u32,
                interval_ms: r.u64_opt("intervalSeconds", max)?.unwrap_or(1) * 1000,
                backoff_rate: r.f64_opt("multiplier", 1.0, 1000.0)?.unwrap_or(2.0),
                max_interval_ms: Some(r.u64_opt("maxIntervalSeconds", max)?.unwrap_or(max) * 1000),
            })
        })
        .collect()
}

fn target(r: &Obj, key: &str, names: &HashMap<&str, usize>) -> Result<usize> {
    let n = r.str_req(key)?;
    names.get(n).copied().ok_or_else(|| {
        r.err(
            key,
            format!("no state named {n:?} in this scope (a catch goes to a sibling state)"),
        )
    })
}

/// CloudFlow `Catch`: Errors, Next, optional OutputConstructor building Next's input.
pub(super) fn cloudflow_catch(
    o: &Obj,
    names: &HashMap<&str, usize>,
    constructor: &dyn Fn(&Obj) -> Result<Option<Mapping>>,
) -> Result<Vec<CatchRule>> {
    list(o, "Catch")?
        .iter()
        .map(|r| {
            r.only(
                &["Errors", "Description", "Next", "OutputConstructor"],
                "a Catch rule",
            )?;
            r.str_opt("Description")?;
            Ok(CatchRule {
                errors: r.str_list("Errors")?,
                next: target(r, "Next", names)?,
                output: constructor(r)?,
            })
        })
        .collect()
}

/// FDL `catch`: errors and goto (a sibling step); the task's `errorMappings` build the
/// output ("Task steps": without them the error is not available to the next step).
pub(super) fn fdl_catch(
    o: &Obj,
    names: &HashMap<&str, usize>,
    error_mappings: Option<Mapping>,
) -> Result<Vec<CatchRule>> {
    list(o, "catch")?
        .iter()
        .map(|r| {
            r.only(&["errors", "goto"], "a catch rule")?;
            Ok(CatchRule {
                errors: r.str_list("errors")?,
                next: target(r, "goto", names)?,
                output: error_mappings.clone(),
            })
        })
        .collect()
}
