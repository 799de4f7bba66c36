//! Helpers shared by both language parsers: YAML loading, typed field access that
//! names the bad element, unknown-field detection, and graph checks.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::{
    DefinitionError, MAX_CONCURRENCY, MAX_PARALLEL_BRANCHES, MAX_STATE_NAME_CHARS, MAX_STATES,
    Scope, State, StateKind,
};

pub(crate) type Result<T> = std::result::Result<T, DefinitionError>;

/// Parse YAML (JSON is YAML too) into a JSON value; syntax errors carry line/column.
pub(crate) fn load_yaml(text: &str) -> Result<Value> {
    if text.trim().is_empty() {
        return Err(DefinitionError::new(
            "Definition",
            "the definition is empty",
        ));
    }
    super::nesting::check(text)?;
    serde_norway::from_str::<Value>(text).map_err(|e| {
        let mut message = format!("invalid YAML: {e}");
        if let Some(loc) = e.location()
            && !message.contains("line")
        {
            message.push_str(&format!(" at line {} column {}", loc.line(), loc.column()));
        }
        DefinitionError::new("Definition", message)
    })
}

/// A short description of a value's type for error messages.
pub(crate) fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(s) => {
            let short: String = s.chars().take(40).collect();
            format!("string {short:?}")
        }
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a mapping".into(),
    }
}

/// Join a path prefix and a field name: `States[2]` + `Next` -> `States[2].Next`.
pub(crate) fn join(prefix: &str, key: &str) -> String {
    // An empty key still has to show in the path (the fuzz targets found one).
    let key = if key.is_empty() { "\"\"" } else { key };
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

/// A mapping in the definition together with its path, for typed access.
pub(crate) struct Obj<'a> {
    pub map: &'a Map<String, Value>,
    pub path: String,
}

impl<'a> Obj<'a> {
    pub fn new(map: &'a Map<String, Value>, path: impl Into<String>) -> Self {
        Obj {
            map,
            path: path.into(),
        }
    }

    pub fn at(&self, key: &str) -> String {
        join(&self.path, key)
    }

    pub fn err(&self, key: &str, message: impl Into<String>) -> DefinitionError {
        DefinitionError::new(self.at(key), message)
    }

