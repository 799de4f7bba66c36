//! FDL (`type: flow`) -> model.
//! Pages: "Flow Definition Language / Introduction" (flow-definition-language-overview),
//! "Inputs and outputs" (inputs-and-outputs, doc 122493), "Task steps", "Choice steps",
//! "Parallel steps", "Foreach steps", "Error handling" and the pass/wait/succeed/fail pages.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::computed::{self, Unavailable, condition, looks_like_expression};
use super::expr::Dialect;
use super::path::Syntax;
use super::rules::{self, MAX_TASK_TIMEOUT_SECONDS};
use super::validate::{Obj, Result, check_graph, describe, named_states};
use super::{
    ChoiceBranch, ChoiceSpec, DefinitionError, Flow, FlowType, MAX_NESTING_DEPTH, MapSpec, Mapping,
    Scope, State, StateKind, Target, TaskSpec, Template, TimeoutSpec, WaitSpec,
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
    if depth > MAX_NESTING_DEPTH && !list.is_empty() {
        return Err(DefinitionError::new(
            at,
            format!("steps are nested deeper than {MAX_NESTING_DEPTH} levels"),
        ));
    }
    let (objs, names) = named_states(list, at, "name", "step", count)?;
    let mut states = Vec::with_capacity(objs.len());
    for (i, so) in objs.iter().enumerate() {
        let last = i + 1 == objs.len();
        states.push(step(so, last, i, &names, depth, count)?);
    }
    let scope = Scope { states, start: 0 };
    // No reachability check: steps after an `end: true` step are dead code unless a goto
    // jumps to them; but a goto loop must have a way out.
    check_graph(&scope, &|i| format!("{at}[{i}]"), false)?;
    Ok(scope)
}

fn step(
    so: &Obj,
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
    // errorMappings work on parallel and foreach as on a task ("Task steps" defines them
    // for catch rules).
    let (retry, catch) = if matches!(ty, "task" | "parallel" | "foreach") {
        let error_mappings = mappings(so, "errorMappings")?;
        (
            rules::fdl_retry(so)?,
            rules::fdl_catch(so, names, error_mappings)?,
        )
    } else {
        (Vec::new(), Vec::new())
    };
    let kind = match ty {
        "wait" => StateKind::Wait(wait(so)?),
        "succeed" => StateKind::Succeed,
        "fail" => StateKind::Fail {
            error: so.str_opt("error")?.unwrap_or_default().to_string(),
            cause: so.str_opt("cause")?.unwrap_or_default().to_string(),
        },
        "task" => StateKind::Task(task(so)?),
        "choice" => StateKind::Choice(choice(so, names, depth, count)?),
        "parallel" => {
            let branches = so
                .parallel_branches("branches", "with steps")?
                .iter()
                .map(|b| {
                    b.only(&["steps"], "a parallel branch")?;
                    steps(b, depth, count)
                })
                .collect::<Result<Vec<_>>>()?;
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
        name: so.str_req("name")?.to_string(),
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
    let mode = rules::task_mode(so, "pattern", FlowType::Fdl)?;
    rules::check_mode(so, "pattern", &resource, mode)?;
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
    let list = so.maps_req("choices", "with condition", "choice")?;
    let mut branches = Vec::with_capacity(list.len());
    for co in &list {
        co.only(&["condition", "steps", "goto"], "a choice")?;
        let text = co.str_req("condition")?;
        let cond = condition(&co.at("condition"), text, Dialect::Fdl)?;
        branches.push(branch(co, Some(cond), names, depth, count)?);
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
    let im = so.map_req("iterationMapping", "with collection and item")?;
    im.only(&["collection", "item", "index"], "an iterationMapping")?;
    let collection = im.str_req("collection")?;
    let items = computed::parse(
        &im.at("collection"),
        collection,
        Syntax::FdlInput,
        Unavailable::Local,
    )?;
    let item = im.str_req("item")?;
    if item.is_empty() {
        return Err(im.err("item", "must not be empty"));
    }
    let index = im.str_opt("index")?.map(str::to_string);
    Ok(MapSpec {
        items,
        processor: steps(so, depth, count)?,
        max_concurrency: so.max_concurrency("maxConcurrency")?,
        item_constructor: None,
        fdl_item: Some((item.to_string(), index)),
    })
}

/// Wait step page: `duration` (seconds) or `timestamp` (RFC3339), each a constant or an
/// expression over the step input (`$.key`, `intAdd($.a, 1)`).
fn wait(so: &Obj) -> Result<WaitSpec> {
    let expression =
        |key: &str, s: &str| computed::parse(&so.at(key), s, Syntax::FdlInput, Unavailable::Local);
    match (so.get("duration"), so.get("timestamp")) {
        (None, None) => Err(DefinitionError::new(
            so.path.clone(),
            "a wait step needs either duration or timestamp",
        )),
        (Some(_), Some(_)) => {
            Err(so.err("timestamp", "give either duration or timestamp, not both"))
        }
        (Some(v), None) => match v {
            Value::String(s) if looks_like_expression(s) => {
                Ok(WaitSpec::SecondsAt(expression("duration", s)?))
            }
            _ => computed::wait_seconds(&so.at("duration"), v, "or an expression such as $.wait"),
        },
        (None, Some(v)) => match v {
            Value::String(s) => {
                computed::wait_until(&so.at("timestamp"), s, Syntax::FdlInput, Unavailable::Local)
            }
            other => Err(so.err(
                "timestamp",
                format!(
                    "expected an RFC3339 time or an expression such as $.time, found {}",
                    describe(other)
                ),
            )),
        },
    }
}

/// `inputMappings` / `outputMappings`: a list of `{target, source}`; a source string that
/// starts with `$` is an expression over `$input`, `$local` and `$context` (usually a path),
/// anything else a constant.
fn mappings(o: &Obj, key: &str) -> Result<Option<Mapping>> {
    let Some(list) = o.maps_opt(key, "with target and source")? else {
        return Ok(None);
    };
    let mut targets: Vec<Target> = Vec::with_capacity(list.len());
    for mo in &list {
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
        let source = match source {
            Value::String(s) if s.trim_start().starts_with('$') => {
                let at = mo.at("source");
                let c = computed::parse(&at, s, Syntax::FdlMapping, Unavailable::Nothing)?;
                Template::Computed(c)
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
