//! CloudFlow (`Type: StateMachine`) -> model.
//! Pages: "CloudFlow: Flow Definition Language" (process-definition-introduction),
//! "Inputs and outputs" (input-and-output), "Task", "Choice", "Parallel", "Map: inline mode",
//! "Error handling", and the Pass/Wait/Succeed/Fail state pages.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::constructor::{constructor, expr};
use super::expr::{self, Dialect, RootName};
use super::rules::{self, MAX_TASK_TIMEOUT_SECONDS};
use super::validate::{Obj, Result, check_graph, check_name, describe};
use super::{
    ChoiceBranch, ChoiceSpec, DefinitionError, Flow, FlowType, MAX_NESTING_DEPTH,
    MAX_PARALLEL_BRANCHES, MAX_STATES, MAX_WAIT_SECONDS, MapSpec, Scope, State, StateKind,
    TaskMode, TaskSpec, TimeoutSpec, WaitSpec,
};

const TOP_FIELDS: &[&str] = &[
    "Type",
    "SpecVersion",
    "Name",
    "Description",
    "StartAt",
    "States",
];
const COMMON: &[&str] = &[
    "Type",
    "Name",
    "Description",
    "InputConstructor",
    "OutputConstructor",
];

pub(super) fn parse(top: &Map<String, Value>) -> Result<Flow> {
    let o = Obj::new(top, "");
    o.only(TOP_FIELDS, "a CloudFlow definition")?;
    o.literal("Type", "StateMachine")?;
    o.literal("SpecVersion", "v1")?;
    let name = o.str_req("Name")?;
    if name.is_empty() {
        return Err(o.err("Name", "must not be empty"));
    }
    o.str_opt("Description")?;
    let mut count = 0;
    let root = scope(&o, 0, &mut count)?;
    Ok(Flow {
        kind: FlowType::CloudFlow,
        name: Some(name.to_string()),
        root,
        input_mapping: None,
        output_mapping: None,
    })
}

/// `StartAt` + `States` of `o` (the flow, a Parallel branch or a Map processor).
/// `count` totals the states of the whole definition, nested ones included.
fn scope(o: &Obj, depth: usize, count: &mut usize) -> Result<Scope> {
    let start_at = o.str_req("StartAt")?;
    let Some(list) = o.list_opt("States")? else {
        return Err(o.err("States", "required field is missing"));
    };
    if list.is_empty() {
        return Err(o.err("States", "must list at least one state"));
    }
    *count += list.len();
    if *count > MAX_STATES {
        return Err(o.err(
            "States",
            format!(
                "has {} states (with nested ones); at most {MAX_STATES} are allowed",
                *count
            ),
        ));
    }
    let at = o.at("States");
    let mut objs = Vec::with_capacity(list.len());
    let mut names: HashMap<&str, usize> = HashMap::new();
    for (i, v) in list.iter().enumerate() {
        let path = format!("{at}[{i}]");
        let Value::Object(m) = v else {
            return Err(DefinitionError::new(
                path,
                format!("expected a mapping (one state), found {}", describe(v)),
            ));
        };
        let so = Obj::new(m, path);
        let name = so.str_req("Name")?;
        check_name(name, &so.at("Name"))?;
        if let Some(prev) = names.insert(name, i) {
            return Err(so.err(
                "Name",
                format!("duplicate state name {name:?} (also used by {at}[{prev}])"),
            ));
        }
        objs.push(so);
    }
    let mut states = Vec::with_capacity(objs.len());
    for so in &objs {
        states.push(parse_state(so, &names, depth, count)?);
    }
    let Some(&start) = names.get(start_at) else {
        return Err(o.err(
            "StartAt",
            format!("names state {start_at:?}, which is not in States"),
        ));
    };
    let scope = Scope { states, start };
    check_graph(&scope, &|i| format!("{at}[{i}]"), true)?;
    Ok(scope)
}