    /// Refuse fields outside `allowed`, naming every unknown one (users make typos).
    pub fn only(&self, allowed: &[&str], what: &str) -> Result<()> {
        // Sorted so the message does not depend on the map's key order.
        let mut unknown: Vec<&String> = self
            .map
            .keys()
            .filter(|k| !allowed.contains(&k.as_str()))
            .collect();
        unknown.sort();
        let Some(first) = unknown.first() else {
            return Ok(());
        };
        let names: Vec<String> = unknown
            .iter()
            .map(|k| match suggest(k, allowed) {
                Some(s) => format!("{k:?} (did you mean {s:?}?)"),
                None => format!("{k:?}"),
            })
            .collect();
        let plural = if unknown.len() > 1 { "s" } else { "" };
        Err(self.err(
            first,
            format!(
                "unknown field{plural} {} in {what}; allowed fields: {}",
                names.join(", "),
                allowed.join(", ")
            ),
        ))
    }

    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key)
    }

    pub fn str_opt(&self, key: &str) -> Result<Option<&'a str>> {
        match self.map.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(v) => Err(self.err(key, format!("expected a string, found {}", describe(v)))),
        }
    }

    pub fn str_req(&self, key: &str) -> Result<&'a str> {
        self.str_opt(key)?
            .ok_or_else(|| self.err(key, "required field is missing"))
    }

    pub fn bool_opt(&self, key: &str) -> Result<Option<bool>> {
        match self.map.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => Err(self.err(
                key,
                format!("expected a boolean (true/false), found {}", describe(v)),
            )),
        }
    }

    pub fn list_opt(&self, key: &str) -> Result<Option<&'a Vec<Value>>> {
        match self.map.get(key) {
            None => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a)),
            Some(v) => Err(self.err(key, format!("expected a list, found {}", describe(v)))),
        }
    }

    pub fn map_opt(&self, key: &str) -> Result<Option<&'a Map<String, Value>>> {
        match self.map.get(key) {
            None => Ok(None),
            Some(Value::Object(m)) => Ok(Some(m)),
            Some(v) => Err(self.err(key, format!("expected a mapping, found {}", describe(v)))),
        }
    }

    /// The mapping at `key` (required); `what` says what it holds, for the message when it
    /// is something else (`"with StartAt and States"`).
    pub fn map_req(&self, key: &str, what: &str) -> Result<Obj<'a>> {
        match self.map.get(key) {
            None => Err(self.err(key, "required field is missing")),
            Some(v) => as_obj(v, self.at(key), what),
        }
    }

    /// The list of mappings at `key`, if present; `what` as for `map_req`.
    pub fn maps_opt(&self, key: &str, what: &str) -> Result<Option<Vec<Obj<'a>>>> {
        let Some(list) = self.list_opt(key)? else {
            return Ok(None);
        };
        let at = self.at(key);
        list.iter()
            .enumerate()
            .map(|(i, v)| as_obj(v, format!("{at}[{i}]"), what))
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }

    /// Like `maps_opt`, for a required list of at least one mapping (`noun` names one).
    pub fn maps_req(&self, key: &str, what: &str, noun: &str) -> Result<Vec<Obj<'a>>> {
        let Some(list) = self.maps_opt(key, what)? else {
            return Err(self.err(key, "required field is missing"));
        };
        if list.is_empty() {
            return Err(self.err(key, format!("must list at least one {noun}")));
        }
        Ok(list)
    }

    /// The branches of a Parallel state or step: 1 to 50 ("CloudFlow: Parallel").
    pub fn parallel_branches(&self, key: &str, what: &str) -> Result<Vec<Obj<'a>>> {
        let Some(list) = self.maps_opt(key, what)? else {
            return Err(self.err(key, "required field is missing"));
        };
        if list.is_empty() || list.len() > MAX_PARALLEL_BRANCHES {
            return Err(self.err(
                key,
                format!(
                    "must list 1 to {MAX_PARALLEL_BRANCHES} branches (Parallel page), found {}",
                    list.len()
                ),
            ));
        }
        Ok(list)
    }

    /// Map `MaxConcurrency` / foreach `maxConcurrency`: absent or 0 means as many as the
    /// engine allows at once.
    pub fn max_concurrency(&self, key: &str) -> Result<u32> {
        Ok(match self.u64_opt(key, u64::from(MAX_CONCURRENCY))? {
            None | Some(0) => MAX_CONCURRENCY,
            Some(n) => n as u32,
        })
    }

    /// A whole number from 0 to `max`, if present.
    pub fn u64_opt(&self, key: &str, max: u64) -> Result<Option<u64>> {
        match self.map.get(key) {
            None => Ok(None),
            Some(v) => match v.as_u64() {
                Some(n) if n <= max => Ok(Some(n)),
                _ => Err(self.err(
                    key,
                    format!(
                        "must be a whole number from 0 to {max}, found {}",
                        describe(v)
                    ),
                )),
            },
        }
    }

    /// A number from `min` to `max`, if present.
    pub fn f64_opt(&self, key: &str, min: f64, max: f64) -> Result<Option<f64>> {
        match self.map.get(key) {
            None => Ok(None),
            Some(v) => match v.as_f64() {
                Some(n) if n >= min && n <= max => Ok(Some(n)),
                _ => Err(self.err(
                    key,
                    format!(
                        "must be a number from {min} to {max}, found {}",
                        describe(v)
                    ),
                )),
            },
        }
    }

    /// A required, non-empty list of non-empty strings.
    pub fn str_list(&self, key: &str) -> Result<Vec<String>> {
        let Some(list) = self.list_opt(key)? else {
            return Err(self.err(key, "required field is missing"));
        };
        if list.is_empty() {
            return Err(self.err(key, "must list at least one error name"));
        }
        list.iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) if !s.is_empty() => Ok(s.clone()),
                other => Err(DefinitionError::new(
                    format!("{}[{i}]", self.at(key)),
                    format!("expected an error name, found {}", describe(other)),
                )),
            })
            .collect()
    }

    /// A required field that must equal `expected` exactly (e.g. `SpecVersion: v1`).
    pub fn literal(&self, key: &str, expected: &str) -> Result<()> {
        let got = self.str_req(key)?;
        if got == expected {
            Ok(())
        } else {
            Err(self.err(key, format!("must be {expected:?}, found {got:?}")))
        }
    }
}

fn as_obj<'a>(v: &'a Value, at: String, what: &str) -> Result<Obj<'a>> {
    match v {
        Value::Object(m) => Ok(Obj::new(m, at)),
        other => Err(DefinitionError::new(
            at,
            format!("expected a mapping {what}, found {}", describe(other)),
        )),
    }
}

