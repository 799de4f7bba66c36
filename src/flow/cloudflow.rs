//! CloudFlow (`Type: StateMachine`) -> model.
//! Pages: "CloudFlow: Flow Definition Language" (process-definition-introduction),
//! "Inputs and outputs" (input-and-output), and the Pass/Wait/Succeed/Fail state pages.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::path::{self, Root, Segment, Syntax};
use super::validate::{Obj, Result, check_graph, check_name, describe, join};
use super::{
    DefinitionError, Flow, FlowType, MAX_CONSTRUCTOR_DEPTH, MAX_STATES, MAX_WAIT_SECONDS, Mapping,
    Scope, State, StateKind, Template, WaitSpec,
};

const TOP_FIELDS: &[&str] = &[
    "Type",
    "SpecVersion",
    "Name",
    "Description",
    "StartAt",
    "States",
];
const UNSUPPORTED: &[&str] = &["Task", "Choice", "Parallel", "Map"];
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
    let start_at = o.str_req("StartAt")?;
    let Some(list) = o.list_opt("States")? else {
        return Err(o.err("States", "required field is missing"));
    };
    if list.is_empty() {
        return Err(o.err("States", "must list at least one state"));
    }
    if list.len() > MAX_STATES {
        return Err(o.err(
            "States",
            format!(
                "has {} states; at most {MAX_STATES} are allowed",
                list.len()
            ),
        ));
    }
    let mut objs = Vec::with_capacity(list.len());
    let mut names: HashMap<&str, usize> = HashMap::new();
    for (i, v) in list.iter().enumerate() {
        let path = format!("States[{i}]");
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
                format!("duplicate state name {name:?} (also used by States[{prev}])"),
            ));
        }
        objs.push(so);
    }
    let states = objs
        .iter()
        .map(|so| parse_state(so, &names))
        .collect::<Result<Vec<_>>>()?;
    let Some(&start) = names.get(start_at) else {
        return Err(o.err(
            "StartAt",
            format!("names state {start_at:?}, which is not in States"),
        ));
    };
    let root = Scope { states, start };
    check_graph(&root, &|i| format!("States[{i}]"))?;
    Ok(Flow {
        kind: FlowType::CloudFlow,
        name: Some(name.to_string()),
        root,
        input_mapping: None,
        output_mapping: None,
    })
}

fn fields(extra: &[&'static str]) -> Vec<&'static str> {
    COMMON.iter().chain(extra).copied().collect()
}

fn parse_state(so: &Obj, names: &HashMap<&str, usize>) -> Result<State> {
    let ty = so.str_req("Type")?;
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
        t if UNSUPPORTED.contains(&t) => {
            return Err(so.err("Type", format!("state type {t:?} is not supported yet")));
        }
        other => {
            return Err(so.err(
                "Type",
                format!(
                    "unknown state type {other:?}; expected Pass, Wait, Succeed or Fail \
                     (Task, Choice, Parallel and Map are not supported yet)"
                ),
            ));
        }
    };
    let next = parse_transition(so, ty, names)?;
    let input = constructor(so, "InputConstructor", false)?;
    let output = constructor(so, "OutputConstructor", true)?;
    Ok(State {
        name: so.str_req("Name")?.to_string(),
        kind,
        input,
        output,
        next,
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

/// Parse a `.$` expression value at `so.key`.
fn expr(so: &Obj, key: &str, v: &Value, allow_output: bool) -> Result<path::Path> {
    expression(&so.at(key), v, allow_output)
}

fn expression(at: &str, v: &Value, allow_output: bool) -> Result<path::Path> {
    let Value::String(s) = v else {
        return Err(DefinitionError::new(
            at,
            format!("expected an expression string, found {}", describe(v)),
        ));
    };
    let p = path::parse(s, Syntax::CloudFlow).map_err(|m| DefinitionError::new(at, m))?;
    let current_output = p.root == Root::Context
        && matches!(p.segments.as_slice(), [Segment::Key(a), Segment::Key(b), ..] if a == "Current" && b == "Output");
    if !allow_output && (p.root == Root::Output || current_output) {
        return Err(DefinitionError::new(
            at,
            "$Output can only be used inside OutputConstructor (Inputs and outputs page)",
        ));
    }
    Ok(p)
}

fn constructor(so: &Obj, key: &str, allow_output: bool) -> Result<Option<Mapping>> {
    let Some(m) = so.map_opt(key)? else {
        return Ok(None);
    };
    let t = template_object(m, &so.at(key), 1, allow_output)?;
    Ok(Some(Mapping::Constructor(t)))
}

/// Constructor map: keys ending in `.$` take an expression, others a constant; nested
/// objects and arrays are constructors too ("Inputs and outputs" page).
fn template_object(
    m: &Map<String, Value>,
    at: &str,
    depth: usize,
    allow_output: bool,
) -> Result<Template> {
    if depth > MAX_CONSTRUCTOR_DEPTH {
        return Err(DefinitionError::new(
            at,
            format!("constructor is nested deeper than {MAX_CONSTRUCTOR_DEPTH} levels"),
        ));
    }
    let mut out: Vec<(String, Template)> = Vec::with_capacity(m.len());
    for (k, v) in m {
        let here = join(at, k);
        let (key, t) = match k.strip_suffix(".$") {
            Some("") => {
                return Err(DefinitionError::new(
                    here,
                    "a key ending in .$ needs a name before it",
                ));
            }
            Some(base) => (
                base.to_string(),
                Template::Path(expression(&here, v, allow_output)?),
            ),
            None => (k.clone(), template(v, &here, depth + 1, allow_output)?),
        };
        if out.iter().any(|(existing, _)| *existing == key) {
            return Err(DefinitionError::new(
                here,
                format!("key {key:?} is given twice (with and without .$)"),
            ));
        }
        out.push((key, t));
    }
    Ok(Template::Object(out))
}

fn template(v: &Value, at: &str, depth: usize, allow_output: bool) -> Result<Template> {
    match v {
        Value::Object(m) => template_object(m, at, depth, allow_output),
        Value::Array(items) => {
            if depth > MAX_CONSTRUCTOR_DEPTH {
                return Err(DefinitionError::new(
                    at,
                    format!("constructor is nested deeper than {MAX_CONSTRUCTOR_DEPTH} levels"),
                ));
            }
            let ts = items
                .iter()
                .enumerate()
                .map(|(i, item)| template(item, &format!("{at}[{i}]"), depth + 1, allow_output))
                .collect::<Result<Vec<_>>>()?;
            Ok(Template::Array(ts))
        }
        other => Ok(Template::Const(other.clone())),
    }
}
