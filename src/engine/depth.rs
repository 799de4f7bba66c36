//! A bound on how deeply state data nests. Everything that walks a JSON value (serializing,
//! comparing, dropping, the parsers that read a checkpoint back) recurses once per level, so a
//! flow that wraps its data in arrays turn after turn would otherwise overflow the stack of
//! whichever walk came first, and take the process down with it. The check itself does not
//! recurse, and it runs before any other walk of newly built data (`mapping::check_size`).

use serde_json::Value;

/// Deepest nesting of arrays and objects in state data (inputs, outputs, task results, the
/// execution's input and output), counted in containers: `1` is 0 levels, `[]` one,
/// `{"a": [1]}` two. Well under `serde_json`'s own parsing limit of 128, so that the data still reads back
/// inside a checkpoint, where Parallel and Map branches nest it further.
pub const MAX_DATA_DEPTH: usize = 64;

/// Whether `value` nests deeper than `max` levels of arrays and objects, found without
/// recursion (and without looking further than `max + 1` levels down).
pub fn nests_deeper_than(value: &Value, max: usize) -> bool {
    let mut pending: Vec<(&Value, usize)> = Vec::new();
    if is_container(value) {
        pending.push((value, 1));
    }
    while let Some((v, depth)) = pending.pop() {
        if depth > max {
            return true;
        }
        let below = |c: &'_ &Value| is_container(c);
        match v {
            Value::Array(items) => {
                pending.extend(items.iter().filter(below).map(|c| (c, depth + 1)))
            }
            Value::Object(fields) => {
                pending.extend(fields.values().filter(below).map(|c| (c, depth + 1)))
            }
            _ => {}
        }
    }
    false
}

fn is_container(v: &Value) -> bool {
    matches!(v, Value::Array(_) | Value::Object(_))
}

/// The cause of a failure on data nested too deeply.
pub(super) fn too_deep(what: &str) -> String {
    format!("{what} nests arrays and objects more than {MAX_DATA_DEPTH} levels deep")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn nested(levels: usize) -> Value {
        let mut v = json!(1);
        for _ in 0..levels {
            v = Value::Array(vec![v]);
        }
        v
    }

    #[test]
    fn counts_levels_of_containers() {
        assert!(!nests_deeper_than(&json!(1), 0));
        assert!(nests_deeper_than(&json!([]), 0));
        assert!(!nests_deeper_than(&json!([]), 1));
        assert!(!nests_deeper_than(&json!({"a": [1], "b": 2}), 2));
        assert!(nests_deeper_than(&json!({"a": [1], "b": 2}), 1));
        assert!(nests_deeper_than(&json!({"a": 1, "b": {"c": {}}}), 1));
        assert!(!nests_deeper_than(&nested(MAX_DATA_DEPTH), MAX_DATA_DEPTH));
        assert!(nests_deeper_than(
            &nested(MAX_DATA_DEPTH + 1),
            MAX_DATA_DEPTH
        ));
    }

    #[test]
    fn a_very_deep_value_is_found_without_overflowing_the_stack() {
        // Built and dropped iteratively: serde_json's own drop would recurse.
        let mut v = json!(1);
        for _ in 0..200_000 {
            // Not `json!([v])`: that serializes `v` again, recursively.
            v = Value::Array(vec![v]);
        }
        assert!(nests_deeper_than(&v, MAX_DATA_DEPTH));
        let mut cur = v;
        while let Value::Array(mut items) = cur {
            cur = items.pop().unwrap_or(Value::Null);
        }
    }
}