fn fields(extra: &[&'static str]) -> Vec<&'static str> {
    COMMON.iter().chain(extra).copied().collect()
}

/// A nested `StartAt` + `States` mapping (Parallel branch, Map processor).
fn nested(v: &Value, at: String, depth: usize, count: &mut usize) -> Result<Scope> {
    let Value::Object(m) = v else {
        return Err(DefinitionError::new(
            at,
            format!(
                "expected a mapping with StartAt and States, found {}",
                describe(v)
            ),
        ));
    };
    let o = Obj::new(m, at);
    if depth > MAX_NESTING_DEPTH {
        return Err(DefinitionError::new(
            o.path.clone(),
            format!("Parallel and Map states are nested deeper than {MAX_NESTING_DEPTH} levels"),
        ));
    }
    o.only(
        &["StartAt", "States", "Description"],
        "a branch or processor",
    )?;
    scope(&o, depth, count)
}

fn parse_state(
    so: &Obj,
    names: &HashMap<&str, usize>,
    depth: usize,
    count: &mut usize,
) -> Result<State> {
    let ty = so.str_req("Type")?;
    let with_rules = ["Next", "End", "Retry", "Catch"];
    let kind = match ty {
        "Pass" => {
            so.only(&fields(&["Next", "End"]), "a Pass state")?;
            StateKind::Pass
        }
        "Wait" => {
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
            let extra = [
                "Next",
                "End",
                "Seconds",
                "Seconds.$",
                "UntilDateTime",
                "UntilDateTime.$",
            ];
            so.only(&fields(&extra), "a Wait state")?;
            StateKind::Wait(parse_wait(so)?)
        }
        "Succeed" => {
            so.only(&fields(&["End", "Next"]), "a Succeed state")?;
            StateKind::Succeed
        }
        "Fail" => {
            // Fail page: Code (optional) and Detail; Error/Cause accepted as aliases.
            let extra = ["End", "Next", "Code", "Detail", "Error", "Cause"];
            so.only(&fields(&extra), "a Fail state")?;
            let error = alias(so, "Code", "Error")?;
            let cause = alias(so, "Detail", "Cause")?;
            StateKind::Fail { error, cause }
        }
        "Task" => {
            let extra = ["Action", "TaskMode", "Parameters", "Timeout", "Timeout.$"];
            let all: Vec<&str> = extra.iter().chain(&with_rules).copied().collect();
            so.only(&fields(&all), "a Task state")?;
            StateKind::Task(task(so)?)
        }
        "Choice" => {
            so.only(&fields(&["Branches", "Default"]), "a Choice state")?;
            StateKind::Choice(choice(so, names)?)
        }
        "Parallel" => {
            let all: Vec<&str> = with_rules.iter().chain(&["Branches"]).copied().collect();
            so.only(&fields(&all), "a Parallel state")?;
            let Some(list) = so.list_opt("Branches")? else {
                return Err(so.err("Branches", "required field is missing"));
            };
            if list.is_empty() || list.len() > MAX_PARALLEL_BRANCHES {
                return Err(so.err(
                    "Branches",
                    format!(
                        "must list 1 to {MAX_PARALLEL_BRANCHES} branches (Parallel page), found {}",
                        list.len()
                    ),
                ));
            }
            let at = so.at("Branches");
            let branches = list
                .iter()
                .enumerate()
                .map(|(i, b)| nested(b, format!("{at}[{i}]"), depth + 1, count))
                .collect::<Result<Vec<_>>>()?;
            StateKind::Parallel(branches)
        }
        "Map" => {
            // "Map: inline mode" spells the field MaxConcuccency; accept both spellings.
            let extra = [
                "ItemsPath",
                "Processor",
                "MaxConcurrency",
                "MaxConcuccency",
                "ItemConstructor",
            ];
            let all: Vec<&str> = extra.iter().chain(&with_rules).copied().collect();
            so.only(&fields(&all), "a Map state")?;
            StateKind::Map(map(so, depth, count)?)
        }
        other => {
            return Err(so.err(
                "Type",
                format!(
                    "unknown state type {other:?}; expected Pass, Task, Choice, Parallel, Map, \
                     Wait, Succeed or Fail"
                ),
            ));
        }
    };
    let next = parse_transition(so, ty, names)?;
    let input = constructor(so, "InputConstructor", false)?;
    let output = constructor(so, "OutputConstructor", true)?;
    let (retry, catch) = if matches!(ty, "Task" | "Parallel" | "Map") {
        let ctor = |r: &Obj| constructor(r, "OutputConstructor", false);
        (
            rules::cloudflow_retry(so)?,
            rules::cloudflow_catch(so, names, &ctor)?,
        )
    } else {
        (Vec::new(), Vec::new())
    };
    Ok(State {
        name: so.str_req("Name")?.to_string(),
        kind,
        input,
        output,
        next,
        retry,
        catch,
    })
}

fn task(so: &Obj) -> Result<TaskSpec> {
    let resource = rules::resource(so, "Action", FlowType::CloudFlow)?;
    let mode = match so.str_opt("TaskMode")? {
        None | Some("RequestComplete") => TaskMode::RequestComplete,
        Some("WaitForSystemCallback") => TaskMode::WaitForSystemCallback,
        Some("WaitForCustomCallback") => TaskMode::WaitForCustomCallback,
        Some(other) => {
            return Err(so.err(
                "TaskMode",
                format!(
                    "unknown mode {other:?}; expected RequestComplete, WaitForSystemCallback \
                     or WaitForCustomCallback"
                ),
            ));
        }
    };
    // Task page: Timeout is seconds (a string or number, 0..=604800, 0 = never); Timeout.$
    // takes an expression.
    let timeout = match (so.get("Timeout"), so.get("Timeout.$")) {
        (Some(_), Some(_)) => {
            return Err(so.err("Timeout.$", "give Timeout or Timeout.$, not both"));
        }
        (None, None) => None,
        (None, Some(v)) => Some(TimeoutSpec::At(expr(so, "Timeout.$", v, false)?)),
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
    Ok(TaskSpec {
        resource,
        parameters: constructor(so, "Parameters", false)?,
        mode,
        timeout,
    })
}

fn choice(so: &Obj, names: &HashMap<&str, usize>) -> Result<ChoiceSpec> {
    let Some(list) = so.list_opt("Branches")? else {
        return Err(so.err("Branches", "required field is missing"));
    };
    if list.is_empty() {
        return Err(so.err("Branches", "must list at least one branch"));
    }
    let at = so.at("Branches");
    let target = |o: &Obj, key: &str| -> Result<usize> {
        let n = o.str_req(key)?;
        names
            .get(n)
            .copied()
            .ok_or_else(|| o.err(key, format!("names state {n:?}, which is not in States")))
    };
    let mut branches = Vec::with_capacity(list.len());
    for (i, b) in list.iter().enumerate() {
        let Value::Object(m) = b else {
            return Err(DefinitionError::new(
                format!("{at}[{i}]"),
                format!(
                    "expected a mapping with Condition and Next, found {}",
                    describe(b)
                ),
            ));
        };
        let bo = Obj::new(m, format!("{at}[{i}]"));
        bo.only(&["Condition", "Next", "Description"], "a Choice branch")?;
        bo.str_opt("Description")?;
        let text = bo.str_req("Condition")?;
        branches.push(ChoiceBranch {
            condition: Some(condition(&bo.at("Condition"), text, Dialect::CloudFlow)?),
            steps: None,
            goto: Some(target(&bo, "Next")?),
        });
    }
    // Choice page: Default is required.
    let default = ChoiceBranch {
        condition: None,
        steps: None,
        goto: Some(target(so, "Default")?),
    };
    Ok(ChoiceSpec {
        branches,
        default: Some(default),
    })
}

/// Parse a condition with the expression language; `$Output` is refused (no output yet).
pub(super) fn condition(at: &str, text: &str, dialect: Dialect) -> Result<expr::Expr> {
    let e = expr::parse(text, dialect)
        .map_err(|e| DefinitionError::new(at, format!("invalid condition: {e}")))?;
    if e.roots().contains(&RootName::Output) {
        return Err(DefinitionError::new(
            at,
            "a condition cannot read $Output (the state has no output yet)",
        ));
    }
    Ok(e)
}

fn map(so: &Obj, depth: usize, count: &mut usize) -> Result<MapSpec> {
    let Some(items) = so.get("ItemsPath") else {
        return Err(so.err("ItemsPath", "required field is missing"));
    };
    let items = expr(so, "ItemsPath", items, false)?;
    let Some(processor) = so.get("Processor") else {
        return Err(so.err("Processor", "required field is missing"));
    };
    let processor = nested(processor, so.at("Processor"), depth + 1, count)?;
    let key = if so.get("MaxConcuccency").is_some() {
        "MaxConcuccency"
    } else {
        "MaxConcurrency"
    };
    let max_concurrency = so.u64_opt(key, u64::from(super::MAX_CONCURRENCY))?;
    Ok(MapSpec {
        items,
        processor,
        // 0 or absent: as many as the engine allows at once.
        max_concurrency: match max_concurrency {
            None | Some(0) => super::MAX_CONCURRENCY,
            Some(n) => n as u32,
        },
        item_constructor: constructor(so, "ItemConstructor", false)?,
        fdl_item: None,
    })
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

fn parse_transition(so: &Obj, ty: &str, names: &HashMap<&str, usize>) -> Result<Option<usize>> {
    let next = so.str_opt("Next")?;
    let end = so.bool_opt("End")?;
    if ty == "Choice" {
        return Ok(None);
    }
    if matches!(ty, "Succeed" | "Fail") {
        if next.is_some() {
            return Err(so.err(
                "Next",
                format!("a {ty} state ends the flow and cannot have Next"),
            ));
        }
        // The Fail page's own example writes `End: true`; accept that, refuse `End: false`.
        if end == Some(false) {
            return Err(so.err(
                "End",
                format!("a {ty} state always ends; remove End: false"),
            ));
        }
        return Ok(None);
    }
    match (next, end) {
        (Some(_), Some(true)) => {
            Err(so.err("End", "a state has either Next or End: true, not both"))
        }
        (Some(n), _) => match names.get(n) {
            Some(&i) => Ok(Some(i)),
            None => Err(so.err("Next", format!("names state {n:?}, which is not in States"))),
        },
        (None, Some(true)) => Ok(None),
        (None, _) => Err(DefinitionError::new(
            so.path.clone(),
            format!("a {ty} state needs either Next or End: true"),
        )),
    }
}

fn parse_wait(so: &Obj) -> Result<WaitSpec> {
    let keys = ["Seconds", "Seconds.$", "UntilDateTime", "UntilDateTime.$"];
    let present: Vec<&str> = keys
        .iter()
        .copied()
        .filter(|k| so.map.contains_key(*k))
        .collect();
    match present.as_slice() {
        [] => Err(DefinitionError::new(
            so.path.clone(),
            "a Wait state needs one of Seconds, Seconds.$, UntilDateTime or UntilDateTime.$",
        )),
        [one] => {
            let v = so.get(one).unwrap_or(&Value::Null);
            match *one {
                "Seconds" => match v.as_u64() {
                    Some(s) if s <= MAX_WAIT_SECONDS => Ok(WaitSpec::Seconds(s)),
                    _ => Err(so.err(
                        one,
                        format!(
                            "must be a whole number of seconds from 0 to {MAX_WAIT_SECONDS}, \
                             found {} (use Seconds.$ for an expression)",
                            describe(v)
                        ),
                    )),
                },
                "Seconds.$" => Ok(WaitSpec::SecondsAt(expr(so, one, v, false)?)),
                "UntilDateTime.$" => Ok(WaitSpec::UntilAt(expr(so, one, v, false)?)),
                // Wait page: UntilDateTime is an RFC3339 constant or an expression like $Input.t.
                _ => match v {
                    Value::String(s) if s.trim_start().starts_with('$') => {
                        Ok(WaitSpec::UntilAt(expr(so, one, v, false)?))
                    }
                    Value::String(s) => crate::time::parse_rfc3339(s)
                        .map(WaitSpec::Until)
                        .ok_or_else(|| {
                            so.err(
                                one,
                                format!(
                                    "{s:?} is not an RFC3339 time such as 2023-10-02T15:04:05Z \
                                 (or an expression such as $Input.time)"
                                ),
                            )
                        }),
                    other => {
                        Err(so.err(one, format!("expected a string, found {}", describe(other))))
                    }
                },
            }
        }
        many => Err(so.err(many[1], format!("give only one of {}", many.join(", ")))),
    }
}