/// The states (CloudFlow) or steps (FDL) of one scope, listed at `at`: each a mapping with
/// a unique name under `name_key`, indexed by it. `noun` is "state" or "step"; `count`
/// totals the states of the whole definition (nested ones included) against `MAX_STATES`.
pub(crate) fn named_states<'a>(
    list: &'a [Value],
    at: &str,
    name_key: &str,
    noun: &str,
    count: &mut usize,
) -> Result<(Vec<Obj<'a>>, HashMap<&'a str, usize>)> {
    if list.is_empty() {
        return Err(DefinitionError::new(
            at,
            format!("must list at least one {noun}"),
        ));
    }
    *count += list.len();
    if *count > MAX_STATES {
        return Err(DefinitionError::new(
            at,
            format!(
                "has {} {noun}s (with nested ones); at most {MAX_STATES} are allowed",
                *count
            ),
        ));
    }
    let mut objs = Vec::with_capacity(list.len());
    let mut names: HashMap<&str, usize> = HashMap::new();
    for (i, v) in list.iter().enumerate() {
        let o = as_obj(v, format!("{at}[{i}]"), &format!("(one {noun})"))?;
        let name = o.str_req(name_key)?;
        check_name(name, &o.at(name_key))?;
        if let Some(prev) = names.insert(name, i) {
            return Err(o.err(
                name_key,
                format!("duplicate {noun} name {name:?} (also used by {at}[{prev}])"),
            ));
        }
        objs.push(o);
    }
    Ok((objs, names))
}

/// Check a state/step name: 1..=128 characters.
pub(crate) fn check_name(name: &str, path: &str) -> Result<()> {
    let n = name.chars().count();
    if n == 0 || n > MAX_STATE_NAME_CHARS {
        return Err(DefinitionError::new(
            path,
            format!("name must be 1 to {MAX_STATE_NAME_CHARS} characters long, found {n}"),
        ));
    }
    Ok(())
}

/// States a state may move to: its `next`, its choice targets and its catch targets.
fn successors(state: &State) -> impl Iterator<Item = usize> + '_ {
    let choice: Vec<usize> = match &state.kind {
        StateKind::Choice(c) => c
            .branches
            .iter()
            .chain(c.default.as_ref())
            .filter_map(|b| b.goto)
            .collect(),
        _ => Vec::new(),
    };
    state
        .next
        .into_iter()
        .chain(choice)
        .chain(state.catch.iter().map(|c| c.next))
}

/// Whether the scope can end right after `state` (no successor on some path).
fn ends_here(state: &State) -> bool {
    match &state.kind {
        StateKind::Choice(c) => state.next.is_none() && c.falls_through(),
        _ => state.next.is_none(),
    }
}

/// Every reachable state must be able to reach an end (otherwise the flow can never
/// finish); with `require_reachable` every state must also be reachable from the start.
/// `where_` names state `i`.
pub(crate) fn check_graph(
    scope: &Scope,
    where_: &dyn Fn(usize) -> String,
    require_reachable: bool,
) -> Result<()> {
    let n = scope.states.len();
    let mut reachable = vec![false; n];
    let mut stack = vec![scope.start];
    while let Some(i) = stack.pop() {
        if i >= n || reachable[i] {
            continue;
        }
        reachable[i] = true;
        stack.extend(successors(&scope.states[i]));
    }
    if require_reachable && let Some(i) = reachable.iter().position(|r| !r) {
        return Err(DefinitionError::new(
            where_(i),
            format!(
                "state {:?} is unreachable: no Next leads to it from the start state",
                scope.states[i].name
            ),
        ));
    }
    // Backwards from the states that can end the scope: who can reach an end.
    let mut preds: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, s) in scope.states.iter().enumerate() {
        for j in successors(s) {
            if j < n {
                preds[j].push(i);
            }
        }
    }
    let mut can_end = vec![false; n];
    let mut stack: Vec<usize> = (0..n).filter(|&i| ends_here(&scope.states[i])).collect();
    while let Some(i) = stack.pop() {
        if can_end[i] {
            continue;
        }
        can_end[i] = true;
        stack.extend(preds[i].iter().copied().filter(|&p| !can_end[p]));
    }
    if let Some(i) = (0..n).find(|&i| reachable[i] && !can_end[i]) {
        return Err(DefinitionError::new(
            where_(i),
            format!(
                "the flow has no end: from state {:?} every path loops forever without \
                 reaching a state with End: true, a Succeed or a Fail",
                scope.states[i].name
            ),
        ));
    }
    Ok(())
}

/// The allowed field closest to `key` (case-insensitive match or edit distance <= 2).
fn suggest<'s>(key: &str, allowed: &[&'s str]) -> Option<&'s str> {
    if key.len() > 64 {
        return None;
    }
    let lower = key.to_lowercase();
    if let Some(s) = allowed.iter().find(|a| a.to_lowercase() == lower) {
        return Some(s);
    }
    allowed
        .iter()
        .map(|a| (levenshtein(&lower, &a.to_lowercase()), *a))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, a)| a)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}
