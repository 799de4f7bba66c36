//! The CloudFlow state types with fields of their own: Wait, Fail, Task, Choice, Parallel
//! and Map (Pass and Succeed have only the common fields). Each checks its fields and
//! builds its `StateKind`; transitions, constructors and Retry/Catch are the caller's.

use std::collections::HashMap;

use serde_json::Value;

use super::{WITH_RULES, fields, nested};
use crate::flow::computed::{self, Unavailable, condition};
use crate::flow::constructor::constructor;
use crate::flow::expr::Dialect;
use crate::flow::path::Syntax;
use crate::flow::rules::{self, MAX_TASK_TIMEOUT_SECONDS};
use crate::flow::validate::{Obj, Result, describe};
use crate::flow::{
    ChoiceBranch, ChoiceSpec, Computed, DefinitionError, FlowType, MapSpec, StateKind, TaskSpec,
    TimeoutSpec, WaitSpec,
};

/// A `.$` field: an expression in CloudFlow syntax that cannot read `$Output`.
fn expression(so: &Obj, key: &str, v: &Value) -> Result<Computed> {
    computed::parse_value(&so.at(key), v, Syntax::CloudFlow, Unavailable::Output)
}

/// Wait page: one of `Seconds`, `Seconds.$`, `UntilDateTime` (an RFC3339 constant or an
/// expression) or `UntilDateTime.$`.
pub(super) fn wait(so: &Obj) -> Result<StateKind> {
    for (old, new) in [
        ("Timestamp", "UntilDateTime"),
        ("TimestampPath", "UntilDateTime.$"),
        ("SecondsPath", "Seconds.$"),
    ] {
        if so.map.contains_key(old) {
            return Err(so.err(
                old,
                format!("unknown field {old:?} in a Wait state; use {new:?} (Wait page)"),
            ));
        }
    }
    let keys = ["Seconds", "Seconds.$", "UntilDateTime", "UntilDateTime.$"];
    let extra: Vec<&str> = ["Next", "End"].iter().chain(&keys).copied().collect();
    so.only(&fields(&extra), "a Wait state")?;
    let present: Vec<&str> = keys
        .iter()
        .copied()
        .filter(|k| so.map.contains_key(*k))
        .collect();
    let spec = match present.as_slice() {
        [] => {
            return Err(DefinitionError::new(
                so.path.clone(),
                "a Wait state needs one of Seconds, Seconds.$, UntilDateTime or UntilDateTime.$",
            ));
        }
        [one] => {
            let v = so.get(one).unwrap_or(&Value::Null);
            match *one {
                "Seconds" => {
                    computed::wait_seconds(&so.at(one), v, "use Seconds.$ for an expression")?
                }
                "Seconds.$" => WaitSpec::SecondsAt(expression(so, one, v)?),
                "UntilDateTime.$" => WaitSpec::UntilAt(expression(so, one, v)?),
                _ => match v {
                    Value::String(s) => computed::wait_until(
                        &so.at(one),
                        s,
                        Syntax::CloudFlow,
                        Unavailable::Output,
                    )?,
                    other => {
                        let found = describe(other);
                        return Err(so.err(one, format!("expected a string, found {found}")));
                    }
                },
            }
        }
        many => return Err(so.err(many[1], format!("give only one of {}", many.join(", ")))),
    };
    Ok(StateKind::Wait(spec))
}

/// Fail page: Code (optional) and Detail; Error/Cause accepted as aliases.
pub(super) fn fail(so: &Obj) -> Result<StateKind> {
    let extra = ["End", "Next", "Code", "Detail", "Error", "Cause"];
    so.only(&fields(&extra), "a Fail state")?;
    let error = alias(so, "Code", "Error")?;
    let cause = alias(so, "Detail", "Cause")?;
    Ok(StateKind::Fail { error, cause })
}

fn alias(so: &Obj, key: &str, other: &str) -> Result<String> {
    match (so.str_opt(key)?, so.str_opt(other)?) {
        (Some(_), Some(_)) => Err(so.err(
            other,
            format!("{other:?} is another name for {key:?}; give only one of them"),
        )),
        (a, b) => Ok(a.or(b).unwrap_or_default().to_string()),
    }
}

