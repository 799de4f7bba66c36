//! FDL (`type: flow`) -> model.
//! Pages: "Flow Definition Language / Introduction" (flow-definition-language-overview),
//! "Inputs and outputs" (inputs-and-outputs, doc 122493), "Task steps", "Choice steps",
//! "Parallel steps", "Foreach steps", "Error handling" and the pass/wait/succeed/fail pages.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::cloudflow::condition;
use super::expr::{self, Dialect};
use super::path::{self, Syntax};
use super::rules::{self, MAX_TASK_TIMEOUT_SECONDS};
use super::validate::{Obj, Result, check_graph, check_name, describe};
use super::{
    ChoiceBranch, ChoiceSpec, DefinitionError, Flow, FlowType, MAX_CONCURRENCY, MAX_NESTING_DEPTH,
    MAX_PARALLEL_BRANCHES, MAX_STATES, MAX_WAIT_SECONDS, MapSpec, Mapping, Scope, State, StateKind,
    Target, TaskMode, TaskSpec, Template, TimeoutSpec, WaitSpec,
};

const TOP_FIELDS: &[&str] = &[
    "version",
    "type",
    "name",
    "steps",
    "inputMappings",
    "outputMappings",
    "timeoutSeconds",
];

pub(super) fn parse(top: &Map<String, Value>) -> Result<Flow> {
    let o = Obj::new(top, "");
    o.only(TOP_FIELDS, "an FDL definition")?;
    o.literal("version", "v1")?;
    o.literal("type", "flow")?;
    let name = o.str_opt("name")?.map(str::to_string);
    if o.get("timeoutSeconds").is_some() {
        return Err(o.err("timeoutSeconds", "flow timeouts are not supported yet"));
    }
    let input_mapping = mappings(&o, "inputMappings")?;
    let output_mapping = mappings(&o, "outputMappings")?;
    let Some(list) = o.list_opt("steps")? else {
        return Err(o.err("steps", "required field is missing"));
    };
    let mut count = 0;
    let root = sequence(list, "steps", 0, &mut count)?;
    Ok(Flow {
        kind: FlowType::Fdl,
        name,
        root,
        input_mapping,
        output_mapping,
    })
}

/// A list of steps run in order; each step's output merges into the parent's local data.
/// `count` totals the steps of the whole definition, nested ones included.
fn sequence(list: &[Value], at: &str, depth: usize, count: &mut usize) -> Result<Scope> {
    if list.is_empty() {
        return Err(DefinitionError::new(at, "must list at least one step"));
    }
    if depth > MAX_NESTING_DEPTH {
        return Err(DefinitionError::new(
            at,
            format!("steps are nested deeper than {MAX_NESTING_DEPTH} levels"),
        ));
    }
    *count += list.len();
    if *count > MAX_STATES {
        return Err(DefinitionError::new(
            at,
            format!(
                "has {} steps (with nested ones); at most {MAX_STATES} are allowed",
                *count
            ),
        ));
    }
    let mut names: HashMap<&str, usize> = HashMap::new();
    let mut objs = Vec::with_capacity(list.len());
    for (i, v) in list.iter().enumerate() {
        let path = format!("{at}[{i}]");
        let Value::Object(m) = v else {
            return Err(DefinitionError::new(
                path,
                format!("expected a mapping (one step), found {}", describe(v)),
            ));
        };
        let so = Obj::new(m, path);
        let name = so.str_req("name")?;
        check_name(name, &so.at("name"))?;
        if let Some(prev) = names.insert(name, i) {
            return Err(so.err(
                "name",
                format!("duplicate step name {name:?} (also used by {at}[{prev}])"),
            ));
        }
        objs.push((so, name));
    }
    let mut states = Vec::with_capacity(objs.len());
    for (i, (so, name)) in objs.iter().enumerate() {
        let last = i + 1 == objs.len();
        states.push(step(so, name, last, i, &names, depth, count)?);
    }
    let scope = Scope { states, start: 0 };
    // No reachability check: steps after an `end: true` step are dead code unless a goto
    // jumps to them; but a goto loop must have a way out.
    check_graph(&scope, &|i| format!("{at}[{i}]"), false)?;
    Ok(scope)
}

