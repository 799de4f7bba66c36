//! CloudFlow (`Type: StateMachine`) -> model: the definition, its scopes (the flow, Parallel
//! branches, Map processors), transitions and error rules; `states` parses each state type.
//! Pages: "CloudFlow: Flow Definition Language" (process-definition-introduction),
//! "Inputs and outputs" (input-and-output), "Task", "Choice", "Parallel", "Map: inline mode",
//! "Error handling", and the Pass/Wait/Succeed/Fail state pages.

mod states;

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::constructor::constructor;
use super::rules;
use super::validate::{Obj, Result, check_graph, named_states};
use super::{DefinitionError, Flow, FlowType, MAX_NESTING_DEPTH, Scope, State, StateKind};

const TOP_FIELDS: &[&str] = &[
    "Type",
    "SpecVersion",
    "Name",
    "Description",
    "StartAt",
    "States",
];
/// Fields every state may have.
const COMMON: &[&str] = &[
    "Type",
    "Name",
    "Description",
    "InputConstructor",
    "OutputConstructor",
];
/// Fields of the states that move on and handle errors (Task, Parallel, Map).
const WITH_RULES: &[&str] = &["Next", "End", "Retry", "Catch"];

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
    let at = o.at("States");
    let (objs, names) = named_states(list, &at, "Name", "state", count)?;
    let states = objs
        .iter()
        .map(|so| parse_state(so, &names, depth, count))
        .collect::<Result<Vec<_>>>()?;
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

/// The fields a state of one type may have: `COMMON` plus `extra`.
fn fields(extra: &[&'static str]) -> Vec<&'static str> {
    COMMON.iter().chain(extra).copied().collect()
}

/// A nested `StartAt` + `States` mapping (Parallel branch, Map processor), one level deeper.
fn nested(o: &Obj, depth: usize, count: &mut usize) -> Result<Scope> {
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
    scope(o, depth, count)
}

fn parse_state(
    so: &Obj,
    names: &HashMap<&str, usize>,
    depth: usize,
    count: &mut usize,
) -> Result<State> {
    let ty = so.str_req("Type")?;
    let kind = match ty {
        "Pass" => {
            so.only(&fields(&["Next", "End"]), "a Pass state")?;
            StateKind::Pass
        }
        "Wait" => states::wait(so)?,
        "Succeed" => {
            so.only(&fields(&["End", "Next"]), "a Succeed state")?;
            StateKind::Succeed
        }
        "Fail" => states::fail(so)?,
        "Task" => states::task(so)?,
        "Choice" => states::choice(so, names)?,
        "Parallel" => states::parallel(so, depth, count)?,
        "Map" => states::map(so, depth, count)?,
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
