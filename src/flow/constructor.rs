//! CloudFlow constructors (`InputConstructor`, `OutputConstructor`, `Parameters`,
//! `ItemConstructor`): keys ending in `.$` take an expression, others a constant
//! ("Inputs and outputs" page).

use serde_json::{Map, Value};

use super::expr::{self, Dialect, RootName};
use super::path::{self, Root, Segment, Syntax};
use super::validate::{Obj, Result, describe, join};
use super::{DefinitionError, MAX_CONSTRUCTOR_DEPTH, Mapping, Template};

/// Parse a `.$` expression value at `so.key`.
pub(super) fn expr(so: &Obj, key: &str, v: &Value, allow_output: bool) -> Result<path::Path> {
    expression(&so.at(key), v, allow_output)
}

/// A `.$` value: a plain path, else an expression of the expression language.
fn template_expr(at: &str, v: &Value, allow_output: bool) -> Result<Template> {
    if let Value::String(s) = v
        && path::parse(s, Syntax::CloudFlow).is_err()
    {
        let e = expr::parse(s, Dialect::CloudFlow)
            .map_err(|e| DefinitionError::new(at, format!("invalid expression {s:?}: {e}")))?;
        if !allow_output && e.roots().contains(&RootName::Output) {
            return Err(DefinitionError::new(
                at,
                "$Output can only be used inside OutputConstructor (Inputs and outputs page)",
            ));
        }
        return Ok(Template::Expr(e));
    }
    expression(at, v, allow_output).map(Template::Path)
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

pub(super) fn constructor(so: &Obj, key: &str, allow_output: bool) -> Result<Option<Mapping>> {
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
            Some(base) => (base.to_string(), template_expr(&here, v, allow_output)?),
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