fn step(
    so: &Obj,
    name: &str,
    last: bool,
    index: usize,
    names: &HashMap<&str, usize>,
    depth: usize,
    count: &mut usize,
) -> Result<State> {
    let ty = so.str_req("type")?;
    if !matches!(
        ty,
        "pass" | "wait" | "succeed" | "fail" | "task" | "choice" | "parallel" | "foreach"
    ) {
        return Err(so.err(
            "type",
            format!(
                "unknown step type {ty:?}; expected pass, task, choice, parallel, foreach, \
                 wait, succeed or fail"
            ),
        ));
    }
    if so.get("goto").is_some() {
        return Err(so.err(
            "goto",
            format!("goto belongs to choice branches and catch rules, not to a {ty} step"),
        ));
    }
    let mut allowed = vec!["type", "name", "inputMappings", "outputMappings"];
    match ty {
        "pass" => allowed.push("end"),
        "wait" => allowed.extend(["end", "duration", "timestamp"]),
        "fail" => allowed.extend(["error", "cause"]),
        "task" => allowed.extend([
            "end",
            "resourceArn",
            "pattern",
            "timeoutSeconds",
            "errorMappings",
            "retry",
            "catch",
        ]),
        "choice" => allowed.extend(["end", "choices", "default"]),
        "parallel" => allowed.extend(["end", "branches", "errorMappings", "retry", "catch"]),
        "foreach" => allowed.extend([
            "end",
            "iterationMapping",
            "steps",
            "maxConcurrency",
            "errorMappings",
            "retry",
            "catch",
        ]),
        _ => {}
    }
    so.only(&allowed, &format!("a {ty} step"))?;
    let (mut retry, mut catch) = (Vec::new(), Vec::new());
    if matches!(ty, "parallel" | "foreach") {
        retry = rules::fdl_retry(so)?;
        // errorMappings work as on a task: the Task steps page defines them for catch rules.
        catch = rules::fdl_catch(so, names, mappings(so, "errorMappings")?)?;
    }
    let kind = match ty {
        "wait" => StateKind::Wait(wait(so)?),
        "succeed" => StateKind::Succeed,
        "fail" => StateKind::Fail {
            error: so.str_opt("error")?.unwrap_or_default().to_string(),
            cause: so.str_opt("cause")?.unwrap_or_default().to_string(),
        },
        "task" => {
            retry = rules::fdl_retry(so)?;
            catch = rules::fdl_catch(so, names, mappings(so, "errorMappings")?)?;
            StateKind::Task(task(so)?)
        }
        "choice" => StateKind::Choice(choice(so, names, depth, count)?),
        "parallel" => {
            let Some(list) = so.list_opt("branches")? else {
                return Err(so.err("branches", "required field is missing"));
            };
            if list.is_empty() || list.len() > MAX_PARALLEL_BRANCHES {
                return Err(so.err(
                    "branches",
                    format!(
                        "must list 1 to {MAX_PARALLEL_BRANCHES} branches, found {}",
                        list.len()
                    ),
                ));
            }
            let at = so.at("branches");
            let mut branches = Vec::with_capacity(list.len());
            for (i, b) in list.iter().enumerate() {
                let here = format!("{at}[{i}]");
                let Value::Object(m) = b else {
                    return Err(DefinitionError::new(
                        here,
                        format!("expected a mapping with steps, found {}", describe(b)),
                    ));
                };
                let bo = Obj::new(m, here);
                bo.only(&["steps"], "a parallel branch")?;
                branches.push(steps(&bo, depth, count)?);
            }
            StateKind::Parallel(branches)
        }
        "foreach" => StateKind::Map(foreach(so, depth, count)?),
        _ => StateKind::Pass,
    };
    if matches!(ty, "succeed" | "fail") && so.get("end").is_some() {
        return Err(so.err("end", format!("a {ty} step always ends; remove end")));
    }
    let end = so.bool_opt("end")?.unwrap_or(false);
    let ends = end || last || matches!(kind, StateKind::Succeed | StateKind::Fail { .. });
    Ok(State {
        name: name.to_string(),
        kind,
        input: mappings(so, "inputMappings")?,
        output: mappings(so, "outputMappings")?,
        next: if ends { None } else { Some(index + 1) },
        retry,
        catch,
    })
}

