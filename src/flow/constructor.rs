//! CloudFlow constructors (`InputConstructor`, `OutputConstructor`, `Parameters`,
//! `ItemConstructor`): keys ending in `.$` take an expression, others a constant
//! ("Inputs and outputs" page).

use serde_json::{Map, Value};

use super::computed::{self, Unavailable};
use super::path::Syntax;
use super::validate::{Obj, Result, join};
use super::{DefinitionError, MAX_CONSTRUCTOR_DEPTH, Mapping, Template};

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
            Some(base) => {
                let unavailable = Unavailable::output_unless(allow_output);
                let c = computed::parse_value(&here, v, Syntax::CloudFlow, unavailable)?;
                (base.to_string(), Template::Computed(c))
            }
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
