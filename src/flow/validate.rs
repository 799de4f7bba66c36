//! Helpers shared by both language parsers: YAML loading, typed field access that
//! names the bad element, unknown-field detection, and graph checks.

use serde_json::{Map, Value};

use super::{DefinitionError, MAX_STATE_NAME_CHARS, Scope};

pub(crate) type Result<T> = std::result::Result<T, DefinitionError>;

/// Parse YAML (JSON is YAML too) into a JSON value; syntax errors carry line/column.
pub(crate) fn load_yaml(text: &str) -> Result<Value> {
    if text.trim().is_empty() {
        return Err(DefinitionError::new(
            "Definition",
            "the definition is empty",
        ));
    }
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

/// Every state must be reachable from the start, and every reachable state must be able
/// to reach an end (otherwise the flow can never finish). `where_` names state `i`.
pub(crate) fn check_graph(scope: &Scope, where_: &dyn Fn(usize) -> String) -> Result<()> {
    let n = scope.states.len();
    let mut reachable = vec![false; n];
    let mut stack = vec![scope.start];
    while let Some(i) = stack.pop() {
        if i >= n || reachable[i] {
            continue;
        }
        reachable[i] = true;
        if let Some(next) = scope.states[i].next {
            stack.push(next);
        }
    }
    if let Some(i) = reachable.iter().position(|r| !r) {
        return Err(DefinitionError::new(
            where_(i),
            format!(
                "state {:?} is unreachable: no Next leads to it from the start state",
                scope.states[i].name
            ),
        ));
    }
    // A state ends if it has no successor; walk each chain (at most n steps).
    let mut ends = vec![None::<bool>; n];
    for i in 0..n {
        let mut chain = Vec::new();
        let mut cur = i;
        let result = loop {
            if let Some(known) = ends[cur] {
                break known;
            }
            if chain.len() > n {
                break false;
            }
            chain.push(cur);
            match scope.states[cur].next {
                None => break true,
                Some(next) if next < n => cur = next,
                Some(_) => break true,
            }
        };
        for c in chain {
            ends[c] = Some(result);
        }
        if !result {
            return Err(DefinitionError::new(
                where_(i),
                format!(
                    "the flow has no end: from state {:?} the Next chain loops forever without \
                     reaching a state with End: true, a Succeed or a Fail",
                    scope.states[i].name
                ),
            ));
        }
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