pub(super) fn task(so: &Obj) -> Result<StateKind> {
    let extra = ["Action", "TaskMode", "Parameters", "Timeout", "Timeout.$"];
    let all: Vec<&str> = extra.iter().chain(WITH_RULES).copied().collect();
    so.only(&fields(&all), "a Task state")?;
    let resource = rules::resource(so, "Action", FlowType::CloudFlow)?;
    let mode = rules::task_mode(so, "TaskMode", FlowType::CloudFlow)?;
    rules::check_mode(so, "TaskMode", &resource, mode)?;
    // Task page: Timeout is seconds (a string or number, 0..=604800, 0 = never); Timeout.$
    // takes an expression.
    let timeout = match (so.get("Timeout"), so.get("Timeout.$")) {
        (Some(_), Some(_)) => {
            return Err(so.err("Timeout.$", "give Timeout or Timeout.$, not both"));
        }
        (None, None) => None,
        (None, Some(v)) => Some(TimeoutSpec::At(expression(so, "Timeout.$", v)?)),
        (Some(v), None) => {
            let secs = match v {
                Value::String(s) => s.trim().parse::<u64>().ok(),
                other => other.as_u64(),
            };
            match secs {
                Some(s) if s <= MAX_TASK_TIMEOUT_SECONDS => Some(TimeoutSpec::Seconds(s)),
                _ => {
                    return Err(so.err(
                        "Timeout",
                        format!(
                            "must be a whole number of seconds from 0 to \
                             {MAX_TASK_TIMEOUT_SECONDS}, found {}",
                            describe(v)
                        ),
                    ));
                }
            }
        }
    };
    Ok(StateKind::Task(TaskSpec {
        resource,
        parameters: constructor(so, "Parameters", false)?,
        mode,
        timeout,
    }))
}

/// Choice page: `Branches` (each a `Condition` and a `Next`) and a required `Default`.
pub(super) fn choice(so: &Obj, names: &HashMap<&str, usize>) -> Result<StateKind> {
    so.only(&fields(&["Branches", "Default"]), "a Choice state")?;
    let target = |o: &Obj, key: &str| -> Result<usize> {
        let n = o.str_req(key)?;
        names
            .get(n)
            .copied()
            .ok_or_else(|| o.err(key, format!("names state {n:?}, which is not in States")))
    };
    let list = so.maps_req("Branches", "with Condition and Next", "branch")?;
    let mut branches = Vec::with_capacity(list.len());
    for bo in &list {
        bo.only(&["Condition", "Next", "Description"], "a Choice branch")?;
        bo.str_opt("Description")?;
        let text = bo.str_req("Condition")?;
        branches.push(ChoiceBranch {
            condition: Some(condition(&bo.at("Condition"), text, Dialect::CloudFlow)?),
            steps: None,
            goto: Some(target(bo, "Next")?),
        });
    }
    let default = ChoiceBranch {
        condition: None,
        steps: None,
        goto: Some(target(so, "Default")?),
    };
    Ok(StateKind::Choice(ChoiceSpec {
        branches,
        default: Some(default),
    }))
}

/// Parallel page: `Branches`, each a `StartAt` + `States` scope.
pub(super) fn parallel(so: &Obj, depth: usize, count: &mut usize) -> Result<StateKind> {
    let all: Vec<&str> = WITH_RULES.iter().chain(&["Branches"]).copied().collect();
    so.only(&fields(&all), "a Parallel state")?;
    let branches = so
        .parallel_branches("Branches", "with StartAt and States")?
        .iter()
        .map(|b| nested(b, depth + 1, count))
        .collect::<Result<Vec<_>>>()?;
    Ok(StateKind::Parallel(branches))
}

/// "Map: inline mode": `ItemsPath` (an expression giving an array), `Processor`,
/// `MaxConcurrency` (the page's table spells it `MaxConcuccency`; both are accepted) and
/// `ItemConstructor`.
pub(super) fn map(so: &Obj, depth: usize, count: &mut usize) -> Result<StateKind> {
    let extra = [
        "ItemsPath",
        "Processor",
        "MaxConcurrency",
        "MaxConcuccency",
        "ItemConstructor",
    ];
    let all: Vec<&str> = extra.iter().chain(WITH_RULES).copied().collect();
    so.only(&fields(&all), "a Map state")?;
    let Some(items) = so.get("ItemsPath") else {
        return Err(so.err("ItemsPath", "required field is missing"));
    };
    let items = expression(so, "ItemsPath", items)?;
    let processor = so.map_req("Processor", "with StartAt and States")?;
    let processor = nested(&processor, depth + 1, count)?;
    let key = if so.get("MaxConcuccency").is_some() {
        "MaxConcuccency"
    } else {
        "MaxConcurrency"
    };
    Ok(StateKind::Map(MapSpec {
        items,
        processor,
        max_concurrency: so.max_concurrency(key)?,
        item_constructor: constructor(so, "ItemConstructor", false)?,
        fdl_item: None,
    }))
}