/// Nested `steps` of `o`, one level deeper.
fn steps(o: &Obj, depth: usize, count: &mut usize) -> Result<Scope> {
    let Some(list) = o.list_opt("steps")? else {
        return Err(o.err("steps", "required field is missing"));
    };
    sequence(list, &o.at("steps"), depth + 1, count)
}

fn task(so: &Obj) -> Result<TaskSpec> {
    let resource = rules::resource(so, "resourceArn", FlowType::Fdl)?;
    let mode = match so.str_opt("pattern")? {
        None | Some("requestResponse") => TaskMode::RequestComplete,
        Some("sync") => TaskMode::WaitForSystemCallback,
        Some("waitForCallback") => TaskMode::WaitForCustomCallback,
        Some(other) => {
            return Err(so.err(
                "pattern",
                format!(
                    "unknown pattern {other:?}; expected requestResponse, sync or waitForCallback"
                ),
            ));
        }
    };
    let timeout = so
        .u64_opt("timeoutSeconds", MAX_TASK_TIMEOUT_SECONDS)?
        .map(TimeoutSpec::Seconds);
    Ok(TaskSpec {
        resource,
        // FDL: the step input (after inputMappings) is the task's input ("Task steps").
        parameters: None,
        mode,
        timeout,
    })
}

/// Choice steps page: `choices` (condition + steps and/or goto), optional `default`.
fn choice(
    so: &Obj,
    names: &HashMap<&str, usize>,
    depth: usize,
    count: &mut usize,
) -> Result<ChoiceSpec> {
    let Some(list) = so.list_opt("choices")? else {
        return Err(so.err("choices", "required field is missing"));
    };
    if list.is_empty() {
        return Err(so.err("choices", "must list at least one choice"));
    }
    let at = so.at("choices");
    let mut branches = Vec::with_capacity(list.len());
    for (i, c) in list.iter().enumerate() {
        let here = format!("{at}[{i}]");
        let Value::Object(m) = c else {
            return Err(DefinitionError::new(
                here,
                format!("expected a mapping with condition, found {}", describe(c)),
            ));
        };
        let co = Obj::new(m, here);
        co.only(&["condition", "steps", "goto"], "a choice")?;
        let text = co.str_req("condition")?;
        let cond = condition(&co.at("condition"), text, Dialect::Fdl)?;
        branches.push(branch(&co, Some(cond), names, depth, count)?);
    }
    let default = match so.map_opt("default")? {
        None => None,
        Some(m) => {
            let d = Obj::new(m, so.at("default"));
            d.only(&["steps", "goto"], "a choice default")?;
            Some(branch(&d, None, names, depth, count)?)
        }
    };
    Ok(ChoiceSpec { branches, default })
}

fn branch(
    o: &Obj,
    condition: Option<super::expr::Expr>,
    names: &HashMap<&str, usize>,
    depth: usize,
    count: &mut usize,
) -> Result<ChoiceBranch> {
    let steps = match o.get("steps") {
        Some(_) => Some(steps(o, depth, count)?),
        None => None,
    };
    let goto = match o.str_opt("goto")? {
        None => None,
        Some(g) => Some(names.get(g).copied().ok_or_else(|| {
            o.err(
                "goto",
                format!("no step named {g:?} at this level (goto targets a sibling step)"),
            )
        })?),
    };
    if steps.is_none() && goto.is_none() {
        return Err(DefinitionError::new(
            o.path.clone(),
            "a choice needs steps, goto or both",
        ));
    }
    Ok(ChoiceBranch {
        condition,
        steps,
        goto,
    })
}

/// Foreach steps page: `iterationMapping` (collection, item, index), `steps`,
/// `maxConcurrency` (at most 100 at once).
fn foreach(so: &Obj, depth: usize, count: &mut usize) -> Result<MapSpec> {
    let Some(m) = so.map_opt("iterationMapping")? else {
        return Err(so.err("iterationMapping", "required field is missing"));
    };
    let im = Obj::new(m, so.at("iterationMapping"));
    im.only(&["collection", "item", "index"], "an iterationMapping")?;
    let collection = im.str_req("collection")?;
    let items = path::parse(collection, Syntax::FdlInput).map_err(|e| im.err("collection", e))?;
    let item = im.str_req("item")?;
    if item.is_empty() {
        return Err(im.err("item", "must not be empty"));
    }
    let index = im.str_opt("index")?.map(str::to_string);
    let max = so.u64_opt("maxConcurrency", u64::from(MAX_CONCURRENCY))?;
    Ok(MapSpec {
        items,
        processor: steps(so, depth, count)?,
        max_concurrency: match max {
            None | Some(0) => MAX_CONCURRENCY,
            Some(n) => n as u32,
        },
        item_constructor: None,
        fdl_item: Some((item.to_string(), index)),
    })
}

