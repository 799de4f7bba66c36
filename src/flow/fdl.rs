//! FDL (`type: flow`) -> model.
//! Pages: "Flow Definition Language / Introduction" (flow-definition-language-overview),
//! "Inputs and outputs" (inputs-and-outputs, doc 122493) and the pass/wait/succeed/fail step pages.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::path::{self, Syntax};
use super::validate::{Obj, Result, check_name, describe};
use super::{
    DefinitionError, Flow, FlowType, MAX_STATES, MAX_WAIT_SECONDS, Mapping, Scope, State,
    StateKind, Target, Template, WaitSpec,
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
const UNSUPPORTED: &[&str] = &["task", "choice", "parallel", "foreach"];

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
    let root = sequence(list, "steps")?;
    Ok(Flow {
        kind: FlowType::Fdl,
        name,
        root,
        input_mapping,
        output_mapping,
    })
}

/// A list of steps run in order; each step's output merges into the parent's local data.
fn sequence(list: &[Value], at: &str) -> Result<Scope> {
    if list.is_empty() {
        return Err(DefinitionError::new(at, "must list at least one step"));
    }
    if list.len() > MAX_STATES {
        return Err(DefinitionError::new(
            at,
            format!("has {} steps; at most {MAX_STATES} are allowed", list.len()),
        ));
    }
    let mut names: HashMap<&str, usize> = HashMap::new();
    let mut states = Vec::with_capacity(list.len());
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
        let last = i + 1 == list.len();
        states.push(step(&so, name, last, i)?);
    }
    // No reachability check: steps after an `end: true` step are dead code, and later
    // choice `goto`s may jump to them; every sequence trivially reaches its end.
    Ok(Scope { states, start: 0 })
}

fn step(so: &Obj, name: &str, last: bool, index: usize) -> Result<State> {
    let ty = so.str_req("type")?;
    if UNSUPPORTED.contains(&ty) {
        return Err(so.err("type", format!("step type {ty:?} is not supported yet")));
    }
    if !matches!(ty, "pass" | "wait" | "succeed" | "fail") {
        return Err(so.err(
            "type",
            format!(
                "unknown step type {ty:?}; expected pass, wait, succeed or fail (task, choice, \
                 parallel and foreach are not supported yet)"
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
        _ => {}
    }
    so.only(&allowed, &format!("a {ty} step"))?;
    let kind = match ty {
        "wait" => StateKind::Wait(wait(so)?),
        "succeed" => StateKind::Succeed,
        "fail" => StateKind::Fail {
            error: so.str_opt("error")?.unwrap_or_default().to_string(),
            cause: so.str_opt("cause")?.unwrap_or_default().to_string(),
        },
        _ => StateKind::Pass,
    };
    let end = so.bool_opt("end")?.unwrap_or(false);
    let ends = end || last || matches!(kind, StateKind::Succeed | StateKind::Fail { .. });
    Ok(State {
        name: name.to_string(),
        kind,
        input: mappings(so, "inputMappings")?,
        output: mappings(so, "outputMappings")?,
        next: if ends { None } else { Some(index + 1) },
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
        let source = match source {
            Value::String(s) if s.trim_start().starts_with('$') => {
                Template::Path(path::parse(s, Syntax::FdlMapping).map_err(|m| mo.err("source", m))?)
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