/// Wait step page: `duration` (seconds) or `timestamp` (RFC3339), each a constant or `$.key`.
fn wait(so: &Obj) -> Result<WaitSpec> {
    let path_of = |key: &str, s: &str| path::parse(s, Syntax::FdlInput).map_err(|m| so.err(key, m));
    match (so.get("duration"), so.get("timestamp")) {
        (None, None) => Err(DefinitionError::new(
            so.path.clone(),
            "a wait step needs either duration or timestamp",
        )),
        (Some(_), Some(_)) => {
            Err(so.err("timestamp", "give either duration or timestamp, not both"))
        }
        (Some(v), None) => match v {
            Value::String(s) if s.trim_start().starts_with('$') => {
                Ok(WaitSpec::SecondsAt(path_of("duration", s)?))
            }
            _ => match v.as_u64() {
                Some(secs) if secs <= MAX_WAIT_SECONDS => Ok(WaitSpec::Seconds(secs)),
                _ => Err(so.err(
                    "duration",
                    format!(
                        "must be a whole number of seconds from 0 to {MAX_WAIT_SECONDS} or a \
                         path such as $.wait, found {}",
                        describe(v)
                    ),
                )),
            },
        },
        (None, Some(v)) => match v {
            Value::String(s) if s.trim_start().starts_with('$') => {
                Ok(WaitSpec::UntilAt(path_of("timestamp", s)?))
            }
            Value::String(s) => crate::time::parse_rfc3339(s)
                .map(WaitSpec::Until)
                .ok_or_else(|| {
                    so.err(
                        "timestamp",
                        format!("{s:?} is not an RFC3339 time such as 2019-05-02T15:04:05Z"),
                    )
                }),
            other => Err(so.err(
                "timestamp",
                format!(
                    "expected an RFC3339 time or a path such as $.time, found {}",
                    describe(other)
                ),
            )),
        },
    }
}

/// `inputMappings` / `outputMappings`: a list of `{target, source}`; a source string that
/// starts with `$` is a path into `$input`, `$local` or `$context`, anything else a constant.
fn mappings(o: &Obj, key: &str) -> Result<Option<Mapping>> {
    let Some(list) = o.list_opt(key)? else {
        return Ok(None);
    };
    let at = o.at(key);
    let mut targets: Vec<Target> = Vec::with_capacity(list.len());
    for (i, v) in list.iter().enumerate() {
        let here = format!("{at}[{i}]");
        let Value::Object(m) = v else {
            return Err(DefinitionError::new(
                here,
                format!(
                    "expected a mapping with target and source, found {}",
                    describe(v)
                ),
            ));
        };
        let mo = Obj::new(m, here);
        mo.only(&["target", "source"], "a mapping")?;
        let target = mo.str_req("target")?;
        if target.is_empty() {
            return Err(mo.err("target", "must not be empty"));
        }
        if targets.iter().any(|t| t.target == target) {
            return Err(mo.err("target", format!("target {target:?} is mapped twice")));
        }
        let Some(source) = mo.get("source") else {
            return Err(mo.err("source", "required field is missing"));
        };
        let source =
            match source {
                Value::String(s) if s.trim_start().starts_with('$') => {
                    match path::parse(s, Syntax::FdlMapping) {
                        Ok(p) => Template::Path(p),
                        // Beyond a plain path: the expression language (`$local[*].name`, functions).
                        Err(_) => Template::Expr(expr::parse(s, Dialect::Fdl).map_err(|e| {
                            mo.err("source", format!("invalid expression {s:?}: {e}"))
                        })?),
                    }
                }
                other => Template::Const(other.clone()),
            };
        targets.push(Target {
            target: target.to_string(),
            source,
        });
    }
    Ok(Some(Mapping::Targets(targets)))
}
